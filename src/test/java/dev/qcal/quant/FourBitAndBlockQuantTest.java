package dev.qcal.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** 4-bit types, their packing, 16-bit ranges, per-tensor and blocked weight params against brute-force oracles. */
class FourBitAndBlockQuantTest {

  @Test
  void fourBitTypesHaveOnnxNumbersAndRanges() {
    assertEquals(21, QuantType.UINT4.onnxElemType());
    assertEquals(22, QuantType.INT4.onnxElemType());
    assertArrayEquals(new long[] {-8, 7}, LinearQuant.qrange(QuantType.INT4, false, false));
    assertArrayEquals(new long[] {-7, 7}, LinearQuant.qrange(QuantType.INT4, true, false));
    assertArrayEquals(new long[] {0, 15}, LinearQuant.qrange(QuantType.UINT4, true, false));
    assertArrayEquals(new long[] {-32767, 32767}, LinearQuant.qrange(QuantType.INT16, true, false));
    assertEquals(QuantType.INT4, QuantType.fromId("int4"));
    assertEquals(QuantType.UINT4, QuantType.ofOnnxElemType(21));
    assertThrows(IllegalArgumentException.class, () -> LinearQuant.qrange(QuantType.INT4, false, true));
  }

  @Test
  void symmetricInt4AndUint4Params() {
    QuantParams s = LinearQuant.forRange(-0.5f, 1.4f, QuantType.INT4, true);
    assertEquals((float) ((double) (1.4f + 1.4f) / 14.0), s.scale(0));
    assertEquals(0, s.zeroPoint(0));
    QuantParams u = LinearQuant.forRange(-1f, 1f, QuantType.UINT4, true);
    assertEquals((float) (2.0 / 15.0), u.scale(0));
    assertEquals(8, u.zeroPoint(0)); // round(7.5) half to even
    QuantParams i16 = LinearQuant.forRange(-3f, 2f, QuantType.INT16, true);
    assertEquals((float) (6.0 / 65534.0), i16.scale(0));
    assertEquals(32767, LinearQuant.quantize(3f, i16, 0));
    assertEquals(-32767, LinearQuant.quantize(-3f, i16, 0));
  }

