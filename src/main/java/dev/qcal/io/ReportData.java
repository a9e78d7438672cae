package dev.qcal.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.calib.Calibrators;
import dev.qcal.calib.ErrorEstimate;
import dev.qcal.calib.Range;
import dev.qcal.data.DataException;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * What {@code report.html} shows, gathered from a run's {@code qparams.json} and {@code run.json},
 * its merged statistics and, optionally, an {@code eval.json}: per activation the downsampled
 * histogram, the range every method would choose (computed again with the {@code calib}
 * calibrators from the statistics, under the run's {@code range_options}), the chosen parameters
 * and error estimate; per weight its per-channel ranges.
 */
public record ReportData(
    Summary summary,
    Settings settings,
    List<Activation> activations,
    List<Weight> weights,
    JsonNode run,
    JsonNode eval,
    List<String> notes) {

  /** Most bars of a histogram plot; the exact histogram's bins are summed in groups to fit. */
  public static final int MAX_BARS = 256;

  /** The model and how it was quantized, from qparams.json. */
  public record Summary(String modelPath, String modelSha256, String method, long samples, int sourceOpset,
      int preparedOpset) {}

  /**
   * The range options the markers are computed with, from run.json's {@code range_options}
   * ({@code recorded} false when the run did not record them: the built-in defaults are used).
   */
  public record Settings(double percentile, boolean symmetric, boolean reduceRange, boolean powerOfTwoScales,
      boolean recorded) {
    static Settings of(JsonNode run) {
      JsonNode r = run == null ? null : run.get("range_options");
      if (r == null || !r.isObject()) {
        return new Settings(99.999, false, false, false, false);
      }
      return new Settings(r.path("percentile").asDouble(99.999), r.path("symmetric_activations").asBoolean(false),
          r.path("reduce_range").asBoolean(false), r.path("power_of_two_scales").asBoolean(false), true);
    }
  }

  /**
   * A histogram summed into at most {@link #MAX_BARS} bars: bar {@code i} covers
   * {@code [edges[i], edges[i + 1])} and holds {@code counts[i]} values. {@code sourceBins} is the
   * number of bins of the exact histogram, {@code binsPerBar} how many of them a bar sums.
   */
  public record Bars(double[] edges, long[] counts, int sourceBins, int binsPerBar) {
    public long total() {
      long t = 0;
      for (long c : counts) {
        t += c;
      }
      return t;
    }

    public long maxCount() {
      long m = 0;
      for (long c : counts) {
        m = Math.max(m, c);
      }
      return m;
    }

    /** Groups adjacent bins of {@code h} (exact: the edges are bin edges, the counts sums). */
    public static Bars of(Histogram h, int maxBars) {
      int n = h.bins();
      int per = Math.max(1, (n + maxBars - 1) / maxBars);
      int bars = (n + per - 1) / per;
      double[] edges = new double[bars + 1];
      long[] counts = new long[bars];
      for (int i = 0; i < bars; i++) {
        edges[i] = h.lowerEdge(i * per);
        for (int j = i * per; j < Math.min(n, (i + 1) * per); j++) {
          counts[i] += h.count(j);
        }
      }
      edges[bars] = h.lowerEdge(n);
      return new Bars(edges, counts, n, per);
    }
  }

  /**
   * The range one method would choose for a tensor, with the SQNR estimated for it from the
   * histogram (null without a histogram, +Infinity when exact), or the reason it cannot choose one.
   */
  public record MethodRange(String method, Range range, Double sqnrDb, String error) {}

  /**
   * One Q/DQ'd activation: its qparams.json entry (a derived one, {@code shared} with
   * {@code paramsFrom} or {@code op_defined}, has no statistics, min or max) ({@code sqnrDb} +Infinity when the estimate is
   * exact, null when there is none), the grid {@code [gridMin, gridMax]} its parameters represent,
   * the histogram (null when none was collected) and every method's range.
   */
  public record Activation(
      String name,
      String dtype,
      float[] scale,
      long[] zeroPoint,
      float min,
      float max,
      String method,
      Range chosen,
      Double expectedMse,
      Double sqnrDb,
      long count,
      long nonFinite,
      double gridMin,
      double gridMax,
      Bars histogram,
      List<MethodRange> methods,
      String paramsFrom,
      String note) {}

  /** One quantized weight or bias: its parameters and per-channel observed ranges. */
  public record Weight(String name, String role, String dtype, Integer axis, float[] scale, long[] zeroPoint,
      float[] min, float[] max, long count) {}

  /**
   * Gathers the report of a run.
   *
   * @param qparams the run's qparams.json
   * @param run the run's run.json (null when absent)
   * @param stats the statistics the run chose its ranges from (null: no histograms or method ranges)
   * @param eval an eval.json of the run's quantized model, or null
   */
  public static ReportData of(JsonNode qparams, JsonNode run, StatsSet stats, JsonNode eval) {
    List<String> notes = new ArrayList<>();
    Settings settings = Settings.of(run);
    if (!settings.recorded()) {
      notes.add("run.json records no range_options: method ranges are shown for the defaults (percentile "
          + settings.percentile() + ", asymmetric activations)");
    }
    if (stats == null) {
      notes.add("no statistics: histograms and method ranges are not shown");
    }
    Summary summary = new Summary(qparams.path("model").path("path").asText(""),
        qparams.path("model").path("sha256").asText(""), qparams.path("method").asText(""),
        qparams.path("samples").asLong(), qparams.path("model").path("source_opset").asInt(),
        qparams.path("model").path("prepared_opset").asInt());
    List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
    qparams.path("activations").fields().forEachRemaining(entries::add);
    // the four methods over every tensor (entropy and mse dominate): tensors in parallel, results by index
    Activation[] computed = new Activation[entries.size()];
    IntStream.range(0, entries.size()).parallel().forEach(i -> computed[i] = activation(entries.get(i).getKey(),
        entries.get(i).getValue(), stats == null ? null : stats.tensors().get(entries.get(i).getKey()), stats != null,
        settings));
    List<Activation> acts = new ArrayList<>(List.of(computed));
    // worst estimated error first; tensors without an estimate last, in file order
    acts.sort(Comparator.comparing((Activation a) -> a.sqnrDb() == null ? 1 : 0)
        .thenComparing(a -> a.sqnrDb() == null ? 0.0 : a.sqnrDb()));
    List<Weight> weights = new ArrayList<>();
    qparams.path("weights").fields().forEachRemaining(e -> {
      JsonNode w = e.getValue();
      weights.add(new Weight(e.getKey(), w.path("role").asText(""), w.path("dtype").asText(""),
          w.path("axis").isNumber() ? w.get("axis").asInt() : null, floats(w.get("scale")), longs(w.get("zero_point")),
          floats(w.get("min")), floats(w.get("max")), w.path("count").asLong()));
    });
    return new ReportData(summary, settings, acts, weights, run, eval, notes);
  }

  private static Activation activation(String name, JsonNode a, TensorStats t, boolean haveStats, Settings s) {
    String dtype = a.path("dtype").asText("");
    float[] scale = floats(a.get("scale"));
    long[] zp = longs(a.get("zero_point"));
    Range chosen = a.has("range_min") && a.has("range_max")
        ? new Range(a.get("range_min").floatValue(), a.get("range_max").floatValue()) : null;
    Double mse = a.path("expected_mse").isNumber() ? a.get("expected_mse").asDouble() : null;
    Double sqnr = mse == null ? null
        : a.path("sqnr_db").isNumber() ? a.get("sqnr_db").asDouble() : Double.POSITIVE_INFINITY;
    long nonFinite = a.path("nan_count").asLong() + a.path("pos_inf_count").asLong() + a.path("neg_inf_count").asLong();
    QuantType type = null;
    String note = null;
    try {
      type = QuantType.fromId(dtype);
    } catch (IllegalArgumentException e) {
      note = e.getMessage();
    }
    double gridMin = Double.NaN;
    double gridMax = Double.NaN;
    if (type != null && scale.length == 1 && zp.length == 1) {
      long[] q = LinearQuant.qrange(type, s.symmetric() && zp[0] == symmetricZeroPoint(type, s), s.reduceRange()
          && (type == QuantType.UINT8 || type == QuantType.INT8));
      gridMin = (double) scale[0] * (q[0] - zp[0]);
      gridMax = (double) scale[0] * (q[1] - zp[0]);
    }
    Bars bars = null;
    List<MethodRange> methods = new ArrayList<>();
    String paramsFrom = a.path("params_from").isTextual() ? a.get("params_from").asText() : null;
    if (paramsFrom != null) {
      note = "not calibrated: shares the scale and zero point of " + paramsFrom + " (an op that only moves values)";
    } else if ("op_defined".equals(a.path("method").asText())) {
      note = "not calibrated: the range is fixed by the op's definition";
    } else if (t == null) {
      if (haveStats) {
        note = "the statistics have no entry for this tensor";
      }
    } else {
      if (t.histogram() != null && t.histogram().total() > 0) {
        bars = Bars.of(t.histogram(), MAX_BARS);
      }
      if (type != null && t.count() > 0) {
        for (String m : Calibrators.METHODS) {
          methods.add(methodRange(name, m, t, type, s));
        }
      }
    }
    float[] mn = floats(a.get("min"));
    float[] mx = floats(a.get("max"));
    return new Activation(name, dtype, scale, zp, mn.length > 0 ? mn[0] : Float.NaN, mx.length > 0 ? mx[0] : Float.NaN,
        a.path("method").asText(null), chosen, mse, sqnr, a.path("count").asLong(), nonFinite, gridMin, gridMax, bars,
        methods, paramsFrom, note);
  }

  /** The zero point a symmetric range gets for {@code type} under {@code s}. */
  private static long symmetricZeroPoint(QuantType type, Settings s) {
    long[] q = LinearQuant.qrange(type, true, s.reduceRange() && (type == QuantType.UINT8 || type == QuantType.INT8));
    return (long) Math.rint((q[0] + q[1]) / 2.0);
  }

  private static MethodRange methodRange(String name, String method, TensorStats t, QuantType type, Settings s) {
    try {
      Range r = Calibrators.of(method, s.percentile()).range(name, t, type, s.symmetric());
      Double sqnr = null;
      if (t.histogram() != null && t.histogram().total() > 0) {
        QuantParams p = LinearQuant.forRange(r.min(), r.max(), type, s.symmetric(), s.reduceRange(),
            s.powerOfTwoScales());
        sqnr = ErrorEstimate.of(t.histogram(), p).sqnrDb();
      }
      return new MethodRange(method, r, sqnr, null);
    } catch (IllegalArgumentException e) {
      return new MethodRange(method, null, null, e.getMessage());
    }
  }

  private static float[] floats(JsonNode n) {
    if (n == null || n.isNull()) {
      return new float[0];
    }
    if (!n.isArray()) {
      return new float[] {n.floatValue()};
    }
    float[] f = new float[n.size()];
    for (int i = 0; i < f.length; i++) {
      f[i] = n.get(i).floatValue();
    }
    return f;
  }

  private static long[] longs(JsonNode n) {
    if (n == null || n.isNull()) {
      return new long[0];
    }
    if (!n.isArray()) {
      return new long[] {n.asLong()};
    }
    long[] l = new long[n.size()];
    for (int i = 0; i < l.length; i++) {
      l[i] = n.get(i).asLong();
    }
    return l;
  }

  /** The report of an output directory being written on the local disk, with its statistics in memory. */
  public static ReportData ofLocalRun(Path dir, StatsSet stats) {
    JsonNode qparams = readLocal(dir.resolve(QParamsFile.NAME));
    Path run = dir.resolve(RunReport.NAME);
    return of(qparams, Files.exists(run) ? readLocal(run) : null, stats, null);
  }

  private static JsonNode readLocal(Path file) {
    try {
      return QParamsFile.JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new OutputException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * The statistics a report of {@code runDir} draws from when no {@code --stats} is given: the run's
   * own {@code stats/}, else those its run.json names (a quantize output).
   *
   * @throws DataException when run.json is missing or of another format, or there are none
   */
  public static String statsOf(String runDir, Configuration conf) {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(runDir);
    readQParams(runDir, conf); // the same first complaint as read's for a directory that is no run
    return statsOf(runDir, readJson(new org.apache.hadoop.fs.Path(dir, RunReport.NAME), "qcal.run", "", conf), conf);
  }

  private static JsonNode readQParams(String runDir, Configuration conf) {
    return readJson(new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(runDir), QParamsFile.NAME),
        QParamsFile.FORMAT, " (is " + runDir + " a calibrate or quantize output directory?)", conf);
  }

  private static String statsOf(String runDir, JsonNode run, Configuration conf) {
    org.apache.hadoop.fs.Path own = new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(runDir), StatsFiles.DIR);
    if (exists(own, conf)) {
      return own.toString();
    }
    if (run.path("stats").isTextual()) {
      return run.get("stats").asText();
    }
    throw new DataException(runDir + ": no " + StatsFiles.DIR + "/ here and run.json names no statistics; give --stats DIR");
  }

  /**
   * The report of a finished run directory (local or any Hadoop file system).
   *
   * @param runDir a calibrate or quantize output directory (qparams.json, run.json)
   * @param statsLocation statistics to use, or null: the run's {@code stats/}, else those its run.json names
   * @param evalLocation an evaluate output directory or its eval.json, or null
   * @throws DataException naming the file when something is missing, unreadable, of another format,
   *     or the statistics belong to another model
   */
  public static ReportData read(String runDir, String statsLocation, String evalLocation, Configuration conf) {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(runDir);
    JsonNode qparams = readQParams(runDir, conf);
    JsonNode run = readJson(new org.apache.hadoop.fs.Path(dir, RunReport.NAME), "qcal.run", "", conf);
    String stats = statsLocation != null ? statsLocation : statsOf(runDir, run, conf);
    StatsFiles.Loaded loaded = StatsFiles.read(stats, conf);
    String sha = qparams.path("model").path("sha256").asText("");
    if (!sha.equals(loaded.manifest().modelSha256())) {
      throw new DataException(stats + ": statistics of the model with SHA-256 " + loaded.manifest().modelSha256()
          + ", but " + new org.apache.hadoop.fs.Path(dir, QParamsFile.NAME) + " quantized the model with SHA-256 " + sha);
    }
    JsonNode eval = null;
    String evalNote = null;
    if (evalLocation != null) {
      org.apache.hadoop.fs.Path e = new org.apache.hadoop.fs.Path(evalLocation);
      if (!evalLocation.endsWith(".json")) {
        e = new org.apache.hadoop.fs.Path(e, "eval.json");
      }
      eval = readJson(e, "qcal.eval", " (give an evaluate output directory or its eval.json)", conf);
      String evaluated = eval.path("quantized").path("sha256").asText("");
      org.apache.hadoop.fs.Path quantized = new org.apache.hadoop.fs.Path(dir, "quantized.onnx");
      if (exists(quantized, conf)) {
        String own = sha256(quantized, conf);
        if (!own.equals(evaluated)) {
          evalNote = e + " evaluated the quantized model with SHA-256 " + evaluated + ", not this run's quantized.onnx ("
              + own + ")";
        }
      }
    }
    ReportData d = of(qparams, run, loaded.stats(), eval);
    if (evalNote != null) {
      d.notes().add(evalNote);
    }
    return d;
  }

  private static boolean exists(org.apache.hadoop.fs.Path p, Configuration conf) {
    try {
      return p.getFileSystem(conf).exists(p);
    } catch (IOException e) {
      throw new DataException(p + ": cannot read: " + e.getMessage(), e);
    }
  }

  private static JsonNode readJson(org.apache.hadoop.fs.Path file, String format, String hint, Configuration conf) {
    try {
      FileSystem fs = file.getFileSystem(conf);
      if (!fs.exists(file)) {
        throw new DataException(file + ": not found" + hint);
      }
      JsonNode n;
      try (InputStream in = fs.open(file)) {
        n = QParamsFile.JSON.readTree(in);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new DataException(file + ": not valid JSON: " + e.getOriginalMessage());
      }
      if (n == null || !format.equals(n.path("format").asText())) {
        throw new DataException(file + ": expected format '" + format + "', found '"
            + (n == null ? "" : n.path("format").asText()) + "'");
      }
      return n;
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  private static String sha256(org.apache.hadoop.fs.Path file, Configuration conf) {
    try (InputStream in = file.getFileSystem(conf).open(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
