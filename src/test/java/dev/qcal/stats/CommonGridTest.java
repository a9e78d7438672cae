package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Two histograms re-binned onto one grid (by hand and against counting the raw values), and their JS divergence. */
class CommonGridTest {
  /** (3 - 1.5 log2 3) / 2: JS of p = (1/4, 1/4, 1/4, 1/4) and q = (1/2, 1/2, 0, 0), worked out in the test below. */
  private static final double JS_QUARTERS_HALVES = (3 - 1.5 * Math.log(3) / Math.log(2)) / 2;

  @Test
  void theCoarserExponentHoldsBothExactly() {
    // a: one value in each of [0,1), [1,2), [2,3), [3,4) (4 bins of width 1: e = 0)
    Histogram a = Histogram.empty(4).add(new float[] {0.5f, 1.5f, 2.5f, 3.5f});
    // b: [0.5, 1.5] in bins of 0.5 (e = -1): bins 1 ([0.5, 1)) and 3 ([1.5, 2)), two values each
    Histogram b = Histogram.empty(4).add(new float[] {0.5f, 0.5f, 1.5f, 1.5f});
    assertEquals(0, a.exponent());
    assertEquals(-1, b.exponent());
    CommonGrid g = CommonGrid.of(a, b, 8);
    assertEquals(0, g.exponent());
    assertEquals(0, g.firstBin());
    assertArrayEquals(new long[] {1, 1, 1, 1}, g.a());
    assertArrayEquals(new long[] {2, 2, 0, 0}, g.b());
    assertEquals(4.0, g.lowerEdge(4));
    // p = 1/4 each, q = (1/2, 1/2, 0, 0), m = (3/8, 3/8, 1/8, 1/8):
    // KL(p||m) = 1/2 log2(2/3) + 1/2 log2(2), KL(q||m) = log2(4/3); JS = (3 - 1.5 log2 3) / 2 = 0.3112781...
    assertEquals(JS_QUARTERS_HALVES, g.jensenShannon(), 1e-15);
    assertEquals(0.311278124459, g.jensenShannon(), 1e-12);
    assertEquals(g.jensenShannon(), CommonGrid.of(b, a, 8).jensenShannon(), 0.0, "symmetric");
  }

  @Test
  void fewerBinsCoarsenFurther() {
    Histogram a = Histogram.empty(4).add(new float[] {0.5f, 1.5f, 2.5f, 3.5f});
    Histogram b = Histogram.empty(4).add(new float[] {0.5f, 0.5f, 1.5f, 1.5f});
    CommonGrid g = CommonGrid.of(a, b, 2);
    assertEquals(1, g.exponent());
    assertArrayEquals(new long[] {2, 2}, g.a());
    assertArrayEquals(new long[] {4, 0}, g.b());
  }

  @Test
  void negativeBinsCoarsenByFloorNotTruncation() {
    // a: -1.5 and -0.5 in bins [-2,-1) and [-1,0) (e = 0, first bin -2)
    Histogram a = Histogram.empty(2).add(new float[] {-1.5f, -0.5f});
    // b: -3.5 and 0.5 in bins [-4, 0) and [0, 4) (e = 2, first bin -1)
    Histogram b = Histogram.empty(2).add(new float[] {-3.5f, 0.5f});
    assertEquals(-2, a.firstBin());
    assertEquals(2, b.exponent());
    CommonGrid g = CommonGrid.of(a, b, 4);
    assertEquals(2, g.exponent());
    assertEquals(-1, g.firstBin());
    assertEquals(-4.0, g.lowerEdge(0));
    assertArrayEquals(new long[] {2, 0}, g.a(), "bins -2 and -1 both lie in [-4, 0)");
    assertArrayEquals(new long[] {1, 1}, g.b());
    // p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4): KL(p||m) = log2(4/3), KL(q||m) = 1/2 log2(2/3) + 1/2 log2(2)
    assertEquals(JS_QUARTERS_HALVES, g.jensenShannon(), 1e-15);
  }

  @Test
  void equalAndDisjointDistributionsAreZeroAndOne() {
    assertEquals(0.0, CommonGrid.jensenShannon(new long[] {3, 0, 5}, new long[] {6, 0, 10}), 1e-15);
    assertEquals(1.0, CommonGrid.jensenShannon(new long[] {3, 0, 0}, new long[] {0, 7, 2}), 1e-15);
    assertThrows(IllegalArgumentException.class, () -> CommonGrid.jensenShannon(new long[] {0, 0}, new long[] {1, 0}));
  }

  @Test
  void gridCountsEqualCountingTheRawValues() {
    Random r = new Random(21);
    for (int round = 0; round < 20; round++) {
      float[] x = values(r, 300 + r.nextInt(500), r.nextGaussian() * 3, Math.exp(r.nextGaussian() * 2));
      float[] y = values(r, 50 + r.nextInt(500), r.nextGaussian() * 3, Math.exp(r.nextGaussian() * 2));
      int maxBins = 2 + r.nextInt(100);
      Histogram hx = Histogram.empty(64 + r.nextInt(1000)).add(x);
      Histogram hy = Histogram.empty(64 + r.nextInt(1000)).add(y);
      CommonGrid g = CommonGrid.of(hx, hy, maxBins);
      // the expected exponent: from the coarser histogram's, up until the raw values span at most maxBins bins
      int e = Math.max(hx.exponent(), hy.exponent());
      TreeMap<Long, long[]> raw;
      while (true) {
        raw = new TreeMap<>();
        count(raw, x, e, 0);
        count(raw, y, e, 1);
        if (raw.lastKey() - raw.firstKey() + 1 <= maxBins) {
          break;
        }
        e++;
      }
      assertEquals(e, g.exponent(), "round " + round);
      long first = raw.firstKey();
      assertEquals(first, g.firstBin(), "round " + round);
      assertEquals(raw.lastKey() - first + 1, g.bins());
      for (int i = 0; i < g.bins(); i++) {
        long[] c = raw.getOrDefault(first + i, new long[2]);
        assertEquals(c[0], g.a()[i]);
        assertEquals(c[1], g.b()[i]);
      }
    }
  }

  private static float[] values(Random r, int n, double mean, double sd) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (mean + sd * r.nextGaussian());
    }
    return v;
  }

  private static void count(TreeMap<Long, long[]> m, float[] v, int e, int side) {
    for (float f : v) {
      long k = (long) Math.floor(f / Math.pow(2, e));
      m.computeIfAbsent(k, key -> new long[2])[side]++;
    }
  }
}
