package dev.qcal.cli;

import dev.qcal.io.RunReport;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/** The stderr lines of an FP32 fallback: each step's excluded nodes and figures, and the outcome. */
final class FallbackReport {
  private FallbackReport() {}

  static void print(PrintWriter err, RunReport report) {
    if (!(report.get("fallback") instanceof Map<?, ?> fb)) {
      return;
    }
    for (Object o : (List<?>) fb.get("steps")) {
      Map<?, ?> s = (Map<?, ?>) o;
      List<String> figures = new java.util.ArrayList<>();
      if (s.get("top1_agreement") != null) {
        figures.add("top-1 agreement " + s.get("top1_agreement"));
      }
      if (s.get("accuracy_drop_points") != null) {
        figures.add("accuracy drop " + s.get("accuracy_drop_points") + " points");
      }
      figures.add("output SQNR " + (s.get("output_sqnr_db") == null ? "infinite" : s.get("output_sqnr_db") + " dB"));
      err.println("qcal: fallback step " + s.get("step") + ": FP32 " + s.get("excluded_nodes")
          + (s.get("tensor") == null ? "" : " (tensor " + s.get("tensor") + ")") + ": " + String.join(", ", figures)
          + (Boolean.TRUE.equals(s.get("met")) ? ": met" : ""));
    }
    List<?> excluded = (List<?>) fb.get("excluded_nodes");
    if ("met".equals(fb.get("status"))) {
      err.println("qcal: fallback target met with " + excluded.size() + " nodes in FP32" + (excluded.isEmpty() ? "" : ": "
          + String.join(", ", excluded.stream().map(String::valueOf).toList())));
    } else {
      err.println("qcal: warning: fallback target not met: " + fb.get("reason") + "; quantized.onnx is the last"
          + " candidate, with " + excluded.size() + " nodes in FP32 (status not_met in run.json)");
    }
    err.flush();
  }
}
