package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;
import org.junit.jupiter.api.Test;

/** The error estimate of a bin holding one value (a constant tensor, or a narrowed end bin) by hand. */
class ErrorEstimateEdgesTest {

  @Test
  void aSingleValueIsRoundedToItsNearestLevelOrClipped() {
    // 0.3 with step 0.25: nearest level 0.25, error 0.05
    assertEquals(0.0025, ErrorEstimate.meanError(0.3, 0.3, 0.25, -1, 1), 1e-15);
    // 5 clipped to the top of [-1, 1]: error 4
    assertEquals(16.0, ErrorEstimate.meanError(5, 5, 0.25, -1, 1), 1e-12);
    assertEquals(16.0, ErrorEstimate.meanError(-5, -5, 0.25, -1, 1), 1e-12);
  }

  @Test
  void aConstantTensorsEstimateIsItsOneRoundingError() {
    // three values 0.3: one bin narrowed to [0.3, 0.3]; uint8 with scale 0.25, zero point 0
    Histogram h = Histogram.empty(16).add(new float[] {0.3f, 0.3f, 0.3f});
    ErrorEstimate e = ErrorEstimate.of(h, QuantParams.perTensor(0.25f, 0, QuantType.UINT8));
    double x = 0.3f; // the float value observed
    double err = (x - 0.25) * (x - 0.25);
    assertEquals(err, e.expectedMse(), 1e-15);
    assertEquals(10 * Math.log10(x * x / err), e.sqnrDb(), 1e-9);
  }

  @Test
  void theSignalPowerIntegratesXSquaredOverEachBin() {
    // 0.5 and 1.5 in at most 2 bins: [0.5, 1] and [1, 1.5], one value each, spread uniformly.
    // E[x^2] = ((0.25 + 0.5 + 1) / 3 + (1 + 1.5 + 2.25) / 3) / 2 = 13 / 12. With step 1 both bins round to 1:
    // E[(x - 1)^2] = 0.5^2 / 3 = 1 / 12 in each. SQNR = 10 log10(13).
    Histogram h = Histogram.empty(2).add(new float[] {0.5f, 1.5f});
    ErrorEstimate e = ErrorEstimate.of(h, QuantParams.perTensor(1f, 0, QuantType.UINT8));
    assertEquals(1.0 / 12, e.expectedMse(), 1e-15);
    assertEquals(10 * Math.log10(13), e.sqnrDb(), 1e-12);
  }
}
