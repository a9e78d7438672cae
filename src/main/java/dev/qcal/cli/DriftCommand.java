package dev.qcal.cli;

import dev.qcal.calib.DriftFigures;
import dev.qcal.jobs.DriftJob;
import dev.qcal.jobs.SparkSessions;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qcal drift}: whether deployed quantization parameters still fit the data of a later run. */
@Command(
    name = "drift",
    mixinStandardHelpOptions = true,
    description = {
      "Says whether deployed quantization parameters still fit a run's data.",
      "Compares a run's statistics (--current) with the data the deployed parameters",
      "were chosen on (--baseline), per calibrated activation: the share of the",
      "current values the deployed range clips, the Jensen-Shannon divergence of the",
      "two histograms, and the SQNR the deployed parameters lose on the current data",
      "against those the same method would choose now. Writes into --out, atomically",
      "(_SUCCESS last): drift.json and report.html. No Spark job.",
      "Exit codes: 0 no tensor past a threshold; " + Main.THRESHOLD + " drift (drift.json written);",
      "2 bad input (nothing written); 3 failure while running."
    })
public final class DriftCommand extends OutputCommand implements Callable<Integer> {
  static final String COMMAND = "drift";

  @Option(names = "--baseline", required = true, paramLabel = "DIR",
      description = "The run the deployed parameters came from: a calibrate output directory or its stats/ (the"
          + " parameters of the qparams.json beside the statistics, else chosen from them), or a calibrate or quantize"
          + " output directory with the deployed qparams.json (then no divergence is computed). Local or hdfs://.")
  String baseline;

  @Option(names = "--current", required = true, paramLabel = "DIR",
      description = "The run to check: a calibrate output directory or its stats/ directory (local or hdfs://).")
  String current;

  @Option(names = "--max-clip", defaultValue = "0.01", paramLabel = "F",
      description = "Drift when the deployed range clips more than this share of a tensor's current values, in (0, 1]"
          + " (default: ${DEFAULT-VALUE}).")
  double maxClip;

  @Option(names = "--max-js", defaultValue = "0.05", paramLabel = "D",
      description = "Drift when the Jensen-Shannon divergence (bits) of a tensor's baseline and current histograms"
          + " exceeds this, in (0, 1] (default: ${DEFAULT-VALUE}).")
  double maxJs;

  @Option(names = "--max-sqnr-loss", defaultValue = "6.0", paramLabel = "DB",
      description = "Drift when the deployed parameters' estimated SQNR on the current data is more than this many dB"
          + " below that of the parameters chosen from it now, > 0 (default: ${DEFAULT-VALUE}, about one bit).")
  double maxSqnrLoss;

  @Mixin NoReportMixin report;

  @Override
  public Integer call() {
    DriftFigures.Thresholds th;
    try {
      th = new DriftFigures.Thresholds(maxClip, maxJs, maxSqnrLoss);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    DriftJob.Options o = new DriftJob.Options(baseline, current, out, overwrite, th, !report.noReport);
    Configuration conf = SparkSessions.hadoopConf();
    DriftJob.checkOutput(o, QcalDefaults.inputs(), conf);
    DriftJob.Result r = DriftJob.run(o, conf);
    if (!r.drift()) {
      spec.commandLine().getOut().println("qcal: no drift: none of " + r.tensors().size()
          + " tensors past a threshold; " + r.out() + "/" + DriftJob.NAME);
      return Main.OK;
    }
    DriftJob.Tensor top = r.drifted().get(0);
    spec.commandLine().getOut().println("qcal: drift: " + r.drifted().size() + " of " + r.tensors().size()
        + " tensors past a threshold, most severe '" + top.name() + "' (" + String.join(", ", top.past())
        + String.format(Locale.ROOT, ", clipped %.3f %%", 100 * top.figures().clipped().fraction()) + "); "
        + r.out() + "/" + DriftJob.NAME);
    return Main.THRESHOLD;
  }
}
