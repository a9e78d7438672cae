package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.qcal.stats.Histogram;
import org.junit.jupiter.api.Test;

/** Bins' narrowed intervals and the quantile interpolated inside a bin, on values whose bins are known by hand. */
class BinsTest {
  /** 0.5 three times and 1.5 once, in at most 2 bins: width 1, bins [0, 1) and [1, 2), narrowed to [0.5, 1], [1, 1.5]. */
  private static Bins bins() {
    Bins b = Bins.signed(Histogram.empty(2).add(new float[] {0.5f, 0.5f, 1.5f, 0.5f}));
    assertArrayEquals(new double[] {0.5, 1.0}, b.lo);
    assertArrayEquals(new double[] {1.0, 1.5}, b.hi);
    assertArrayEquals(new long[] {3, 1}, b.count);
    return b;
  }

  @Test
  void quantilesInterpolateLinearlyInsideTheirBin() {
    Bins b = bins();
    // target f * 4 values: 2 of bin 0's 3 -> 0.5 + 2/3 * 0.5; 3 fills bin 0 -> its upper edge 1
    assertEquals(0.5 + 2.0 / 3 * 0.5, b.quantile(0.5), 1e-12);
    assertEquals(1.0, b.quantile(0.75), 1e-12);
    // 3.6: 0.6 of bin 1's one value -> 1 + 0.6 * 0.5
    assertEquals(1.3, b.quantile(0.9), 1e-12);
    assertEquals(1.5, b.quantile(1.0), 1e-12);
    // nothing below: the exact minimum
    assertEquals(0.5, b.quantile(0), 1e-12);
    assertEquals(0.5 + 0.25 / 3 * 0.5, b.quantile(0.0625), 1e-12);
  }

  @Test
  void absoluteBinsFoldNegativeValuesOntoThePositiveSide() {
    // -1.5 and 0.5, 0.5: |x| bins [0, 1) (narrowed to start at 0: mixed signs) holding 2 and [1, 1.5] holding 1
    Bins a = Bins.abs(Histogram.empty(4).add(new float[] {-1.5f, 0.5f, 0.5f}));
    assertEquals(0.0, a.lo[0]);
    assertEquals(1.5, a.hi[a.size() - 1]);
    assertEquals(3, a.total);
    assertEquals(1.5, a.quantile(1.0), 1e-12);
    // 2 of 3 values lie in [0, 1): the 2/3 quantile is that bin's upper edge
    assertEquals(1.0, a.quantile(2.0 / 3), 1e-12);
  }

  @Test
  void absoluteBinsOfPositiveDataStartAtTheMinimum() {
    // 0.25 and 1.5 in at most 2 bins: width 1, bins [0, 1) and [1, 2), narrowed to [0.25, 1] and [1, 1.5]
    Bins a = Bins.abs(Histogram.empty(2).add(new float[] {0.25f, 1.5f}));
    assertArrayEquals(new double[] {0.25, 1.0}, a.lo);
    assertArrayEquals(new double[] {1.0, 1.5}, a.hi);
    assertArrayEquals(new long[] {1, 1}, a.count);
  }

  @Test
  void absoluteBinsOfNegativeDataStartAtMinusTheMaximum() {
    // -1.5 and -0.25 in at most 2 bins: width 1, signed bins [-2, -1) and [-1, 0), i.e. |x| bins [1, 2) and [0, 1),
    // narrowed to |x| in [0.25, 1.5]
    Bins a = Bins.abs(Histogram.empty(2).add(new float[] {-1.5f, -0.25f}));
    assertArrayEquals(new double[] {0.25, 1.0}, a.lo);
    assertArrayEquals(new double[] {1.0, 1.5}, a.hi);
    assertArrayEquals(new long[] {1, 1}, a.count);
  }

  @Test
  void aMaximumOnANegativeBinsLowerEdgeNarrowsTheFirstIntervalToAPoint() {
    // -1.5 and -1 in at most 2 bins: width 0.5, signed bins [-1.5, -1) and [-1, -0.5), i.e. |x| bins (1, 1.5] and
    // (0.5, 1]: |x| = 1 is that bin's upper edge, so the first interval narrows to [1, 1] (never inverted)
    Bins a = Bins.abs(Histogram.empty(2).add(new float[] {-1.5f, -1f}));
    assertArrayEquals(new double[] {1.0, 1.0}, a.lo);
    assertArrayEquals(new double[] {1.0, 1.5}, a.hi);
    assertArrayEquals(new long[] {1, 1}, a.count);
    assertEquals(1.0, a.quantile(0.5), 1e-12);
  }

  @Test
  void aQuantileReachedAtABinsEndIsThatBinsUpperEdgeNotTheNextBinsStart() {
    // 0.5, 0.5, 3.5, 3.5 in at most 4 bins: width 1, [0.5, 1] holds 2, [1, 2] and [2, 3] none, [3, 3.5] holds 2.
    // The median's target 2 is reached at the end of the first bin (x_(2) = 0.5 lies there): 1, not 3
    Bins b = Bins.signed(Histogram.empty(4).add(new float[] {0.5f, 0.5f, 3.5f, 3.5f}));
    assertArrayEquals(new long[] {2, 0, 0, 2}, b.count);
    assertEquals(1.0, b.quantile(0.5), 1e-12);
    assertEquals(3.25, b.quantile(0.75), 1e-12);
  }

  @Test
  void theZeroQuantileSkipsEmptyLeadingBins() {
    // -1.5 and 1.5 in at most 4 bins: width 1; |x| bins [0, 1) (empty) and [1, 1.5] (both values)
    Bins a = Bins.abs(Histogram.empty(4).add(new float[] {-1.5f, 1.5f}));
    assertArrayEquals(new long[] {0, 2}, a.count);
    assertEquals(1.0, a.quantile(0), 1e-12);
    assertEquals(1.125, a.quantile(0.25), 1e-12); // target 0.5 of the bin's 2 values: a quarter of [1, 1.5]
    assertEquals(1.5, a.quantile(1), 1e-12);
  }
}
