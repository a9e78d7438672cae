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
}
