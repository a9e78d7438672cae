package dev.qcal.cli;

import dev.qcal.data.BadRecords;
import dev.qcal.io.RunReport;
import dev.qcal.jobs.CalibrateJob;
import dev.qcal.jobs.CalibrateOptions;
import dev.qcal.jobs.DataOptions;
import dev.qcal.jobs.Fp32Fallback;
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

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master (default: spark-submit's, else local[*]).")
  String master;

  @Option(names = "--overwrite", description = "Replace an existing output directory.")
  boolean overwrite;

  @Option(names = "--batch-size", defaultValue = "16", paramLabel = "N",
      description = "Samples per inference call (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--partitions", paramLabel = "N", description = "Repartition the samples into N partitions.")
  Integer partitions;

  @Option(names = "--sample-shape", paramLabel = "[NAME=]D1,D2,...",
      description = "Shape of one sample of flat (Parquet) data, without the batch dimension.")
  List<String> sampleShapes;

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

  @Option(names = "--format", paramLabel = "npy|parquet|orc|json|csv|delta|images",
      description = "Format of --data (default: inferred from the file names).")
  String format;

  @Option(names = "--preprocess", paramLabel = "FILE",
      description = {"Image preprocessing for an image folder (PNG, JPEG, BMP), a JSON file: color, resize,",
          "center_crop, divide, mean, std, pad, layout (see README; jobs/ppocr-cls-preprocess.json)."})
  String preprocess;

  @Option(names = "--table", paramLabel = "[CATALOG.]DB.TABLE",
      description = "Read a catalog table (spark.table) instead of --data; columns named like the inputs.")
  String table;

  @Option(names = "--query", paramLabel = "SQL",
      description = "Read the result of a Spark SQL query instead of --data; columns named like the inputs.")
  String query;

  @Option(names = "--input", paramLabel = "NAME=COLUMN",
      description = "Bind a model input to a table column (default: the column named like the input).")
  List<String> inputColumns;

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

  @Option(names = "--max-samples", paramLabel = "N",
      description = {"Use at most N samples: those with the smallest hash of (seed, file and row; for a",
          "table's or query's row, its values); the same whatever the partitioning. Reads the data twice."})
  Long maxSamples;

  @Option(names = "--sample-fraction", defaultValue = "1.0", paramLabel = "F",
      description = {"Use the samples whose hash of (seed, file and row, or row values) falls in fraction F of (0, 1]",
          "(default: ${DEFAULT-VALUE})."})
  double sampleFraction;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
      description = "Seed of the sample hash for --max-samples and --sample-fraction (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--on-bad-record", defaultValue = "fail", paramLabel = "fail|skip",
      description = {"A record that cannot be a sample (wrong element count or shape, null or non-numeric value,",
          "undecodable or truncated .npy): fail naming it (exit 2), or skip it and count it per reason in",
          "run.json (skipped_records; reads the data twice). Default: ${DEFAULT-VALUE}."})
  String onBadRecord;

  @Override
  public Integer call() {
    CalibrateOptions o = options();
    Fp32Fallback.Request fb = fallback.toRequest(false, batchSize);
    CalibrateJob.checkOutput(o, fb, QcalDefaults.inputs(), SparkSessions.hadoopConf());
    if (fb != null && fb.evalData() == null) {
      spec.commandLine().getErr().println("qcal: warning: the fallback target is evaluated on the calibration data;"
          + " held-out data (--eval-data) gives an honest figure");
    }
    MasterUrl.check(master);
    try (SparkSessions.Handle session = SparkSessions.open("qcal calibrate " + model.getFileName(), master)) {
      if (table != null) {
        SparkSessions.requireTable(session.spark(), table);
      }
      RunReport report;
      try (ProgressLine progress = ProgressLine.start(spec.commandLine().getErr(), session.spark())) {
        // a session setting, not a SparkConf one: spark.qcal.calibrate.reduce-in-ort is the user's key
        session.spark().conf().set(CalibrateJob.REDUCE_IN_ORT, Boolean.toString(reduceInOrt));
        report = CalibrateJob.run(o, session.spark(), progress.job(), fb);
      }
      FallbackReport.print(spec.commandLine().getErr(), report);
      spec.commandLine().getOut().println("qcal: calibrated " + report.get("samples") + " samples; outputs in "
          + report.get("out") + " (qparams.json, quantized.onnx, " + (o.ranges().report() ? "report.html, " : "")
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
        parseShapes(sampleShapes), statsConfig(), ranges.toOptions(spec.commandLine().getErr()), d);
  }

  DataOptions dataOptions() {
    if (maxSamples != null && (maxSamples < 1 || maxSamples > Integer.MAX_VALUE - 8)) {
      throw new UsageException("--max-samples must be in [1, " + (Integer.MAX_VALUE - 8) + "], got " + maxSamples);
    }
    if (!(sampleFraction > 0 && sampleFraction <= 1)) {
      throw new UsageException("--sample-fraction must be in (0, 1], got " + sampleFraction);
    }
    BadRecords.Policy policy;
    try {
      policy = BadRecords.Policy.parse(onBadRecord);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--on-bad-record: " + e.getMessage());
    }
    int sources = (data == null || data.isEmpty() ? 0 : 1) + (table == null ? 0 : 1) + (query == null ? 0 : 1);
    if (sources != 1) {
      throw new UsageException("give exactly one of --data, --table and --query");
    }
    if (format != null && !List.of("npy", "parquet", "orc", "json", "csv", "delta", "images").contains(format)) {
      throw new UsageException("--format must be npy, parquet, orc, json, csv, delta or images, got '" + format + "'");
    }
    if (format != null && data == null) {
      throw new UsageException("--format applies to --data only");
    }
    Map<String, String> columns = new LinkedHashMap<>();
    for (String b : inputColumns == null ? List.<String>of() : inputColumns) {
      int eq = b.indexOf('=');
      if (eq <= 0 || eq == b.length() - 1) {
        throw new UsageException("--input '" + b + "': expected NAME=COLUMN");
      }
      columns.put(b.substring(0, eq), b.substring(eq + 1));
    }
    return new DataOptions(maxSamples, sampleFraction, seed, policy, format, table, query, preprocess, columns,
        pads(pads), padStatsInclude(padStats), mask);
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

  static Map<String, long[]> parseShapes(List<String> specs) {
    Map<String, long[]> m = new LinkedHashMap<>();
    if (specs == null) {
      return m;
    }
    for (String s : specs) {
      int eq = s.indexOf('=');
      String name = eq > 0 ? s.substring(0, eq) : "";
      String dims = eq > 0 ? s.substring(eq + 1) : s;
      if (name.isEmpty()) {
        throw new UsageException("--sample-shape '" + s + "': expected NAME=D1,D2,... (e.g. x=3,48,192)");
      }
      try {
        String[] parts = dims.split(",");
        long[] shape = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
          shape[i] = Long.parseLong(parts[i].trim());
          if (shape[i] < 1) {
            throw new NumberFormatException();
          }
        }
        m.put(name, shape);
      } catch (NumberFormatException e) {
        throw new UsageException("--sample-shape '" + s + "': dimensions must be positive integers");
      }
    }
    return m;
  }
}
