package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.calib.CalibTestData.Dist;
import dev.qcal.calib.CalibTestData.Sample;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.TensorStats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The histogram error estimate against the brute-force error on the raw samples. */
class ErrorEstimateTest {

  @ParameterizedTest
  @EnumSource(Dist.class)
  void matchesBruteForceMseAndSqnr(Dist d) {
    Sample s = CalibTestData.sample(d);
    double meanSq = 0;
    for (float v : s.x) {
      meanSq += (double) v * v;
    }
    meanSq /= s.x.length;
    double tol = 0.03;
    for (String method : new String[] {"minmax", "percentile", "mse"}) {
      for (QuantType type : new QuantType[] {QuantType.INT8, QuantType.UINT8, QuantType.INT16}) {
        boolean sym = type != QuantType.UINT8;
        Range r = Calibrators.of(method, 99.99).range(d.name(), s.stats, type, sym);
        QuantParams p = LinearQuant.forRange(r.min(), r.max(), type, sym);
        double raw = CalibTestData.directMse(s.x, p);
        double sqnr = 10 * Math.log10(meanSq / raw);
        ErrorEstimate e = ErrorEstimate.of(d.name(), s.stats, p);
        String msg = d + " " + method + " " + type + ": raw MSE " + raw + " SQNR " + sqnr + " dB, estimate " + e;
        if (d == Dist.RELU) {
          // half the values are exactly 0: the uniform in-bin density spreads that point mass over the
          // first bin and charges it rounding error it does not have (up to +5 % at 8 bits, +100 % at 16
          // bits, where a bin spans many steps): an overestimate
          assertTrue(e.expectedMse() >= raw * (1 - tol) && e.expectedMse() <= 2.1 * raw, msg);
          continue;
        }
        assertEquals(raw, e.expectedMse(), raw * tol, msg);
        assertEquals(sqnr, e.sqnrDb(), 10 * Math.log10(1 + tol) + 0.01, msg);
      }
    }
  }

  @Test
  void exactlyRepresentableValuesHaveNoError() {
    TensorStats s = TensorStats.empty("zeros", StatsConfig.defaults()).add(new float[] {0f, 0f, 0f});
    ErrorEstimate e = ErrorEstimate.of("zeros", s, LinearQuant.forRange(0f, 0f, QuantType.UINT8, false));
    assertEquals(0.0, e.expectedMse());
    assertEquals(Double.POSITIVE_INFINITY, e.sqnrDb());
    TensorStats c = TensorStats.empty("c", StatsConfig.defaults()).add(new float[] {3f, 3f});
    ErrorEstimate ec = ErrorEstimate.of("c", c, LinearQuant.forRange(3f, 3f, QuantType.UINT8, false));
    assertEquals(0.0, ec.expectedMse(), 1e-12); // 3 = 255 * (3 / 255) up to float rounding
  }

  @Test
  void namesTheTensorWithoutFiniteValuesOrHistogram() {
    TensorStats nan = TensorStats.empty("act/nan", StatsConfig.defaults()).add(new float[] {Float.NaN});
    QuantParams p = QuantParams.perTensor(1f, 0, QuantType.UINT8);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ErrorEstimate.of("act/nan", nan, p))
        .getMessage().contains("'act/nan'"));
    TensorStats noHist = TensorStats.empty("act/nohist", new StatsConfig(0, 0, java.util.Map.of()))
        .add(new float[] {1f});
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ErrorEstimate.of("act/nohist", noHist, p))
        .getMessage().contains("'act/nohist'"));
  }

  @Test
  void integratesRoundingErrorOverWideBins() {
    // a bin spanning many quantization steps: mean rounding error S^2 / 12
    double s = 0.01;
    assertEquals(s * s / 12, ErrorEstimate.meanError(-1, 1, s, -100, 100), 1e-12);
    // pure clipping: x uniform on [2, 3] clipped at 1: E[(x - 1)^2] = (2^3 - 1) / 3
    assertEquals(7.0 / 3, ErrorEstimate.meanError(2, 3, 1, -1, 1), 1e-12);
  }
}
