package dev.qcal.cli;

import dev.qcal.data.BadRecords;
import dev.qcal.jobs.CalibrateJob;
import dev.qcal.jobs.CalibrateOptions;
import dev.qcal.jobs.DataOptions;
import dev.qcal.jobs.Fp32Fallback;
import dev.qcal.jobs.RunRecord;
import dev.qcal.jobs.SparkSessions;
import dev.qcal.stats.StatsConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code qcal calibrate}: statistics over a data set, then qparams.json and a QDQ model. */
@Command(
    name = "calibrate",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the FP32 model over the calibration data on Spark, merges per-tensor statistics and writes",
      "qparams.json, quantized.onnx (QDQ) and run.json into --out, atomically (_SUCCESS last)."
    })
public final class CalibrateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "FP32 ONNX model.")
  Path model;

  @Option(names = "--data", paramLabel = "[NAME=]PATH",
      description = {"A .npy file, a directory of .npy files, or a Parquet path (column named like the input:",
          "a numeric, boolean or nested array, or binary little-endian values of the input's type, per row). Data",
          "is fed in each input's type (int64 ids stay int64). Repeat as NAME=PATH to bind inputs of a",
          "multi-input model."})
  List<String> data;

  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "Output directory: a local path or a Hadoop URI (hdfs://...).")
  String out;

  @picocli.CommandLine.Mixin RangeOptionsMixin ranges;

  @picocli.CommandLine.Mixin FallbackOptionsMixin fallback;

  @picocli.CommandLine.Mixin DataFormatMixin dataFormat;

  @picocli.CommandLine.Mixin DataSelectionMixin dataSelection;

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master (default: spark-submit's, else local[*]).")
  String master;

  @Option(names = "--no-report", description = "Do not write report.html (its charts cost time on runs nobody reads).")
  boolean noReport;

  @Option(names = "--overwrite", description = "Replace an existing output directory.")
  boolean overwrite;

  @Option(names = "--batch-size", defaultValue = "16", paramLabel = "N",
      description = "Samples per inference call (default: ${DEFAULT-VALUE}).")
  int batchSize;

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

  @Option(names = "--pad", paramLabel = "NAME=VALUE", split = ",",
      description = {"Pad input NAME with VALUE (repeat per padded input): samples of different lengths share a",
          "batch, padded at the end to the longest in it (to the model's size where it fixes the dimension)."})
  List<String> pads;

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
    MasterUrl.check(master);
    try (SparkSessions.Handle session = SparkSessions.open("qcal calibrate " + model.getFileName(), master)) {
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
    UsageException.requireModel("--model", model);
    UsageException.requireBatchSize(batchSize);
    if (partitions != null && partitions < 1) {
      throw new UsageException("--partitions must be >= 1, got " + partitions);
    }
    DataOptions d = dataOptions();
    return new CalibrateOptions(model, data == null ? List.of() : data, out, overwrite, batchSize, partitions,
        dataFormat.sampleShapes(), statsConfig(), ranges.toOptions(spec.commandLine().getErr()).withReport(!noReport), d);
  }

  DataOptions dataOptions() {
    return dataSelection.toOptions(data, dataFormat, pads(pads), padStatsInclude(padStats), mask);
  }

  /** {@code --pad NAME=VALUE} options by input name; a name given twice is refused. */
  static Map<String, String> pads(List<String> pads) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String p : pads == null ? List.<String>of() : pads) {
      int eq = p.indexOf('=');
      if (eq <= 0 || eq == p.length() - 1) {
        throw new UsageException("--pad '" + p + "': expected NAME=VALUE");
      }
      if (m.put(p.substring(0, eq), p.substring(eq + 1)) != null) {
        throw new UsageException("--pad: input '" + p.substring(0, eq) + "' is given twice");
      }
    }
    return m;
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
