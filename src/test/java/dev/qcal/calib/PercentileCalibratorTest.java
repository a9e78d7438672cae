package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.calib.CalibTestData.Dist;
import dev.qcal.calib.CalibTestData.Sample;
import dev.qcal.quant.QuantType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Percentile ranges against the sorted-array percentile of the raw samples. */
class PercentileCalibratorTest {

  @ParameterizedTest
  @EnumSource(Dist.class)
  void symmetricMatchesSortedAbsPercentileWithinOneBin(Dist d) {
    Sample s = CalibTestData.sample(d);
    double w = s.binWidth();
    for (double p : new double[] {99.999, 99.99, 99.9, 99, 90}) {
      Range r = new PercentileCalibrator(p).range(d.name(), s.stats, QuantType.INT8, true);
      double t = CalibTestData.invertedCdf(s.sortedAbs, p / 100);
      float lo = s.stats.min();
      float hi = s.stats.max();
      String msg = d + " p=" + p + " |x| threshold " + t + ", bin width " + w + ", got " + r;
      assertEquals(Math.min(hi, t), r.max(), w, msg);
      assertEquals(Math.max(lo, -t), r.min(), w, msg);
    }
  }

  @ParameterizedTest
  @EnumSource(Dist.class)
  void asymmetricCutsBothTailsWithinOneBin(Dist d) {
    Sample s = CalibTestData.sample(d);
    double w = s.binWidth();
    for (double p : new double[] {99.999, 99.99, 99.9, 99, 90}) {
      Range r = new PercentileCalibrator(p).range(d.name(), s.stats, QuantType.UINT8, false);
      double cut = (100 - p) / 200;
      double lo = CalibTestData.invertedCdf(s.sorted, cut);
      double hi = CalibTestData.invertedCdf(s.sorted, 1 - cut);
      String msg = d + " p=" + p + " oracle [" + lo + ", " + hi + "], bin width " + w + ", got " + r;
      assertEquals(lo, r.min(), w, msg);
      assertEquals(hi, r.max(), w, msg);
      assertTrue(r.min() >= s.stats.min() && r.max() <= s.stats.max(), msg);
    }
  }

  @ParameterizedTest
  @EnumSource(Dist.class)
  void hundredPercentIsMinMax(Dist d) {
    Sample s = CalibTestData.sample(d);
    Range minmax = new MinMaxCalibrator().range(d.name(), s.stats, QuantType.UINT8, false);
    assertEquals(minmax, new PercentileCalibrator(100).range(d.name(), s.stats, QuantType.UINT8, false));
    assertEquals(minmax, new PercentileCalibrator(100).range(d.name(), s.stats, QuantType.INT8, true));
  }

  @ParameterizedTest
  @ValueSource(doubles = {0, -1, 100.0001, Double.NaN, Double.POSITIVE_INFINITY})
  void percentileOutsideZeroToHundredIsRejected(double p) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PercentileCalibrator(p));
    assertTrue(e.getMessage().contains("--percentile must be in (0, 100]"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Calibrators.of("percentile", p));
  }

  @ParameterizedTest
  @EnumSource(value = Dist.class, names = {"UNIFORM", "RELU"})
  void symmetricClampsToTheObservedRangeWhereAsymmetricCutsEachTail(Dist d) {
    Sample s = CalibTestData.sample(d);
    Range sym = new PercentileCalibrator(99).range(d.name(), s.stats, QuantType.INT8, true);
    Range asym = new PercentileCalibrator(99).range(d.name(), s.stats, QuantType.INT8, false);
    // the short side (|min| < t) keeps the observed min when symmetric, is cut by 0.5 % otherwise
    assertEquals(s.stats.min(), sym.min(), d + ": " + sym);
    assertTrue(asym.min() > s.stats.min(), d + ": " + asym);
    // the long side: 1 % of |x| cut when symmetric, 0.5 % of x when asymmetric
    assertTrue(sym.max() < asym.max(), sym + " vs " + asym);
  }
}
