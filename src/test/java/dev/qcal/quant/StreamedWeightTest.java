package dev.qcal.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Chunked weight quantization equals {@link LinearQuant#weightParams} and {@link LinearQuant#quantizeAll} on the whole tensor. */
class StreamedWeightTest {

  private static float[] weights(int n, long seed) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextGaussian() * (1 + i % 5));
    }
    return a;
  }

  @Test
  void anyChunkingGivesTheWholeTensorsParamsAndValues() {
    long[] shape = {7, 13, 3};
    float[] data = weights(7 * 13 * 3, 11);
    for (QuantType type : new QuantType[] {QuantType.INT8, QuantType.UINT8, QuantType.INT16}) {
      for (int axis = 0; axis < shape.length; axis++) {
        QuantParams want = LinearQuant.weightParams(data, shape, axis, type);
        long[] wantQ = LinearQuant.quantizeAll(data, shape, want);
        for (int chunk : new int[] {1, 5, 39, 64, data.length}) {
          StreamedWeight sw = new StreamedWeight(shape, axis);
          for (int first = 0; first < data.length; first += chunk) {
            sw.observe(first, FloatBuffer.wrap(data, first, Math.min(chunk, data.length - first)).slice());
          }
          QuantParams got = sw.params(type);
          assertEquals(want, got, type + " axis " + axis + " chunk " + chunk);
          int width = StreamedWeight.width(type);
          ByteBuffer out = ByteBuffer.allocate(data.length * width).order(ByteOrder.LITTLE_ENDIAN);
          for (int first = 0; first < data.length; first += chunk) {
            sw.quantize(first, FloatBuffer.wrap(data, first, Math.min(chunk, data.length - first)).slice(), got, out);
          }
          out.flip();
          long[] q = new long[data.length];
          for (int i = 0; i < q.length; i++) {
            q[i] = width == 1 ? (type.signed() ? out.get() : out.get() & 0xFF) : out.getShort();
          }
          assertArrayEquals(wantQ, q, type + " axis " + axis + " chunk " + chunk);
        }
      }
    }
  }

  /** A weight several nodes read may be written twice, with other params (raised for a bias) the second time. */
  @Test
  void afterFinishTheValuesCanBeWrittenAgainWithOtherParams() {
    long[] shape = {4, 3};
    float[] data = weights(12, 3);
    StreamedWeight sw = new StreamedWeight(shape, 0);
    sw.observe(0, FloatBuffer.wrap(data));
    QuantParams p = sw.params(QuantType.INT4);
    float[] raised = p.scale();
    raised[1] *= 4;
    QuantParams widened = new QuantParams(raised, p.zeroPoint(), QuantType.INT4, 0);
    for (QuantParams params : new QuantParams[] {p, widened}) {
      ByteBuffer out = ByteBuffer.allocate(6);
      sw.quantize(0, FloatBuffer.wrap(data, 0, 5).slice(), params, out);
      sw.quantize(5, FloatBuffer.wrap(data, 5, 7).slice(), params, out);
      sw.finish(out);
      long[] q = LinearQuant.quantizeAll(data, shape, params);
      for (int i = 0; i < 6; i++) {
        assertEquals((byte) ((q[2 * i] & 0xF) | ((q[2 * i + 1] & 0xF) << 4)), out.get(i), "byte " + i);
      }
    }
  }

  @Test
  void errorsNameTheIndexAndMissingValues() {
    StreamedWeight sw = new StreamedWeight(new long[] {2, 3}, 0);
    float[] bad = {1, 2, Float.NaN};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sw.observe(0, FloatBuffer.wrap(bad)));
    assertTrue(e.getMessage().contains("flat index 2 is NaN"), e.getMessage());
    StreamedWeight partial = new StreamedWeight(new long[] {2, 3}, 1);
    partial.observe(0, FloatBuffer.wrap(new float[] {1, 2}));
    assertThrows(IllegalArgumentException.class, () -> partial.observe(5, FloatBuffer.wrap(new float[] {1})));
    assertThrows(IllegalStateException.class, () -> partial.params(QuantType.INT8));
    assertThrows(IllegalArgumentException.class, () -> StreamedWeight.width(QuantType.INT32));
  }

  @Test
  void perTensorBlocksAndFourBitEqualTheWholeTensorInAnyChunking() {
    long[] shape = {37, 5}; // 185 values: an odd count (a lone last nibble), a short last block of rows
    float[] data = weights(37 * 5, 5);
    Integer[] axes = {null, 1, 0, 0, 1};
    int[] blocks = {0, 0, 0, 16, 2};
    for (QuantType type : new QuantType[] {QuantType.INT8, QuantType.UINT8, QuantType.INT4, QuantType.UINT4}) {
      for (int k = 0; k < axes.length; k++) {
        QuantParams want = axes[k] == null ? LinearQuant.weightParamsPerTensor(data, type)
            : blocks[k] > 0 ? LinearQuant.blockWeightParams(data, shape, axes[k], blocks[k], type)
            : LinearQuant.weightParams(data, shape, axes[k], type);
        long[] wantQ = LinearQuant.quantizeAll(data, shape, want);
        byte[] wantBytes;
        if (type.bits() == 4) {
          wantBytes = type.pack4(wantQ);
        } else {
          wantBytes = new byte[wantQ.length];
          for (int i = 0; i < wantQ.length; i++) {
            wantBytes[i] = (byte) wantQ[i];
          }
        }
        String what = type + " axis " + axes[k] + " block " + blocks[k];
        for (int chunk : new int[] {1, 3, 16, 37, 64, data.length}) {
          StreamedWeight sw = new StreamedWeight(shape, axes[k], blocks[k]);
          for (int first = 0; first < data.length; first += chunk) {
            sw.observe(first, FloatBuffer.wrap(data, first, Math.min(chunk, data.length - first)).slice());
          }
          QuantParams got = sw.params(type);
          assertEquals(want, got, what + " chunk " + chunk);
          assertEquals(wantBytes.length, StreamedWeight.byteLength(type, data.length), what);
          ByteBuffer out = ByteBuffer.allocate(wantBytes.length).order(ByteOrder.LITTLE_ENDIAN);
          for (int first = 0; first < data.length; first += chunk) {
            int n = Math.min(chunk, data.length - first);
            assertTrue(StreamedWeight.maxChunkBytes(type, n) >= (type.bits() == 4 ? (n + 1) / 2 : n));
            sw.quantize(first, FloatBuffer.wrap(data, first, n).slice(), got, out);
          }
          sw.finish(out);
          assertEquals(wantBytes.length, out.position(), what + " chunk " + chunk);
          assertArrayEquals(wantBytes, out.array(), what + " chunk " + chunk);
        }
      }
    }
  }
}
