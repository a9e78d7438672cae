package dev.qcal.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The edges of the scheme maths: smallest scales, subnormal powers of two, axes at the rank, bias underflow. */
class LinearQuantEdgesTest {

  @Test
  void theSmallestNormalScaleIsKeptAndASmallerOneFallsBackToOne() {
    // [0, 255 * 2^-126] in uint8: S = 2^-126 exactly (Float.MIN_NORMAL), Z = 0
    QuantParams p = LinearQuant.forRange(0f, 255 * Float.MIN_NORMAL, QuantType.UINT8, false);
    assertEquals(Float.MIN_NORMAL, p.scale(0));
    assertEquals(0, p.zeroPoint(0));
    // half of that range: S = 2^-127 is below the smallest normal: scale 1, zero point 0
    QuantParams q = LinearQuant.forRange(0f, 255 * Float.MIN_NORMAL / 2, QuantType.UINT8, false);
    assertEquals(1f, q.scale(0));
  }

  @Test
  void powerOfTwoCeilOfSubnormalsIsTheNextPowerOfTwoOrItself() {
    float fourTiny = Float.MIN_VALUE * 4; // 2^-147, a subnormal power of two
    assertEquals(fourTiny, LinearQuant.powerOfTwoCeil(fourTiny));
    assertEquals(fourTiny, LinearQuant.powerOfTwoCeil(Float.MIN_VALUE * 3));
    assertEquals(Float.MIN_VALUE, LinearQuant.powerOfTwoCeil(Float.MIN_VALUE));
    assertEquals(Float.MIN_NORMAL, LinearQuant.powerOfTwoCeil(Float.MIN_NORMAL));
    assertEquals(2 * Float.MIN_NORMAL, LinearQuant.powerOfTwoCeil(Float.MIN_NORMAL * 1.5f));
  }

  @Test
  void blockParameterDimsOnEachAxisAndTheAxisAtTheRankIsRefused() {
    assertArrayEquals(new long[] {3, 3}, LinearQuant.blockParamDims(new long[] {5, 3}, 0, 2));
    assertArrayEquals(new long[] {5, 2}, LinearQuant.blockParamDims(new long[] {5, 3}, 1, 2));
    assertArrayEquals(new long[] {5, 3}, LinearQuant.blockParamDims(new long[] {5, 3}, 1, 1));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LinearQuant.blockParamDims(new long[] {5, 3}, 2, 2));
    assertEquals("axis 2 out of range for rank 2", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> LinearQuant.blockParamDims(new long[] {5, 3}, -1, 2));
    assertThrows(IllegalArgumentException.class, () -> LinearQuant.blockParamDims(new long[] {5, 3}, 0, 0));
  }

  @Test
  void perChannelWeightsOnTheFirstAxisAndAnAxisAtTheRankIsRefused() {
    // [[1, -2], [0.5, 4]] per row (axis 0), int8 symmetric: scales 2/127 and 4/127
    QuantParams p = LinearQuant.weightParams(new float[] {1, -2, 0.5f, 4}, new long[] {2, 2}, 0, QuantType.INT8);
    assertEquals(2f / 127, p.scale(0), 1e-9);
    assertEquals(4f / 127, p.scale(1), 1e-9);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LinearQuant.weightParams(new float[] {1, 2, 3, 4}, new long[] {2, 2}, 2, QuantType.INT8));
    assertEquals("axis 2 out of range for rank 2", e.getMessage());
  }

  @Test
  void aBiasScaleThatUnderflowsToZeroIsRefused() {
    QuantParams w = QuantParams.perTensor(1e-30f, 0, QuantType.INT8);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LinearQuant.biasParams(1e-30f, w));
    assertTrue(e.getMessage().startsWith("bias scale underflows to 0"), e.getMessage());
    // the smallest positive product is kept: 2^-75 * 2^-74 = 2^-149
    QuantParams b = LinearQuant.biasParams(Math.scalb(1f, -75), QuantParams.perTensor(Math.scalb(1f, -74), 0,
        QuantType.INT8));
    assertEquals(Float.MIN_VALUE, b.scale(0));
  }
}
