package dev.qcal.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Pins the scheme maths to ONNX Runtime's compute_scale_zp / quantize_data rules. */
class LinearQuantTest {

  @Test
  void asymmetricUint8CentredRange() {
    QuantParams p = LinearQuant.forRange(-1f, 1f, QuantType.UINT8, false);
    assertEquals((float) (2.0 / 255.0), p.scale(0));
    // -rmin / S = 127.5 exactly: numpy.round rounds half to even, 128
    assertEquals(128, p.zeroPoint(0));
    assertEquals(null, p.axis());
  }

  @Test
  void rangeIsWidenedToIncludeZero() {
    QuantParams positive = LinearQuant.forRange(0.5f, 2f, QuantType.UINT8, false);
    assertEquals((float) (2.0 / 255.0), positive.scale(0));
    assertEquals(0, positive.zeroPoint(0));
    QuantParams negative = LinearQuant.forRange(-3f, -1f, QuantType.UINT8, false);
    assertEquals((float) (3.0 / 255.0), negative.scale(0));
    assertEquals(255, negative.zeroPoint(0));
  }

  @Test
  void asymmetricInt8ZeroPointRoundsHalfToEven() {
    QuantParams p = LinearQuant.forRange(-1f, 1f, QuantType.INT8, false);
    // -128 + 127.5 = -0.5 rounds to 0 (even), not -1
    assertEquals(0, p.zeroPoint(0));
  }

  @Test
  void symmetricInt8UsesRestrictedRange() {
    QuantParams p = LinearQuant.forRange(-0.5f, 2.54f, QuantType.INT8, true);
    assertEquals((float) ((double) (2.54f + 2.54f) / 254.0), p.scale(0));
    assertEquals(0, p.zeroPoint(0));
    assertArrayEquals(new long[] {-127, 127}, LinearQuant.qrange(QuantType.INT8, true, false));
    assertArrayEquals(new long[] {0, 127}, LinearQuant.qrange(QuantType.UINT8, false, true));
  }

  @Test
  void symmetricUint8ZeroPointIsMidRange() {
    QuantParams p = LinearQuant.forRange(-1f, 1f, QuantType.UINT8, true);
    assertEquals(128, p.zeroPoint(0)); // round(127.5) half to even
  }

  @Test
  void degenerateConstantZeroTensor() {
    QuantParams p = LinearQuant.forRange(0f, 0f, QuantType.UINT8, false);
    assertEquals(1f, p.scale(0));
    assertEquals(0, p.zeroPoint(0));
    // a constant non-zero tensor is fine: zero is added to its range
    QuantParams c = LinearQuant.forRange(3f, 3f, QuantType.UINT8, false);
    assertEquals((float) (3.0 / 255.0), c.scale(0));
    assertEquals(0, c.zeroPoint(0));
    assertEquals(255, LinearQuant.quantize(3f, c, 0));
  }

  @Test
  void quantizeRoundsHalfToEvenAndClamps() {
    assertEquals(2, LinearQuant.quantize(2.5f, 1f, 0, -128, 127));
    assertEquals(4, LinearQuant.quantize(3.5f, 1f, 0, -128, 127));
    assertEquals(-2, LinearQuant.quantize(-2.5f, 1f, 0, -128, 127));
    assertEquals(127, LinearQuant.quantize(1000f, 1f, 0, -128, 127));
    assertEquals(-128, LinearQuant.quantize(-1000f, 1f, 0, -128, 127));
    assertEquals(0, LinearQuant.quantize(-5f, 0.1f, 10, 0, 255));
    assertEquals(13, LinearQuant.quantize(0.3f, 0.1f, 10, 0, 255));
  }

  @Test
  void dequantizeInvertsWithinHalfAStep() {
    QuantParams p = LinearQuant.forRange(-1.7f, 4.2f, QuantType.UINT8, false);
    float s = p.scale(0);
    for (float x = -1.7f; x <= 4.2f; x += 0.013f) {
      long q = LinearQuant.quantize(x, p, 0);
      float back = LinearQuant.dequantize(q, s, p.zeroPoint(0));
      assertTrue(Math.abs(back - x) <= s / 2 + 1e-6f, x + " -> " + q + " -> " + back);
    }
    // zero is exactly representable
    assertEquals(0f, LinearQuant.dequantize(LinearQuant.quantize(0f, p, 0), s, p.zeroPoint(0)));
  }

  @Test
  void perChannelSymmetricWeights() {
    float[] w = {1f, -2f, 0.5f, 0.1f};
    long[] shape = {2, 1, 1, 2};
    QuantParams p = LinearQuant.weightParams(w, shape, 0, QuantType.INT8);
    assertEquals(0, p.axis());
    assertEquals((float) (4.0 / 254.0), p.scale(0));
    assertEquals((float) (1.0 / 254.0), p.scale(1));
    assertArrayEquals(new long[] {0, 0}, p.zeroPoint());
    long[] q = LinearQuant.quantizeAll(w, shape, p);
    assertEquals(-127, q[1]);
    assertEquals(127, q[2]);
    assertEquals(Math.round(0.1 * 254), q[3]);
  }

