package dev.qcal.testing;

import dev.qcal.calib.Calibrators;
import dev.qcal.calib.ErrorEstimate;
import dev.qcal.calib.Range;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.RunReport;
import dev.qcal.io.StatsFiles;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A calibrate-like output directory built in code (no model, no Spark): statistics of synthetic
 * activations (Gaussian, ReLU, with outliers, uniform), their qparams.json entries chosen with the
 * real calibrators, per-channel weights and a bias, run.json with range_options; and an eval.json.
 */
public final class ReportFixtures {
  /** A tensor name with every character HTML treats specially. */
  public static final String ODD = "conv<1>/out&\"x\"'";
  public static final String SHA = "ab".repeat(32);
  public static final double PERCENTILE = 99.9;
  public static final int WEIGHT_CHANNELS = 8;

  private ReportFixtures() {}

  /** Activation names: {@link #ODD} first, then {@code act_1 .. act_(n-1)}. */
  public static List<String> names(int n) {
    List<String> l = new ArrayList<>();
    l.add(ODD);
    for (int i = 1; i < n; i++) {
      l.add("act_" + i);
    }
    return l;
  }

  /** Statistics of {@code n} synthetic activations of 4000 values each (over 2 batches). */
  public static StatsSet stats(int n, int histogramBins) {
    List<String> names = names(n);
    StatsSet s = StatsSet.empty(names, new StatsConfig(histogramBins, 0, Map.of()));
    for (int batch = 0; batch < 2; batch++) {
      s.countBatch(8);
      for (int i = 0; i < n; i++) {
        Random r = new Random(31L * i + batch);
        float[] v = new float[2000];
        for (int j = 0; j < v.length; j++) {
          double g = r.nextGaussian() * (1 + i % 7);
          v[j] = (float) switch (i % 4) {
            case 0 -> g;
            case 1 -> Math.max(0, g);
            case 2 -> j == 7 && batch == 0 ? 60 * (1 + i % 7) : g;
            default -> -1 + 4 * r.nextDouble();
          };
        }
        s.add(names.get(i), FloatBuffer.wrap(v), new long[] {v.length});
      }
    }
    return s;
  }

  /** The method tensor {@code i} is calibrated with: minmax, percentile, entropy, mse in turn. */
  public static String method(int i) {
    return Calibrators.METHODS.get(i % Calibrators.METHODS.size());
  }

