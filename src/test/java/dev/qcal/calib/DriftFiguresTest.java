package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The drift figures of tiny histograms by hand: clipped fraction, SQNR of given parameters, JS, thresholds. */
class DriftFiguresTest {
  /** One value in each of [0,1), [1,2), [2,3), [3,4); the end bins narrowed to [0.5, 1) and [3, 3.5]. */
  private static final Histogram QUARTERS = Histogram.empty(4).add(new float[] {0.5f, 1.5f, 2.5f, 3.5f});

  @Test
  void binsOutsideCountWholeAndAnEndInsideABinCountsItsShare() {
    // [1, 3]: [0.5, 1) lies below 1 (its upper edge is excluded), [3, 3.5] straddles 3: 3.5 - 3 of its 0.5
    ClippedFraction c = ClippedFraction.of(QUARTERS, 1, 3);
    assertEquals(0.5, c.fraction(), 1e-15);
    assertEquals(0.25, c.lowerBound(), 1e-15);
    assertEquals(0.5, c.upperBound(), 1e-15);
    // [0.75, 3.25]: half of [0.5, 1) and half of [3, 3.5] lie outside
    ClippedFraction d = ClippedFraction.of(QUARTERS, 0.75, 3.25);
    assertEquals(0.25, d.fraction(), 1e-15);
    assertEquals(0.0, d.lowerBound());
    assertEquals(0.5, d.upperBound(), 1e-15);
    assertEquals(0.0, ClippedFraction.of(QUARTERS, -10, 10).upperBound());
    assertEquals(0.0, ClippedFraction.of(QUARTERS, 0.5, 3.5).upperBound(), "the exact min and max are inside");
    assertEquals(1.0, ClippedFraction.of(QUARTERS, 4, 5).lowerBound());
    assertEquals(1.0, ClippedFraction.of(QUARTERS, -2, 0.25).lowerBound());
  }

  @Test
  void theLastBinHoldsTheMaxItself() {
    // 0.5 and 1.0 in bins of 0.5: [0.5, 1.0) and the last narrowed to the point [1.0, 1.0]
    Histogram h = Histogram.empty(2).add(new float[] {0.5f, 1.0f});
    ClippedFraction c = ClippedFraction.of(h, 1.0, 2.0);
    assertEquals(0.5, c.fraction(), 1e-15, "0.5 is clipped, 1.0 is not");
    assertEquals(0.5, c.lowerBound(), 1e-15);
    assertEquals(0.5, c.upperBound(), 1e-15);
  }

  @Test
  void sqnrOfDeployedAndFreshParametersByHand() {
    // values 0 and 1: bins [0, 1) (uniform, E[x^2] = 1/3) and the point 1; E[x^2] = (1/3 + 1) / 2 = 2/3
    Histogram current = Histogram.empty(2).add(new float[] {0f, 1f});
    double s = 1.0 / 256;
    // deployed: uint8, scale 2^-8, zero point 0: levels 0 .. 255 s = 1 - s. Over [0, 1 - s] rounding error,
    // half steps at both ends and 254 whole ones: 255 s^3 / 12; over (1 - s, 1) clipping: s^3 / 3; the point 1
    // is clipped to 1 - s: error s^2. MSE = ((255 / 12 + 1 / 3) s^3 + s^2) / 2
    QuantParams deployed = QuantParams.perTensor((float) s, 0, QuantType.UINT8);
    double mseDeployed = ((255.0 / 12 + 1.0 / 3) * s * s * s + s * s) / 2;
    // fresh: scale 2^-7: 1 is the level 128; [0, 1] is 128 whole steps' worth, s'^2 / 12 on average; the point exact
    double t = 1.0 / 128;
    QuantParams fresh = QuantParams.perTensor((float) t, 0, QuantType.UINT8);
    double mseFresh = t * t / 12 / 2;
    double sqnrDeployed = 10 * Math.log10((2.0 / 3) / mseDeployed);
    double sqnrFresh = 10 * Math.log10((2.0 / 3) / mseFresh);
    DriftFigures f = DriftFigures.of(current, current, new Range(0f, (float) (1 - s)), deployed, fresh);
    assertEquals(sqnrDeployed, f.sqnrDeployedDb(), 1e-9);
    assertEquals(sqnrFresh, f.sqnrFreshDb(), 1e-9);
    assertEquals(10 * Math.log10(mseDeployed / mseFresh), f.sqnrLossDb(), 1e-9);
    assertEquals(5.1227, f.sqnrLossDb(), 1e-4);
    // clipped by [0, 1 - s]: s of the bin [0, 1) (partial) and the point 1 (whole)
    assertEquals((s + 1) / 2, f.clipped().fraction(), 1e-15);
    assertEquals(0.5, f.clipped().lowerBound(), 1e-15);
    assertEquals(1.0, f.clipped().upperBound(), 1e-15);
    assertEquals(0.0, f.jsDivergence(), 1e-15, "the same histogram");
    assertEquals(2, f.jsBins());
    assertEquals(1.0, f.jsBinWidth(), "[0, 1) and [1, 2)");

    DriftFigures.Thresholds th = new DriftFigures.Thresholds(0.5, 0.1, 5.0);
    assertEquals(List.of("clip", "sqnr_loss"), f.past(th));
    assertEquals(10 * Math.log10(mseDeployed / mseFresh) / 5.0, f.severity(th), 1e-9);
    DriftFigures.Thresholds loose = new DriftFigures.Thresholds(0.6, 0.1, 6.0);
    assertEquals(List.of(), f.past(loose));
    // the larger ratio: 5.12 / 6 against 0.502 / 0.6
    assertEquals(10 * Math.log10(mseDeployed / mseFresh) / 6.0, f.severity(loose), 1e-9, "below 1 when none is past");
  }

