package dev.qcal.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrtTest {

  private static final Path EXAMPLE = Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx");

  @TempDir Path dir;

  private static float[] ramp(int n) {
    float[] a = new float[n];
    for (int k = 0; k < n; k++) {
      a[k] = (k % 97) / 48f - 1f;
    }
    return a;
  }

  @Test
  void optimizeWritesAModelWithTheSameOutputs() {
    Map<String, long[]> shape = Map.of("x", new long[] {2, 3, 48, 192});
    Map<String, float[]> in = Map.of("x", ramp(2 * 3 * 48 * 192));
    for (Ort.OptLevel level : List.of(Ort.OptLevel.BASIC, Ort.OptLevel.ALL)) {
      Path out = dir.resolve(level + ".onnx");
      Ort.optimize(EXAMPLE, out, level);
      assertTrue(Files.isRegularFile(out), level.toString());
      Map<String, float[]> expected = Ort.run(EXAMPLE, in, shape);
      Map<String, float[]> actual = Ort.run(out, in, shape);
      assertEquals(List.of("softmax_0.tmp_0"), List.copyOf(actual.keySet()));
      assertEquals(4, actual.get("softmax_0.tmp_0").length);
      assertArrayEquals(expected.get("softmax_0.tmp_0"), actual.get("softmax_0.tmp_0"), 1e-6f, level.toString());
    }
  }

  @Test
  void inputShapesReportDynamicDimensions() {
    assertArrayEquals(new long[] {-1, 3, -1, -1}, Ort.inputShapes(EXAMPLE).get("x"));
  }

  @Test
  void runNamesBadInputs() {
    Map<String, long[]> shape = Map.of("x", new long[] {1, 3, 48, 192});
    Ort.Failure e = assertThrows(Ort.Failure.class, () -> Ort.run(EXAMPLE, Map.of("x", new float[10]), shape));
    assertEquals(EXAMPLE + ": input 'x' has shape [1, 3, 48, 192] (27648 elements) but 10 values", e.getMessage());
    e = assertThrows(Ort.Failure.class, () -> Ort.run(EXAMPLE, Map.of(), shape));
    assertEquals(EXAMPLE + ": no data for input 'x' (given [])", e.getMessage());
    Path missing = dir.resolve("missing.onnx");
    e = assertThrows(Ort.Failure.class, () -> Ort.optimize(missing, dir.resolve("o.onnx"), Ort.OptLevel.BASIC));
    assertEquals("model not found: " + missing, e.getMessage());
  }
}