  /**
   * Writes qparams.json, run.json and stats/ into {@code dir} and returns the statistics.
   * Activations are uint8 asymmetric; with {@code histogramBins} 0 every tensor uses minmax.
   */
  public static StatsSet writeRun(Path dir, int n, int histogramBins) throws Exception {
    Files.createDirectories(dir);
    StatsSet stats = stats(n, histogramBins);
    List<QParamsFile.Entry> entries = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String name = names(n).get(i);
      TensorStats t = stats.get(name);
      String method = histogramBins == 0 ? "minmax" : method(i);
      Range range = Calibrators.of(method, PERCENTILE).range(name, t, QuantType.UINT8, false);
      QuantParams p = LinearQuant.forRange(range.min(), range.max(), QuantType.UINT8, false);
      Double mse = null;
      Double sqnr = null;
      if (t.histogram() != null) {
        ErrorEstimate e = ErrorEstimate.of(t.histogram(), p);
        mse = e.expectedMse();
        sqnr = e.sqnrDb();
      }
      entries.add(new QParamsFile.Entry(name, "activation", p, new float[] {t.min()}, new float[] {t.max()},
          t.count(), t.nanCount(), t.posInfCount(), t.negInfCount(), method,
          new float[] {range.min(), range.max()}, mse, sqnr));
    }
    float[] wmin = new float[WEIGHT_CHANNELS];
    float[] wmax = new float[WEIGHT_CHANNELS];
    for (int c = 0; c < WEIGHT_CHANNELS; c++) {
      wmin[c] = -0.1f * (c + 1);
      wmax[c] = c == 5 ? 4f : 0.05f * (c + 1);
    }
    QuantParams w = LinearQuant.forRanges(wmin, wmax, QuantType.INT8, true, 0);
    entries.add(QParamsFile.Entry.constant("conv<1>.weight", "weight", w, wmin, wmax, WEIGHT_CHANNELS * 9L));
    QuantParams bias = LinearQuant.biasParams(entries.get(0).params().scale()[0], w);
    float[] bmin = new float[WEIGHT_CHANNELS];
    float[] bmax = new float[WEIGHT_CHANNELS];
    for (int c = 0; c < WEIGHT_CHANNELS; c++) {
      bmin[c] = bmax[c] = 0.25f * (c - 3);
    }
    entries.add(QParamsFile.Entry.constant("conv<1>.bias", "bias", bias, bmin, bmax, WEIGHT_CHANNELS));
    QParamsFile.write(dir.resolve(QParamsFile.NAME),
        new QParamsFile.Header("models/<m>&.onnx", SHA, 9, 13, "mixed", stats.samples(), Map.of("qcal", "test")),
        entries);
    Map<String, Object> options = new LinkedHashMap<>();
    options.put("method", "minmax");
    options.put("percentile", PERCENTILE);
    options.put("activation_type", "uint8");
    options.put("symmetric_activations", false);
    options.put("reduce_range", false);
    options.put("power_of_two_scales", false);
    RunReport run = new RunReport().put("command", "calibrate").put("model", "models/<m>&.onnx")
        .put("range_options", options).put("samples", stats.samples()).put("versions", Map.of("qcal", "test"))
        .put("wall_seconds", 1.5).put("stage_seconds", Map.of("observe_and_reduce", 1.0));
    run.write(dir.resolve(RunReport.NAME));
    StatsFiles.write(dir.resolve(StatsFiles.DIR), stats, SHA, 13, Map.of("x", new long[] {2, 3}));
    return stats;
  }

  /**
   * An eval.json: one class output; with {@code sensitivity}, a ranking of the first
   * {@code ranked} activations in reverse order of name (the last ranked has a null SQNR).
   */
  public static Map<String, Object> eval(int n, int ranked, boolean sensitivity) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("format", "qcal.eval");
    e.put("format_version", 1);
    e.put("fp32", Map.of("path", "m.onnx", "sha256", SHA));
    e.put("quantized", Map.of("path", "q.onnx", "sha256", "cd".repeat(32)));
    e.put("data", List.of("data/<x>"));
    e.put("samples", 256);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("elements", 512);
    out.put("non_finite_values", 0);
    out.put("sqnr_db", 31.25);
    out.put("cosine_similarity", 0.9996);
    out.put("max_abs_error", 0.05);
    out.put("mean_abs_error", 0.004);
    out.put("rows", 256);
    out.put("top1_agreement", 0.99609375);
    out.put("accuracy", Map.of("labelled", 256, "fp32", 0.9921875, "quantized", 0.98828125));
    e.put("outputs", Map.of("softmax<0>", out));
    e.put("throughput", Map.of("fp32_samples_per_second", 812.5));
    if (sensitivity) {
      List<String> names = names(n);
      List<Map<String, Object>> tensors = new ArrayList<>();
      for (int k = 0; k < ranked; k++) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("rank", k + 1);
        t.put("tensor", names.get(ranked - 1 - k));
        t.put("kind", "activation");
        t.put("nodes", List.of("node_" + k));
        t.put("output_sqnr_db", k == ranked - 1 ? null : 10.0 + 3 * k);
        t.put("top1_agreement", k == ranked - 1 ? null : 0.9 + 0.001 * k);
        tensors.add(t);
      }
      e.put("sensitivity", Map.of("samples", 64, "metric", "output_sqnr_db", "tensors", tensors));
    }
    return e;
  }

  public static void writeEval(Path dir, int n, int ranked, boolean sensitivity) {
    try {
      Files.createDirectories(dir);
    } catch (java.io.IOException ex) {
      throw new java.io.UncheckedIOException(ex);
    }
    QParamsFile.writeJson(dir.resolve("eval.json"), eval(n, ranked, sensitivity));
  }
}