  @Test
  void exactDeployedParametersLoseNothing() {
    // the constant 1 (one bin narrowed to the point 1) is exact with scale 1; with scale 1/3 (a float) not quite
    Histogram current = Histogram.empty(2).add(new float[] {1f, 1f, 1f});
    DriftFigures f = DriftFigures.of(current, null, new Range(0f, 1f),
        QuantParams.perTensor(1f, 0, QuantType.UINT8), QuantParams.perTensor(1f / 3, 0, QuantType.UINT8));
    assertEquals(Double.POSITIVE_INFINITY, f.sqnrDeployedDb());
    assertEquals(true, Double.isFinite(f.sqnrFreshDb()));
    assertEquals(0.0, f.sqnrLossDb(), "the deployed parameters are exact: nothing to gain");
    assertNull(f.jsDivergence(), "no baseline histogram");
    assertNull(f.jsBins());
    assertNull(f.jsBinWidth());
  }

  @Test
  void theGridForTheDivergenceHasAboutAHundredValuesABin() {
    assertEquals(2, DriftFigures.jsBins(100, 1_000_000));
    assertEquals(10, DriftFigures.jsBins(5000, 1000));
    assertEquals(64, DriftFigures.jsBins(6400, 7000));
    assertEquals(64, DriftFigures.jsBins(1L << 40, 1L << 41));
    // 2 bins for 150 values each: [0, 1) and [1, 2) split 100/50 against 50/100
    float[] a = new float[150];
    float[] b = new float[150];
    for (int i = 0; i < 150; i++) {
      a[i] = i < 100 ? 0.25f : 1.25f;
      b[i] = i < 50 ? 0.25f : 1.25f;
    }
    a[0] = 0f;
    b[149] = 1.99f;
    Histogram ha = Histogram.empty(4096).add(a);
    Histogram hb = Histogram.empty(4096).add(b);
    DriftFigures f = DriftFigures.of(hb, ha, new Range(0f, 2f), QuantParams.perTensor(2f / 255, 0, QuantType.UINT8),
        QuantParams.perTensor(2f / 255, 0, QuantType.UINT8));
    assertEquals(2, f.jsBins());
    assertEquals(1.0, f.jsBinWidth());
    // p = (2/3, 1/3), q = (1/3, 2/3), m = (1/2, 1/2): JS = 2/3 log2(4/3) + 1/3 log2(2/3)
    double log2 = Math.log(2);
    assertEquals(2.0 / 3 * Math.log(4.0 / 3) / log2 + 1.0 / 3 * Math.log(2.0 / 3) / log2, f.jsDivergence(), 1e-15);
  }

  @Test
  void thresholdsMustBePositive() {
    assertThrows(IllegalArgumentException.class, () -> new DriftFigures.Thresholds(0, 0.1, 1));
    assertThrows(IllegalArgumentException.class, () -> new DriftFigures.Thresholds(0.1, 1.5, 1));
    assertThrows(IllegalArgumentException.class, () -> new DriftFigures.Thresholds(0.1, 0.1, -1));
  }
}
