package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.calib.CalibTestData.Dist;
import dev.qcal.calib.CalibTestData.Sample;
import dev.qcal.quant.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The KL-divergence search against a direct implementation on its own histogram of the raw |x|. */
class EntropyCalibratorTest {

  /**
   * The oracle, written from the description: K <= 2048 bins of |x| from 0 counted from the raw
   * samples, of width W = the statistics' bin width times the smallest power of two that needs no
   * more than 2048 bins to reach max|x|; for each i in ceil(K / 16)..K the reference P (bins below i, everything above added to bin
   * i-1), the candidate Q (bins below i merged into L levels, level g = bins [ceil(g i / L),
   * ceil((g+1) i / L)), each level's count shared evenly by its bins where P is non-zero), both
   * normalized and smoothed (zeros get 1e-4 / N, non-zeros give it back pro rata), KL(P||Q); the last
   * minimum wins and t = min(i W, max|x|). Candidates that clip values and leave P a single non-empty
   * bin are skipped (P = Q, KL 0 whatever was clipped).
   */
  static double oracleThreshold(Sample s, int levels) {
    double maxAbs = s.maxAbs();
    double w = width(s);
    int bins = (int) Math.floor(maxAbs / w) + 1;
    long[] hist = new long[bins];
    for (float v : s.x) {
      hist[(int) Math.floor(Math.abs((double) v) / w)]++;
    }
    long n = s.x.length;
    double eps = 1e-4 / n;
    int bestI = -1;
    double bestKl = Double.POSITIVE_INFINITY;
    for (int i = (bins + 15) / 16; i <= bins; i++) {
      double[] p = new double[i];
      for (int j = 0; j < i; j++) {
        p[j] = hist[j];
      }
      for (int j = i; j < bins; j++) {
        p[i - 1] += hist[j];
      }
      double[] q = new double[i];
      for (int g = 0; g < levels; g++) {
        int start = (int) (((long) g * i + levels - 1) / levels);
        int end = (int) (((long) (g + 1) * i + levels - 1) / levels);
        long sum = 0;
        int nonEmpty = 0;
        for (int j = start; j < end; j++) {
          sum += hist[j];
          if (p[j] != 0) {
            nonEmpty++;
          }
        }
        for (int j = start; j < end; j++) {
          if (p[j] != 0) {
            q[j] = (double) sum / nonEmpty;
          }
        }
      }
      double[] ps = smooth(p, eps);
      double[] qs = smooth(q, eps);
      if (qs == null) {
        continue;
      }
      long clipped = 0;
      for (int j = i; j < bins; j++) {
        clipped += hist[j];
      }
      if (clipped > 0 && java.util.Arrays.stream(p).filter(v -> v != 0).count() == 1) {
        continue; // all values clipped into one bin: P = Q, a degenerate KL of 0
      }
      double kl = 0;
      for (int j = 0; j < i; j++) {
        kl += ps[j] * Math.log(ps[j] / qs[j]);
      }
      if (kl <= bestKl) {
        bestKl = kl;
        bestI = i;
      }
    }
    return Math.min(bestI * w, maxAbs);
  }

  /** W: the statistics' bin width doubled until [0, max|x|] spans at most 2048 bins. */
  static double width(Sample s) {
    double w = s.binWidth();
    while (Math.floor(s.maxAbs() / w) + 1 > 2048) {
      w *= 2;
    }
    return w;
  }

