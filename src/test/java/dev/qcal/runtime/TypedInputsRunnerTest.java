package dev.qcal.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher;
import dev.qcal.data.Sample;
import dev.qcal.model.TestGraphs;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Each input type reaches ONNX Runtime as itself: a graph {@code y = Cast(x, float)} (plus {@code x}
 * itself requested as a statistics tensor, which only a float input can be) shows the values fed.
 * The expected floats are written by hand from the values' definitions (bit patterns for float16).
 */
class TypedInputsRunnerTest {

  /** Runs one batch of two samples [2, 3] of type {@code onnxType} and returns what the sink saw. */
  private static Map<String, float[]> run(int onnxType, Object first, Object second) throws Exception {
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("Cast", "cast", List.of("x"), List.of("y"), TestGraphs.i("to", TensorProto.DataType.FLOAT_VALUE))),
        List.of(TestGraphs.typedBatchInput("x", onnxType, 3)), List.of(TestGraphs.floatInfo("y")), List.of());
    Map<String, float[]> seen = new LinkedHashMap<>();
    try (OrtSession session = Ort.env().createSession(m.toByteArray(), new OrtSession.SessionOptions());
        ModelRunner runner = new ModelRunner(session, List.of("x"), List.of("x", "y"))) {
      Batcher batcher = new Batcher(1, 2);
      batcher.offer(new Sample(new Object[] {first}, new long[][] {{3}}, "s0"));
      Batcher.Batch b = batcher.offer(new Sample(new Object[] {second}, new long[][] {{3}}, "s1"));
      for (int repeat = 0; repeat < 2; repeat++) { // the second run writes into pinned buffers
        runner.run(b, (name, values, shape) -> {
          float[] v = new float[values.remaining()];
          values.duplicate().get(v);
          assertArrayEquals(new long[] {2, 3}, shape);
          seen.put(name + (seen.containsKey(name) ? "#2" : ""), v);
        });
      }
    }
    return seen;
  }

  private static void assertFed(float[] expected, Map<String, float[]> seen, boolean floatInput) {
    assertArrayEquals(expected, seen.get("y"));
    assertArrayEquals(expected, seen.get("y#2"));
    // a float input is handed over as a statistics tensor; an integer or bool one never is
    assertEquals(floatInput ? List.of("x", "y", "x#2", "y#2") : List.of("y", "y#2"), new ArrayList<>(seen.keySet()));
  }

  @Test
  void float16() throws Exception {
    // 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800, 65504 (largest finite) = 0x7bff, 2^-24 (smallest subnormal) = 0x0001,
    // -0.0 = 0x8000
    Map<String, float[]> seen = run(TensorProto.DataType.FLOAT16_VALUE,
        new short[] {0x3c00, (short) 0xc000, 0x3800}, new short[] {0x7bff, 0x0001, (short) 0x8000});
    assertFed(new float[] {1f, -2f, 0.5f, 65504f, 0x1p-24f, -0f}, seen, false);
  }

  @Test
  void float64() throws Exception {
    Map<String, float[]> seen = run(TensorProto.DataType.DOUBLE_VALUE,
        new double[] {0.1, -1e10, 3}, new double[] {1e-3, 7.25, -0.0});
    assertFed(new float[] {(float) 0.1, -1e10f, 3f, (float) 1e-3, 7.25f, -0f}, seen, false);
  }

  @Test
  void int32() throws Exception {
    Map<String, float[]> seen = run(TensorProto.DataType.INT32_VALUE,
        new int[] {Integer.MIN_VALUE, -1, 0}, new int[] {1, 1 << 24, 123456});
    assertFed(new float[] {-2147483648f, -1f, 0f, 1f, 16777216f, 123456f}, seen, false);
  }

  @Test
  void int64() throws Exception {
    Map<String, float[]> seen = run(TensorProto.DataType.INT64_VALUE,
        new long[] {-5, 1L << 40, 0}, new long[] {30522, 7, -1});
    assertFed(new float[] {-5f, 1099511627776f, 0f, 30522f, 7f, -1f}, seen, false);
  }

  @Test
  void int8AndUint8() throws Exception {
    byte[] a = {(byte) 0x80, (byte) 0xff, 0x7f};
    byte[] b = {0, 1, (byte) 0xfe};
    // the same bytes: int8 reads them signed, uint8 unsigned
    assertFed(new float[] {-128f, -1f, 127f, 0f, 1f, -2f}, run(TensorProto.DataType.INT8_VALUE, a, b), false);
    assertFed(new float[] {128f, 255f, 127f, 0f, 1f, 254f}, run(TensorProto.DataType.UINT8_VALUE, a, b), false);
  }

  @Test
  void int16() throws Exception {
    Map<String, float[]> seen = run(TensorProto.DataType.INT16_VALUE,
        new short[] {Short.MIN_VALUE, -1, 2}, new short[] {Short.MAX_VALUE, 0, 300});
    assertFed(new float[] {-32768f, -1f, 2f, 32767f, 0f, 300f}, seen, false);
  }

  @Test
  void bool() throws Exception {
    Map<String, float[]> seen = run(TensorProto.DataType.BOOL_VALUE, new byte[] {1, 0, 1}, new byte[] {0, 0, 1});
    assertFed(new float[] {1f, 0f, 1f, 0f, 0f, 1f}, seen, false);
  }

  @Test
  void float32StaysAStatisticsTensor() throws Exception {
    Map<String, float[]> seen = run(TensorProto.DataType.FLOAT_VALUE, new float[] {1.5f, -2f, 0f}, new float[] {3f, 4f, 5f});
    assertFed(new float[] {1.5f, -2f, 0f, 3f, 4f, 5f}, seen, true);
    assertArrayEquals(new float[] {1.5f, -2f, 0f, 3f, 4f, 5f}, seen.get("x"));
  }
}
