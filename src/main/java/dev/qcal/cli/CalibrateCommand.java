package dev.qcal.cli;

import dev.qcal.jobs.CalibrateJob;
import dev.qcal.jobs.CalibrateOptions;
import dev.qcal.jobs.DataOptions;
import dev.qcal.jobs.Fp32Fallback;
import dev.qcal.jobs.RunRecord;
import dev.qcal.jobs.SparkSessions;
import dev.qcal.stats.StatsConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qcal calibrate}: statistics over a data set, then qparams.json and a QDQ model. */
@Command(
    name = "calibrate",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the FP32 model over the calibration data on Spark, merges per-tensor statistics, and writes the"
          + " quantization parameters and the quantized (QDQ) model into --out.",
      "Writes into --out, atomically (_SUCCESS last): qparams.json (scales and zero points),"
          + " quantized.onnx (the QDQ model; its weights in quantized.onnx.data when the model keeps them in"
          + " external data or passes 2 GB), calibration.cache (TensorRT), calibration_table.json (ONNX Runtime),"
          + " stats/ (the merged statistics, for quantize and report), run.json (what ran, with timings) and"
          + " report.html (not with --no-report)."
    })
public final class CalibrateCommand extends SparkCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "M.onnx", converter = ModelFile.class,
      description = "FP32 ONNX model.")
  Path model;

  @Option(names = "--data", paramLabel = "[NAME=]PATH",
      description = {"Calibration data: .npy files (or .npz archives) or directories of them; Parquet, ORC, JSON"
          + " (.json, .jsonl) or CSV files or directories (a column named like each input: a numeric, boolean or"
          + " nested array, or binary little-endian values of the input's type, per row); a Delta Lake table"
          + " directory; or a folder of images (.png, .jpg, .jpeg, .bmp; see --preprocess). The format comes"
          + " from the file names or --format. Data is fed in each input's type (int64 ids stay int64). Repeat"
          + " as NAME=PATH to bind inputs of a multi-input model."})
  List<String> data;

  @Mixin RangeOptionsMixin ranges;

  @Mixin NoReportMixin report;

  @Mixin FallbackOptionsMixin fallback;

  @Mixin AlgorithmOptionsMixin algorithms;

  @Mixin DataFormatMixin dataFormat;

  @Mixin DataSelectionMixin dataSelection;

  @Option(names = "--partitions", paramLabel = "N", description = "Repartition the samples into N partitions.")
  Integer partitions;

  @Option(names = "--histogram-bins", defaultValue = "4096", paramLabel = "B",
      description = {"Most bins of each tensor's histogram; at least B/2+1 span the final range (default: ${DEFAULT-VALUE};",
          "0 = no histograms)."})
  int histogramBins;

  @Option(names = "--channel-histogram-bins", defaultValue = "0", paramLabel = "B",
      description = "Most bins of per-channel histograms (default: ${DEFAULT-VALUE} = off; 256 is a good size).")
  int channelHistogramBins;

  @Option(names = "--reduce-in-ort", defaultValue = "true", arity = "0..1", paramLabel = "BOOL",
      description = {"Without histograms, reduce the activations to min/max inside ONNX Runtime instead of reading",
          "every value in Java; the statistics are the same bytes (default: ${DEFAULT-VALUE})."})
  boolean reduceInOrt;

  @Option(names = "--channel-axis", paramLabel = "TENSOR=AXIS",
      description = "Channel axis of a tensor's per-channel statistics (-1: per tensor only). Default: 1 for 4-D tensors.")
  List<String> channelAxes;

  @Option(names = "--mask", paramLabel = "NAME",
      description = {"Rows already padded: input NAME (integer or bool, [N,L]) is 1 on valid positions, 0 on padding;",
          "the inputs of its shape are fed unchanged and statistics leave out positions past each row's leading ones",
          "(as --pad-stats exclude). Not with --pad."})
  String mask;

  @Option(names = "--pad-stats", defaultValue = "exclude", paramLabel = "exclude|include",
      description = {"Whether statistics count padded positions (default: ${DEFAULT-VALUE}: the positions beyond",
          "each sample's true length are left out, traced by shape inference; see README)."})
  String padStats;

  @Override
  public Integer call() {
    CalibrateOptions o = options();
    Fp32Fallback.Request fb = fallback.toRequest(false, batchSize, dataFormat);
    CalibrateJob.checkOutput(o, fb, QcalDefaults.inputs(), SparkSessions.hadoopConf());
    if (fb != null && fb.evalData() == null) {
      spec.commandLine().getErr().println("qcal: warning: the fallback target is evaluated on the calibration data;"
          + " held-out data (--eval-data) gives an honest figure");
    }
    try (SparkSessions.Handle session = openSession("qcal calibrate " + model.getFileName())) {
      if (o.dataOptions().table() != null) {
        SparkSessions.requireTable(session.spark(), o.dataOptions().table());
      }
      RunRecord report;
      try (ProgressLine progress = ProgressLine.start(spec.commandLine().getErr(), session.spark())) {
        // a session setting, not a SparkConf one: spark.qcal.calibrate.reduce-in-ort is the user's key
        session.spark().conf().set(CalibrateJob.REDUCE_IN_ORT, Boolean.toString(reduceInOrt));
        report = CalibrateJob.run(o, session.spark(), progress.job(), fb);
      }
      FallbackReport.print(spec.commandLine().getErr(), report);
      spec.commandLine().getOut().println("qcal: calibrated " + report.subject().samples() + " samples; outputs in "
          + report.subject().out() + " (qparams.json, quantized.onnx, " + (o.ranges().report() ? "report.html, " : "")
          + "run.json)");
    }
    return Main.OK;
  }

  CalibrateOptions options() {
    int batch = batchSize();
    if (partitions != null && partitions < 1) {
      throw new UsageException("--partitions must be >= 1, got " + partitions);
    }
    DataOptions d = dataOptions();
    if (algorithms.toAlgorithms().biasCorrection() && (!d.pads().isEmpty() || d.mask() != null)) {
      throw new UsageException("--bias-correction does not take --pad or --mask: its per-channel means would count"
          + " padded positions; calibrate without one of them");
    }
    return new CalibrateOptions(model, data == null ? List.of() : data, out, overwrite, batch, partitions,
        dataFormat.sampleShapes(), statsConfig(), report.apply(ranges.toOptions(spec.commandLine().getErr())), d,
        algorithms.toAlgorithms());
  }

  DataOptions dataOptions() {
    return dataSelection.toOptions(data, dataFormat, dataSelection.pads(), padStatsInclude(padStats), mask);
  }

  /** {@code --pad-stats}: exclude (false) or include (true). */
  static boolean padStatsInclude(String padStats) {
    if (!"exclude".equals(padStats) && !"include".equals(padStats)) {
      throw new UsageException("--pad-stats must be exclude or include, got '" + padStats + "'");
    }
    return "include".equals(padStats);
  }

  StatsConfig statsConfig() {
    StatsConfig config;
    try {
      config = new StatsConfig(histogramBins, channelHistogramBins, Map.of());
    } catch (IllegalArgumentException e) {
      throw new UsageException("--histogram-bins/--channel-histogram-bins: " + e.getMessage());
    }
    for (String a : channelAxes == null ? List.<String>of() : channelAxes) {
      int eq = a.lastIndexOf('=');
      try {
        config = config.withAxis(a.substring(0, eq), Integer.parseInt(a.substring(eq + 1).trim()));
      } catch (RuntimeException e) {
        throw new UsageException("--channel-axis '" + a + "': expected TENSOR=AXIS with AXIS >= -1");
      }
    }
    return config;
  }
}
