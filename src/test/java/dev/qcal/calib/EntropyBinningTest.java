package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Step 1 of the entropy calibrator (the |x| bins from the statistics' histogram, their coarsening to at most 2048,
 * the zero-bin levelling, the first candidate, the levels L and the threshold from the chosen bin count) against
 * an oracle that bins the raw values itself; the search over the candidates (steps 2-6) is
 * {@link EntropySearchTest}'s transcription. Exact equality of the ranges.
 */
class EntropyBinningTest {

  /**
   * |x| bin of v at width W, as the class comment defines it: {@code [j W, (j + 1) W)} for v >= 0; a negative v lies
   * in signed bin {@code floor(v / W)} = -j - 1, i.e. |v| in {@code (j W, (j + 1) W]}.
   */
  private static long absBin(double v, double w) {
    return v >= 0 ? (long) Math.floor(v / w) : (long) Math.ceil(-v / w) - 1;
  }

  /** The range from the raw values x, given the statistics' bin width 2^e. */
  static Range oracle(float[] x, int e, QuantType type, boolean symmetric, boolean levelZeroBin) {
    double maxAbs = 0;
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (float v : x) {
      maxAbs = Math.max(maxAbs, Math.abs((double) v));
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    if (maxAbs == 0) {
      return new Range(0f, 0f);
    }
    // W: the bin width doubled until at most 2048 bins reach the largest |x| bin
    double w = Math.scalb(1.0, e);
    long top = 0;
    do {
      top = 0;
      for (float v : x) {
        top = Math.max(top, absBin(v, w));
      }
      w *= 2;
    } while (top + 1 > 2048);
    w /= 2;
    int k = (int) top + 1;
    double[] hist = new double[k];
    for (float v : x) {
      hist[(int) absBin(v, w)]++;
    }
    if (levelZeroBin && k > 1) {
      hist[0] = hist[1];
    }
    int start = (int) Math.ceil(k / 16.0);
    // L: 128 levels cover [0, t] for int8, and for uint8 on mixed-sign data; 256 for uint8 on data >= 0
    int levels = type == QuantType.INT8 || min < 0 ? 128 : 256;
    int best = EntropySearchTest.oracle(hist, start, levels, x.length);
    double t = Math.min(best * w, maxAbs);
    float ft = (float) t;
    return symmetric ? new Range(-ft, ft) : new Range(Math.max(min, -ft), Math.min(max, ft));
  }

  private static void check(float[] x, int maxBins, String what) {
    Histogram h = Histogram.empty(maxBins).add(x);
    for (boolean level : new boolean[] {true, false}) {
      for (QuantType type : new QuantType[] {QuantType.INT8, QuantType.UINT8}) {
        boolean symmetric = type == QuantType.INT8;
        assertEquals(oracle(x, h.exponent(), type, symmetric, level),
            new EntropyCalibrator(level).fromHistogram("t", h, type, symmetric),
            what + " " + maxBins + " bins, " + type + ", levelled " + level + ", exponent " + h.exponent());
      }
    }
  }

  /** n values of one shape, scaled so that the largest |x| is m. */
  private static float[] sample(Random r, int shape, int n, double m) {
    float[] x = new float[n];
    double big = 0;
    double[] raw = new double[n];
    for (int i = 0; i < n; i++) {
      double g = r.nextGaussian();
      raw[i] = switch (shape) {
        case 0 -> g; // mixed signs
        case 1 -> Math.max(0, g); // ReLU: a third or more exactly 0
        case 2 -> -1 - Math.abs(g); // negative, away from 0
        case 3 -> r.nextInt(20) == 0 ? (r.nextBoolean() ? 1 : -1) * (3 + 30 * r.nextDouble()) : 0.05 * g; // spike, outliers
        default -> 0.2 + r.nextDouble(); // positive, away from 0
      };
      big = Math.max(big, Math.abs(raw[i]));
    }
    for (int i = 0; i < n; i++) {
      x[i] = (float) (raw[i] / big * m);
    }
    return x;
  }

  @Test
  void rangesAreTheOraclesOnRandomSamples() {
    Random r = new Random(5);
    int[] maxBins = {64, 700, 4096, 8192};
    for (int round = 0; round < 20; round++) {
      int shape = round % 5;
      double m = Math.exp(4 * r.nextGaussian());
      check(sample(r, shape, 300 + r.nextInt(3000), m), maxBins[r.nextInt(maxBins.length)], "round " + round);
    }
  }

  /**
   * Positive data from 0 whose statistics' bins reach exactly 2 x 2048 (4095.5 / 1024 in 4096 bins of 2^-10: 2048
   * bins after one doubling) or one more (4097.5 / 1024 in 8192 bins of 2^-10: one doubling leaves 2049, so two).
   */
  @Test
  void theCoarseningStopsAtExactly2048Bins() {
    Random r = new Random(6);
    for (int round = 0; round < 2; round++) {
      float[] x = sample(r, round % 2 == 0 ? 1 : 4, 2000, 4095.5 / 1024);
      x[0] = 0f;
      Histogram h = Histogram.empty(4096).add(x);
      assertEquals(-10, h.exponent());
      check(x, 4096, "4095.5 / 1024, round " + round);
      float[] y = sample(r, round % 2 == 0 ? 1 : 4, 2000, 4097.5 / 1024);
      y[0] = 0f;
      assertEquals(-10, Histogram.empty(8192).add(y).exponent());
      check(y, 8192, "4097.5 / 1024, round " + round);
    }
  }

  /**
   * The first candidate keeps ceil(K / 16) bins: a comb of values in |x| bins 0..126 (width 1; 1 and 41 values in
   * turn) and one outlier in bin 2047, so K = 2048 and the first candidate is 128. Keeping 127 bins would win: Q = P
   * but for the one outlier added to the last kept bin, while every wider candidate puts the outlier in a bin where Q
   * is empty (eps), and K merges the comb's teeth 16 to a level. The range must not be 127.
   */
  @Test
  void theFirstCandidateIsASixteenthOfTheBins() {
    java.util.List<Float> v = new java.util.ArrayList<>();
    double[] hist = new double[2048];
    for (int j = 0; j < 127; j++) {
      for (int c = 0; c < 1 + 40 * (j % 2); c++) {
        v.add(j + 0.5f);
        hist[j]++;
      }
    }
    v.add(2047.5f);
    hist[2047]++;
    float[] x = new float[v.size()];
    for (int i = 0; i < x.length; i++) {
      x[i] = v.get(i);
    }
    assertEquals(-1, Histogram.empty(4096).add(x).exponent()); // 4095 bins of 0.5, so K = 2048 of width 1
    check(x, 4096, "comb");
    hist[0] = hist[1];
    assertEquals(127, EntropySearchTest.oracle(hist, 127, 128, x.length)); // were 127 a candidate, it would win
    Range r = new EntropyCalibrator().fromHistogram("t", Histogram.empty(4096).add(x), QuantType.INT8, true);
    assertTrue(r.max() >= 128, r.toString());
  }

  @Test
  void oneBinOfAbsoluteValues() {
    // -0.25 and 0.25 in at most 2 bins of width 0.5: both in |x| bin 0, K = 1, one candidate: t = max|x|
    Histogram h = Histogram.empty(2).add(new float[] {-0.25f, 0.25f});
    assertEquals(new Range(-0.25f, 0.25f), new EntropyCalibrator().fromHistogram("t", h, QuantType.INT8, true));
    assertTrue(h.bins() == 2 && h.exponent() == -1);
  }
}
