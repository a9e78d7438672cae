package dev.qcal.cli;

import dev.qcal.jobs.Fp32Fallback;
import dev.qcal.jobs.QuantizeJob;
import dev.qcal.jobs.RunRecord;
import dev.qcal.jobs.SparkSessions;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code qcal quantize}: ranges and a QDQ model from saved statistics, without running the model. */
@Command(
    name = "quantize",
    mixinStandardHelpOptions = true,
    description = {
      "Chooses ranges again from the statistics an earlier calibrate saved (--stats), and writes",
      "qparams.json, quantized.onnx, calibration.cache, calibration_table.json and run.json into --out.",
      "No Spark job and no inference: seconds, whatever the size of the calibration data."
    })
public final class QuantizeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "M.onnx",
      description = "The FP32 ONNX model the statistics were collected for.")
  Path model;

  @Option(names = "--stats", required = true, paramLabel = "DIR",
      description = "A calibrate output directory, or its stats/ directory (local or hdfs://).")
  String stats;

  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "Output directory: a local path or a Hadoop URI (hdfs://...).")
  String out;

  @Option(names = "--no-report", description = "Do not write report.html (its charts cost time on runs nobody reads).")
  boolean noReport;

  @Option(names = "--overwrite", description = "Replace an existing output directory.")
  boolean overwrite;

  @Mixin RangeOptionsMixin ranges;

  @Mixin FallbackOptionsMixin fallback;

  /** How --eval-data is read. */
  @Mixin DataFormatMixin dataFormat;

  /** Batch size of the fallback's evaluation passes. */
  static final int EVAL_BATCH_SIZE = 16;

  @Override
  public Integer call() {
    UsageException.requireModel("--model", model);
    QuantizeJob.Options o = new QuantizeJob.Options(model, stats, out, overwrite, ranges.toOptions(spec.commandLine().getErr()).withReport(!noReport));
    Fp32Fallback.Request fb = fallback.toRequest(true, EVAL_BATCH_SIZE, dataFormat);
    QuantizeJob.checkOutput(o, fb, QcalDefaults.inputs(), SparkSessions.hadoopConf());
    RunRecord report;
    if (fb == null) {
      report = QuantizeJob.run(o, new Configuration());
    } else {
      // Spark only to evaluate the candidates of the fallback
      try (SparkSessions.Handle session = SparkSessions.open("qcal quantize " + model.getFileName(), null)) {
        report = QuantizeJob.run(o, session.spark().sparkContext().hadoopConfiguration(), session.spark(), fb);
      }
      FallbackReport.print(spec.commandLine().getErr(), report);
    }
    spec.commandLine().getOut().println("qcal: quantized with " + report.subject().method() + " from "
        + report.subject().samples() + " samples' statistics; outputs in " + report.subject().out());
    return Main.OK;
  }
}
