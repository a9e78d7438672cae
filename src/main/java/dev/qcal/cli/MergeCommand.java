package dev.qcal.cli;

import dev.qcal.jobs.QuantizeJob;
import dev.qcal.jobs.RunRecord;
import dev.qcal.jobs.SparkSessions;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qcal merge}: the saved statistics of several runs merged, then ranges and a QDQ model as quantize. */
@Command(
    name = "merge",
    mixinStandardHelpOptions = true,
    description = {
      "Merges the statistics of earlier calibrate (or merge) runs of one model.",
      "The runs (--stats, once per run) must share the statistics settings; ranges",
      "are chosen from the merged statistics as quantize does, and merge writes into",
      "--out, atomically (_SUCCESS last): qparams.json, quantized.onnx,",
      "calibration.cache, calibration_table.json, stats/ (the merged statistics:",
      "stats.bin, stats.json), run.json and report.html (unless --no-report): the",
      "outputs of one calibrate over the union of the runs' data. No Spark job, no",
      "inference.",
      "Exit 2, writing nothing, when a --stats is missing, has no _SUCCESS, is given",
      "twice, holds --smooth-quant statistics, or differs from the first in model,",
      "prepared opset, format version, histogram bins, channel axes or tensors."
    })
public final class MergeCommand extends OutputCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "M.onnx", converter = ModelFile.class,
      description = "The FP32 ONNX model the statistics were collected for.")
  Path model;

  @Option(names = "--stats", required = true, paramLabel = "DIR",
      description = {"A finished calibrate or merge output directory, or its stats/ directory (local or hdfs://);",
          "repeat once per run to merge (one is allowed: a window of one run)."})
  List<String> stats;

  @Mixin RangeOptionsMixin ranges;

  @Mixin NoReportMixin report;

  @Override
  public Integer call() {
    QuantizeJob.Options o = QuantizeJob.Options.merge(model, stats, out, overwrite,
        report.apply(ranges.toOptions(spec.commandLine().getErr())));
    QuantizeJob.checkOutput(o, null, QcalDefaults.inputs(), SparkSessions.hadoopConf());
    RunRecord run = QuantizeJob.run(o, new Configuration());
    spec.commandLine().getOut().println("qcal: merged the statistics of " + stats.size() + (stats.size() == 1 ? " run ("
        : " runs (") + run.subject().samples() + " samples) and quantized with " + run.subject().method()
        + "; outputs in " + run.subject().out());
    return Main.OK;
  }
}
