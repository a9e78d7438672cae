package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fallback's target check on merged comparisons, without Spark. */
class Fp32FallbackTest {
  /** 4 rows of 2 classes; the quantized model flips row 3's class; all rows labelled with the FP32 class. */
  private static EvaluateJob.Comparisons comparisons() {
    EvaluateJob.Comparisons c = EvaluateJob.Comparisons.empty(List.of("y"));
    float[] ref = {1, 0, 1, 0, 0, 1, 0, 1};
    float[] quant = {0.9f, 0, 1, 0.1f, 0, 1, 1, 0.5f};
    c.outputs.get("y").add(ref, FloatBuffer.wrap(quant), new long[] {4, 2}, new long[] {0, 0, 1, 1});
    c.samples = 4;
    return c;
  }

  @Test
  void figuresAreTheWorstOverOutputs() {
    EvaluateJob.Comparisons c = comparisons();
    assertEquals(0.75, c.agreement());
    assertEquals(25.0, c.accuracyDropPoints(), 1e-12);
    // sum ref^2 = 4, error^2 = 0.01 + 0.01 + 1 + 0.25 = 1.27
    assertEquals(10 * Math.log10(4 / 1.27), c.sqnrDb(), 1e-5);
  }

  @Test
  void missedNamesEveryFigureBelowItsTarget() {
    EvaluateJob.Comparisons c = comparisons();
    assertNull(Fp32Fallback.missed(c, new Fp32Fallback.Target(0.75, 25.0, 4.9)));
    assertTrue(Fp32Fallback.met(c, new Fp32Fallback.Target(0.5, null, null)));
    String m = Fp32Fallback.missed(c, new Fp32Fallback.Target(0.8, 0.5, 10.0));
    assertEquals("top-1 agreement 0.7500 < 0.8000, accuracy drop 25.00 > 0.50 points, output SQNR 4.98 dB < 10.00 dB", m);
  }

  @Test
  void equalOutputsMeetAnySqnrTarget() {
    EvaluateJob.Comparisons c = EvaluateJob.Comparisons.empty(List.of("y"));
    float[] ref = {1, 0, 0, 1};
    c.outputs.get("y").add(ref, FloatBuffer.wrap(ref.clone()), new long[] {2, 2}, null);
    assertNull(c.sqnrDb(), "infinite SQNR");
    assertTrue(Fp32Fallback.met(c, new Fp32Fallback.Target(1.0, null, 300.0)));
  }
}
