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
import picocli.CommandLine.Option;

/** {@code qcal quantize}: ranges and a QDQ model from saved statistics, without running the model. */
@Command(
    name = "quantize",
    mixinStandardHelpOptions = true,
    description = {
      "Chooses ranges again from the statistics an earlier calibrate saved (--stats), and writes the"
          + " quantization parameters and the quantized (QDQ) model into --out.",
      "Writes into --out, atomically (_SUCCESS last): qparams.json (scales and zero points),"
          + " quantized.onnx (the QDQ model; its weights in quantized.onnx.data when the model keeps them in"
          + " external data or passes 2 GB), calibration.cache (TensorRT), calibration_table.json (ONNX Runtime),"
          + " run.json (what ran, with timings) and report.html (not with --no-report).",
      "No Spark job and no inference: seconds, whatever the size of the calibration data."
    })
public final class QuantizeCommand extends OutputCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "M.onnx", converter = ModelFile.class,
      description = "The FP32 ONNX model the statistics were collected for.")
  Path model;

  @Option(names = "--stats", required = true, paramLabel = "DIR",
      description = "A calibrate output directory, or its stats/ directory (local or hdfs://).")
  String stats;

  @Mixin RangeOptionsMixin ranges;

  @Mixin NoReportMixin report;

  @Mixin FallbackOptionsMixin fallback;

  /** How --eval-data is read. */
  @Mixin DataFormatMixin dataFormat;

  /** Batch size of the fallback's evaluation passes. */
  static final int EVAL_BATCH_SIZE = 16;

  @Override
  public Integer call() {
    QuantizeJob.Options o = new QuantizeJob.Options(model, stats, out, overwrite,
        report.apply(ranges.toOptions(spec.commandLine().getErr())));
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