  @Test
  void packingIsLowNibbleFirstAndRoundTrips() {
    long[] v = {-8, 7, -1, 0, 3};
    byte[] packed = QuantType.INT4.pack4(v);
    assertEquals(3, packed.length);
    assertEquals((byte) 0x78, packed[0]); // -8 = 0x8 low, 7 high
    assertEquals((byte) 0x0F, packed[1]); // -1 = 0xF low, 0 high
    assertEquals((byte) 0x03, packed[2]); // odd count: high nibble 0
    assertArrayEquals(v, QuantType.INT4.unpack4(packed, v.length));
    Random r = new Random(5);
    for (QuantType t : new QuantType[] {QuantType.INT4, QuantType.UINT4}) {
      for (int n = 0; n < 40; n++) {
        long[] values = new long[n];
        for (int i = 0; i < n; i++) {
          values[i] = t.qmin() + r.nextInt(16);
        }
        assertArrayEquals(values, t.unpack4(t.pack4(values), n), t + " n=" + n);
      }
    }
    assertEquals((byte) 0xF0, QuantType.UINT4.pack4(new long[] {0, 15})[0]);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantType.INT4.pack4(new long[] {8}));
    assertEquals("value 8 at index 0 is outside the int4 range", e.getMessage());
  }

  @Test
  void perTensorWeightParamsUseTheWholeAbsMax() {
    float[] w = {0.1f, -0.9f, 0.3f, 0.45f};
    QuantParams p = LinearQuant.weightParamsPerTensor(w, QuantType.INT8);
    assertEquals(null, p.axis());
    assertEquals((float) ((double) (0.9f + 0.9f) / 254.0), p.scale(0));
  }

  /** K = 40 rows, N = 3 columns, blocks of 16 along K (axis 0): 3 blocks per column, the last of 8 rows. */
  @Test
  void blockParamsMatchEachBlocksOwnAbsMax() {
    int k = 40;
    int n = 3;
    int b = 16;
    long[] shape = {k, n};
    float[] w = new float[k * n];
    Random r = new Random(9);
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) r.nextGaussian() * (1 + i % 3);
    }
    for (QuantType t : new QuantType[] {QuantType.INT4, QuantType.UINT4, QuantType.INT8}) {
      QuantParams p = LinearQuant.blockWeightParams(w, shape, 0, b, t);
      assertArrayEquals(new long[] {3, 3}, LinearQuant.blockParamDims(shape, 0, b));
      assertEquals(9, p.channels());
      assertEquals(b, p.blockSize());
      assertEquals(0, p.axis());
      long[] q = LinearQuant.quantizeAll(w, shape, p);
      long qmax = t.qmax();
      for (int blk = 0; blk < 3; blk++) {
        for (int col = 0; col < n; col++) {
          // oracle: the block's own values, scanned directly
          float absmax = 0;
          for (int row = blk * b; row < Math.min(k, (blk + 1) * b); row++) {
            absmax = Math.max(absmax, Math.abs(w[row * n + col]));
          }
          QuantParams oracle = LinearQuant.forRange(-absmax, absmax, t, true);
          int idx = blk * n + col;
          assertEquals(oracle.scale(0), p.scale(idx), t + " block " + blk + " col " + col);
          assertEquals(oracle.zeroPoint(0), p.zeroPoint(idx));
          for (int row = blk * b; row < Math.min(k, (blk + 1) * b); row++) {
            long expected = LinearQuant.quantize(w[row * n + col], oracle.scale(0), oracle.zeroPoint(0), t.qmin(), qmax);
            assertEquals(expected, q[row * n + col], "row " + row + " col " + col);
            // each value within half a step of its dequantized value (nothing clipped: absmax is in range)
            float back = LinearQuant.dequantize(q[row * n + col], p.scale(idx), p.zeroPoint(idx));
            assertTrue(Math.abs(back - w[row * n + col]) <= p.scale(idx) * 0.5f + 1e-6f);
          }
        }
      }
      if (t == QuantType.INT4) {
        long min = Long.MAX_VALUE;
        for (long v : q) {
          min = Math.min(min, v);
        }
        assertTrue(min >= -7, "symmetric int4 never uses -8, got " + min);
      }
    }
  }

  @Test
  void blocksAlongTheLastAxisOfATransposedWeight() {
    // Gemm transB: weight [N, K] = [2, 20], blocks of 16 along K (axis 1): params [2, 2]
    float[] w = new float[40];
    for (int i = 0; i < w.length; i++) {
      w[i] = i % 20 < 16 ? 0.01f * i : -10f * (i / 20 + 1);
    }
    QuantParams p = LinearQuant.blockWeightParams(w, new long[] {2, 20}, 1, 16, QuantType.INT4);
    assertArrayEquals(new long[] {2, 2}, LinearQuant.blockParamDims(new long[] {2, 20}, 1, 16));
    float max0 = 0.01f * 15;
    assertEquals((float) ((double) (max0 + max0) / 14.0), p.scale(0)); // row 0, block 0: max 0.01*15
    assertEquals((float) (20.0 / 14.0), p.scale(1)); // row 0, block 1: |-10|
    assertEquals((float) (40.0 / 14.0), p.scale(3)); // row 1, block 1: |-20|
    int[] idx = LinearQuant.paramIndices(new long[] {2, 20}, p);
    assertEquals(0, idx[15]);
    assertEquals(1, idx[16]);
    assertEquals(2, idx[20]);
    assertEquals(3, idx[39]);
  }

  @Test
  void weightSpecChecksBlockSizeAndType() {
    assertThrows(IllegalArgumentException.class, () -> new WeightSpec(QuantType.INT4, true, 24));
    assertThrows(IllegalArgumentException.class, () -> new WeightSpec(QuantType.INT4, true, 8));
    assertThrows(IllegalArgumentException.class, () -> new WeightSpec(QuantType.INT16, true, 0));
    assertTrue(new WeightSpec(QuantType.INT8, true, 32).needsOpset21());
    assertTrue(new WeightSpec(QuantType.UINT4, false, 0).needsOpset21());
    assertTrue(!WeightSpec.defaults().needsOpset21());
  }
}
