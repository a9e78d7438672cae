package dev.qcal.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.calib.Range;
import dev.qcal.io.QParamsFile;
import dev.qcal.stats.Histogram;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * What {@code report.html} shows, as plain records, gathered from a run's {@code qparams.json} and
 * {@code run.json}, its merged statistics and, optionally, an {@code eval.json}: per activation the
 * downsampled histogram, the range every method would choose ({@link MethodComparison}), the chosen
 * parameters and error estimate; per weight its per-channel ranges.
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
      int preparedOpset) {
    static Summary of(QParamsFile.Header h) {
      return new Summary(h.modelPath(), h.modelSha256(), h.method(), h.samples(), h.sourceOpset(), h.preparedOpset());
    }
  }

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
      float[] min, float[] max, long count) {
    static Weight of(QParamsFile.Stored w) {
      QParamsFile.Entry e = w.entry();
      return new Weight(e.name(), e.role(), w.dtype(), w.axis(), w.scale(), w.zeroPoint(), e.min(), e.max(),
          e.count());
    }
  }

  /**
   * Gathers the report of a run.
   *
   * @param qparams the run's qparams.json
   * @param run the run's run.json (null when absent)
   * @param stats the statistics the run chose its ranges from (null: no histograms or method ranges)
   * @param eval an eval.json of the run's quantized model, or null
   */
  public static ReportData of(QParamsFile.Contents qparams, JsonNode run, StatsSet stats, JsonNode eval) {
    Settings settings = Settings.of(run);
    List<String> notes = new ArrayList<>();
    if (!settings.recorded()) {
      notes.add("run.json records no range_options: method ranges are shown for the defaults (percentile "
          + settings.percentile() + ", asymmetric activations)");
    }
    if (stats == null) {
      notes.add("no statistics: histograms and method ranges are not shown");
    }
    List<Weight> weights = qparams.weights().stream().map(Weight::of).toList();
    return new ReportData(Summary.of(qparams.header()), settings, activations(qparams.activations(), stats, settings),
        new ArrayList<>(weights), run, eval, notes);
  }

  /** Every activation, worst estimated error first; tensors without an estimate last, in file order. */
  private static List<Activation> activations(List<QParamsFile.Stored> entries, StatsSet stats, Settings s) {
    // the four methods over every tensor (entropy and mse dominate): tensors in parallel, results by index
    Activation[] computed = new Activation[entries.size()];
    IntStream.range(0, entries.size()).parallel().forEach(i -> computed[i] = activation(entries.get(i),
        stats == null ? null : stats.tensors().get(entries.get(i).name()), stats != null, s));
    List<Activation> acts = new ArrayList<>(List.of(computed));
    acts.sort(Comparator.comparing((Activation a) -> a.sqnrDb() == null ? 1 : 0)
        .thenComparing(a -> a.sqnrDb() == null ? 0.0 : a.sqnrDb()));
    return acts;
  }

  private static Activation activation(QParamsFile.Stored stored, TensorStats t, boolean haveStats, Settings s) {
    QParamsFile.Entry a = stored.entry();
    MethodComparison cmp = MethodComparison.of(stored, s);
    String note = a.paramsFrom() != null
        ? "not calibrated: shares the scale and zero point of " + a.paramsFrom() + " (an op that only moves values)"
        : "op_defined".equals(a.method()) ? "not calibrated: the range is fixed by the op's definition"
        : t == null && haveStats ? "the statistics have no entry for this tensor"
        : cmp.typeError();
    boolean calibrated = a.paramsFrom() == null && !"op_defined".equals(a.method()) && t != null;
    Bars bars = calibrated && t.histogram() != null && t.histogram().total() > 0
        ? Bars.of(t.histogram(), MAX_BARS) : null;
    List<MethodRange> methods = calibrated ? cmp.ranges(a.name(), t) : new ArrayList<>();
    Range chosen = a.range() == null ? null : new Range(a.range()[0], a.range()[1]);
    return new Activation(a.name(), stored.dtype(), stored.scale(), stored.zeroPoint(), first(a.min()),
        first(a.max()), a.method(), chosen, a.expectedMse(), a.sqnrDb(), a.count(),
        a.nanCount() + a.posInfCount() + a.negInfCount(), cmp.gridMin(), cmp.gridMax(), bars, methods,
        a.paramsFrom(), note);
  }

  private static float first(float[] v) {
    return v.length > 0 ? v[0] : Float.NaN;
  }
}