  @Test
  void perChannelAlongLastAxis() {
    // MatMul weights [K=2, N=3] per output column (axis 1)
    float[] w = {1f, 2f, 3f, -1f, -4f, 6f};
    QuantParams p = LinearQuant.weightParams(w, new long[] {2, 3}, 1, QuantType.INT8);
    assertEquals(3, p.channels());
    assertEquals((float) (2.0 / 254.0), p.scale(0));
    assertEquals((float) (8.0 / 254.0), p.scale(1));
    assertEquals((float) (12.0 / 254.0), p.scale(2));
  }

  @Test
  void biasIsInt32WithProductScale() {
    QuantParams w = new QuantParams(new float[] {0.1f, 0.2f}, new long[] {0, 0}, QuantType.INT8, 0);
    QuantParams b = LinearQuant.biasParams(0.5f, w);
    assertEquals(QuantType.INT32, b.type());
    assertEquals(0.5f * 0.1f, b.scale(0));
    assertEquals(0.5f * 0.2f, b.scale(1));
    assertArrayEquals(new int[] {20, -10}, LinearQuant.quantizeBias(new float[] {1f, -1f}, b));
  }

  @Test
  void rejectsBadRanges() {
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> LinearQuant.forRange(1f, -1f, QuantType.UINT8, false)).getMessage().contains("empty range"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> LinearQuant.forRange(Float.NaN, 1f, QuantType.UINT8, false)).getMessage().contains("finite"));
    assertThrows(IllegalArgumentException.class,
        () -> LinearQuant.weightParams(new float[3], new long[] {2, 2}, 0, QuantType.INT8));
  }

  @Test
  void paramsValidateThemselves() {
    assertThrows(IllegalArgumentException.class, () -> QuantParams.perTensor(0f, 0, QuantType.UINT8));
    assertThrows(IllegalArgumentException.class, () -> QuantParams.perTensor(1f, 256, QuantType.UINT8));
    assertEquals(QuantType.INT8, QuantType.fromId("INT8"));
    assertThrows(IllegalArgumentException.class, () -> QuantType.fromId("int3"));
  }

  @Test
  void powerOfTwoCeilRoundsUp() {
    assertEquals(1f, LinearQuant.powerOfTwoCeil(1f));
    assertEquals(0.125f, LinearQuant.powerOfTwoCeil(0.1f));
    assertEquals(0.0625f, LinearQuant.powerOfTwoCeil(0.0625f));
    assertEquals(4f, LinearQuant.powerOfTwoCeil(2.0001f));
    assertEquals(Float.MIN_VALUE * 4, LinearQuant.powerOfTwoCeil(Float.MIN_VALUE * 3));
    assertThrows(IllegalArgumentException.class, () -> LinearQuant.powerOfTwoCeil(0f));
  }

  @Test
  void powerOfTwoScaleSymmetricKeepsTheZeroPoint() {
    // 1.0 / 127 = 0.00787 -> 2^-7 = 0.0078125 is smaller, so 2^-6
    QuantParams p = LinearQuant.forRange(-1f, 1f, QuantType.INT8, true, false, true);
    assertEquals(0.015625f, p.scale(0));
    assertEquals(0, p.zeroPoint(0));
    QuantParams u = LinearQuant.forRange(-1f, 1f, QuantType.UINT8, true, false, true);
    assertEquals(128, u.zeroPoint(0));
  }

  @Test
  void powerOfTwoScaleAsymmetricRecomputesTheZeroPoint() {
    // [-1, 3]: S = 4 / 255 = 0.01569 -> 2^-5; Z = round(0 + 1 / 2^-5) = 32
    QuantParams p = LinearQuant.forRange(-1f, 3f, QuantType.UINT8, false, false, true);
    assertEquals(0.03125f, p.scale(0));
    assertEquals(32, p.zeroPoint(0));
    // the whole range stays representable: nothing new is clipped
    assertEquals(-1f, LinearQuant.dequantize(LinearQuant.quantize(-1f, p, 0), p.scale(0), p.zeroPoint(0)));
    assertEquals(3f, LinearQuant.dequantize(LinearQuant.quantize(3f, p, 0), p.scale(0), p.zeroPoint(0)));
    // an exact power of two is kept, and the default is unchanged
    QuantParams exact = LinearQuant.forRange(0f, 255f * 0.25f, QuantType.UINT8, false, false, true);
    assertEquals(0.25f, exact.scale(0));
    assertEquals(LinearQuant.forRange(-1f, 3f, QuantType.UINT8, false), LinearQuant.forRange(-1f, 3f, QuantType.UINT8,
        false, false, false));
    QuantParams pc = LinearQuant.forRanges(new float[] {-1f, -0.1f}, new float[] {1f, 0.1f}, QuantType.INT8, true, 0,
        true);
    assertEquals(0.015625f, pc.scale(0));
    assertEquals(0.0009765625f, pc.scale(1)); // 0.1 / 127 = 0.000787 -> 2^-10
  }
}
