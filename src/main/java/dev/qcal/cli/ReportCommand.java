package dev.qcal.cli;

import dev.qcal.io.AtomicOutput;
import dev.qcal.io.OutputGuard;
import dev.qcal.report.ReportData;
import dev.qcal.report.ReportWriter;
import dev.qcal.report.RunDirectory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qcal report}: report.html of a finished run, with an evaluation and its sensitivity ranking. */
@Command(
    name = "report",
    mixinStandardHelpOptions = true,
    description = {
      "Writes report.html for a calibrate or quantize output directory into --out.",
      "The report shows histograms with every method's range, chosen parameters and error estimates,"
          + " weights, the run summary and, with --eval, the evaluation figures and the sensitivity ranking.",
      "Writes into --out, atomically (_SUCCESS last): report.html.",
      "No Spark job: seconds."
    })
public final class ReportCommand extends OutputCommand implements Callable<Integer> {
  static final String COMMAND = "report";

  @Option(names = "--run", required = true, paramLabel = "DIR",
      description = "A calibrate or quantize output directory (qparams.json, run.json), local or hdfs://.")
  String run;

  @Option(names = "--eval", paramLabel = "DIR",
      description = "An evaluate output directory (or its eval.json) of the run's quantized model; an evaluation of"
          + " other models (another SHA-256) is refused.")
  String eval;

  @Option(names = "--stats", paramLabel = "DIR",
      description = {"Statistics to draw the histograms from (default: the run's stats/, else the --stats",
          "its run.json names, for quantize runs)."})
  String stats;

  @Override
  public Integer call() {
    Configuration conf = new Configuration();
    List<OutputGuard.Input> inputs = new ArrayList<>(OutputGuard.Input.hadoop("--run", run));
    inputs.addAll(OutputGuard.Input.hadoop("--eval", eval));
    inputs.addAll(OutputGuard.Input.hadoop("--stats", stats));
    inputs.addAll(QcalDefaults.inputs());
    OutputGuard.check(COMMAND, out, overwrite, inputs, conf);
    String from = stats;
    if (from == null) {
      // the statistics a quantize output's run.json names are an input too (read only once --out is known safe)
      from = RunDirectory.statsOf(run, conf);
      inputs.addAll(OutputGuard.Input.hadoop("--stats (from --run's run.json)", from));
      OutputGuard.check(COMMAND, out, overwrite, inputs, conf);
    }
    ReportData d = RunDirectory.read(run, from, eval, conf);
    try (AtomicOutput o = AtomicOutput.begin(out, COMMAND, overwrite, conf)) {
      ReportWriter.write(o.dir().resolve(ReportWriter.NAME), d);
      o.commit();
    }
    spec.commandLine().getOut().println("qcal: report of " + d.activations().size() + " activations and "
        + d.weights().size() + " weights" + (eval == null ? "" : " with the evaluation") + ": "
        + AtomicOutput.qualified(out, conf) + "/" + ReportWriter.NAME);
    return Main.OK;
  }
}
