package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The MSE calibrator on data whose error curve has many local minima: two tight clusters (at 1 and -2.3) whose
 * rounding error swings from about 0 to S^2 / 4 as the levels move past them with t, against the clipping error of one
 * value at 30. The range must be the one an exhaustive search over every candidate threshold (each |x| bin's upper
 * edge) rates best by the error estimate of {@link ErrorEstimate} (checked against the raw samples in
 * ErrorEstimateTest): the refinement must pick the right local minima of the coarse curve, which has more than
 * {@link MseCalibrator#REFINE}.
 */
class MseClustersTest {

  @Test
  void manyLocalMinimaStillGiveTheExhaustiveMinimum() {
    Random r = new Random(3);
    for (QuantType type : new QuantType[] {QuantType.INT8, QuantType.UINT8}) {
      boolean symmetric = type == QuantType.INT8;
      float[] x = new float[20_000];
      for (int i = 0; i < x.length; i++) {
        int c = r.nextInt(100);
        double centre = i == 0 ? 30 : c < 60 ? 1 : -2.3;
        x[i] = (float) (centre + 0.001 * r.nextGaussian());
      }
      Histogram h = Histogram.empty(4096).add(x);
      double[] cand = Bins.abs(h).hi;
      double[] err = new double[cand.length];
      int best = 0;
      int localMinima = 0;
      for (int j = 0; j < cand.length; j++) {
        Range range = symmetric ? Range.symmetric(cand[j]) : Range.clamped(cand[j], h.min(), h.max());
        err[j] = ErrorEstimate.of(h, LinearQuant.forRange(range.min(), range.max(), type, symmetric)).expectedMse();
        best = err[j] <= err[best] ? j : best;
      }
      // local minima of the curve over every 8th candidate (the calibrator's coarse grid for this many bins)
      int s = (cand.length + 255) / 256;
      for (int j = s; j + s < cand.length; j += s) {
        localMinima += err[j] < err[j - s] && err[j] < err[j + s] ? 1 : 0;
      }
      assertTrue(localMinima > MseCalibrator.REFINE, type + ": coarse local minima " + localMinima); // 23 and 22
      Range want = symmetric ? Range.symmetric(cand[best]) : Range.clamped(cand[best], h.min(), h.max());
      assertEquals(want, new MseCalibrator().fromHistogram("t", h, type, symmetric), type + " over " + cand.length);
    }
  }
}
