package dev.qcal.cli;

import dev.qcal.jobs.RunRecord;
import java.io.PrintWriter;
import java.util.List;

/** The stderr lines of an FP32 fallback: each step's excluded nodes and figures, and the outcome. */
final class FallbackReport {
  private FallbackReport() {}

  static void print(PrintWriter err, RunRecord run) {
    RunRecord.Fallback fb = run.fallback();
    if (fb == null) {
      return;
    }
    for (RunRecord.Step s : fb.steps()) {
      List<String> figures = new java.util.ArrayList<>();
      if (s.top1Agreement() != null) {
        figures.add("top-1 agreement " + s.top1Agreement());
      }
      if (s.accuracyDropPoints() != null) {
        figures.add("accuracy drop " + s.accuracyDropPoints() + " points");
      }
      figures.add("output SQNR " + (s.outputSqnrDb() == null ? "infinite" : s.outputSqnrDb() + " dB"));
      err.println("qcal: fallback step " + s.step() + ": FP32 " + s.excludedNodes()
          + (s.tensor() == null ? "" : " (tensor " + s.tensor() + ")") + ": " + String.join(", ", figures)
          + (s.met() ? ": met" : ""));
    }
    List<String> excluded = fb.excludedNodes();
    if (fb.met()) {
      err.println("qcal: fallback target met with " + excluded.size() + " nodes in FP32" + (excluded.isEmpty() ? "" : ": "
          + String.join(", ", excluded)));
    } else {
      err.println("qcal: warning: fallback target not met: " + fb.reason() + "; quantized.onnx is the last"
          + " candidate, with " + excluded.size() + " nodes in FP32 (status not_met in run.json)");
    }
    err.flush();
  }
}