  /** Normalized, zeros set to eps, non-zeros scaled to keep the sum 1; null when all zero. */
  private static double[] smooth(double[] v, double eps) {
    double sum = 0;
    int zeros = 0;
    for (double x : v) {
      sum += x;
      zeros += x == 0 ? 1 : 0;
    }
    if (sum == 0) {
      return null;
    }
    double[] out = new double[v.length];
    for (int j = 0; j < v.length; j++) {
      out[j] = v[j] == 0 ? eps : v[j] / sum * (1 - zeros * eps);
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(Dist.class)
  void symmetricInt8MatchesDirectKlSearchWithinOneBin(Dist d) {
    Sample s = CalibTestData.sample(d);
    double t = oracleThreshold(s, 128);
    double w = width(s);
    Range r = new EntropyCalibrator(false).range(d.name(), s.stats, QuantType.INT8, true);
    assertEquals(t, r.max(), w, d + ": oracle t " + t + ", |x| bin width " + w + ", got " + r);
    assertEquals(-r.max(), r.min());
  }

  @ParameterizedTest
  @EnumSource(Dist.class)
  void asymmetricUint8MatchesDirectKlSearchWithinOneBin(Dist d) {
    Sample s = CalibTestData.sample(d);
    // 256 levels for an unsigned type on non-negative data, 128 otherwise
    int levels = s.stats.min() >= 0 ? 256 : 128;
    double t = oracleThreshold(s, levels);
    double w = width(s);
    Range r = new EntropyCalibrator(false).range(d.name(), s.stats, QuantType.UINT8, false);
    String msg = d + ": oracle t " + t + " (" + levels + " levels), |x| bin width " + w + ", got " + r;
    assertEquals(Math.min(s.stats.max(), t), r.max(), w, msg);
    assertEquals(Math.max(s.stats.min(), -t), r.min(), w, msg);
  }

  @Test
  void levellingTheZeroBinKeepsReluRangesFromCollapsing() {
    // half of a ReLU output is exactly 0; TensorRT's plain search lets that bin dominate KL
    Sample s = CalibTestData.sample(Dist.RELU);
    Range strict = new EntropyCalibrator(false).range("relu", s.stats, QuantType.UINT8, false);
    Range levelled = new EntropyCalibrator().range("relu", s.stats, QuantType.UINT8, false);
    assertTrue(levelled.max() > strict.max(), "levelled " + levelled + " vs strict " + strict);
    assertTrue(levelled.max() <= s.stats.max());
    // and where no zero bin dominates, the adjustment changes little
    Sample g = CalibTestData.sample(Dist.GAUSSIAN);
    Range gs = new EntropyCalibrator(false).range("g", g.stats, QuantType.INT8, true);
    Range gl = new EntropyCalibrator().range("g", g.stats, QuantType.INT8, true);
    assertEquals(gs.max(), gl.max(), 0.05 * gs.max());
  }

  /**
   * A one-signed tensor far from zero (the example's last Conv output lies in [-2.2, -0.92]): the first
   * bin holding values made P and Q the same spike (KL 0), which clipped the whole tensor to one value.
   */
  @Test
  void oneSignedTensorsAwayFromZeroAreNotClippedToOneBin() {
    java.util.Random rnd = new java.util.Random(7);
    float[] x = new float[20_000];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (-0.92 - 1.28 * rnd.nextDouble() * rnd.nextDouble());
    }
    dev.qcal.stats.TensorStats t = CalibTestData.stats("neg", x);
    for (QuantType type : new QuantType[] {QuantType.UINT8, QuantType.INT8}) {
      Range r = new EntropyCalibrator().range("neg", t, type, false);
      assertTrue(r.min() < -1.2f, type + ": the range keeps a useful part of [-2.2, -0.92], got " + r);
      assertEquals(t.max(), r.max(), type + ": nothing is clipped at the top");
      Range strict = new EntropyCalibrator(false).range("neg", t, type, false);
      assertTrue(strict.min() < -1.2f, type + " (no zero-bin levelling): " + strict);
    }
  }

  @Test
  void outliersGiveATighterRangeThanMinMax() {
    Sample s = CalibTestData.sample(Dist.HEAVY_TAILED_WITH_OUTLIERS);
    Range e = new EntropyCalibrator().range("t", s.stats, QuantType.INT8, true);
    Range m = new MinMaxCalibrator().range("t", s.stats, QuantType.INT8, true);
    assertTrue(e.max() < m.max() / 4, e + " vs minmax " + m);
  }

  @Test
  void levelsFollowTheTypeAndSign() {
    assertEquals(128, EntropyCalibrator.levels(QuantType.INT8, true));
    assertEquals(128, EntropyCalibrator.levels(QuantType.UINT8, false));
    assertEquals(256, EntropyCalibrator.levels(QuantType.UINT8, true));
    assertEquals(32768, EntropyCalibrator.levels(QuantType.INT16, false));
    assertEquals(65536, EntropyCalibrator.levels(QuantType.UINT16, true));
  }

  @Test
  void sixteenBitTypesKeepNearlyTheWholeRange() {
    Sample s = CalibTestData.sample(Dist.GAUSSIAN);
    Range r = new EntropyCalibrator().range("t", s.stats, QuantType.INT16, true);
    assertEquals(s.maxAbs(), r.max(), width(s), r.toString());
  }
}
