package dev.qcal.model.qdq;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The folded model computes the original plus the corrections: ONNX Runtime runs both, and each output
 * channel differs by its delta (to float rounding), for a Gemm with {@code beta} 2 and no C, and for two Convs
 * sharing one bias of which only one is corrected.
 */
class BiasFolderTest {
  @TempDir Path tmp;

  private float[] run(ModelProto m, String name, float[] x, long[] shape, String output) {
    Path f = tmp.resolve(name);
    OnnxModels.save(m, f);
    return Ort.run(f, Map.of("x", x), Map.of("x", shape)).get(output);
  }

  @Test
  void gemmWithBetaAndNoBiasGetsDeltaOverBeta() {
    ModelProto m = TestGraphs.model(13, List.of(TestGraphs.node("Gemm", "g", List.of("x", "w"), List.of("y"),
            TestGraphs.f("beta", 2f))), List.of(TestGraphs.batchInput("x", 4)), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w", new long[] {4, 3}, TestGraphs.randomFloats(12, 1))));
    double[] delta = {0.5, -0.25, 0.125};
    ModelProto folded = BiasFolder.fold(m, null, Map.of("g", delta)).model();
    float[] x = TestGraphs.randomFloats(8, 2);
    long[] shape = {2, 4};
    float[] before = run(m, "g.onnx", x, shape, "y");
    float[] after = run(folded, "g-folded.onnx", x, shape, "y");
    for (int i = 0; i < before.length; i++) {
      assertEquals(before[i] + delta[i % 3], after[i], 1e-5, "element " + i);
    }
  }

  @Test
  void aSharedBiasIsCopiedSoTheOtherConvIsUnchanged() {
    ModelProto m = TestGraphs.model(13, List.of(
            TestGraphs.node("Conv", "c1", List.of("x", "w", "b"), List.of("y1")),
            TestGraphs.node("Conv", "c2", List.of("x", "w", "b"), List.of("y2"))),
        List.of(TestGraphs.batchInput("x", 2, 3, 3)), List.of(TestGraphs.floatInfo("y1"), TestGraphs.floatInfo("y2")),
        List.of(TestGraphs.floatTensor("w", new long[] {2, 2, 1, 1}, TestGraphs.randomFloats(4, 3)),
            TestGraphs.floatTensor("b", new long[] {2}, 1f, -1f)));
    double[] delta = {0.75, -2};
    ModelProto folded = BiasFolder.fold(m, null, Map.of("c1", delta)).model();
    float[] x = TestGraphs.randomFloats(18, 4);
    long[] shape = {1, 2, 3, 3};
    float[] y1 = run(m, "c.onnx", x, shape, "y1");
    float[] y2 = run(m, "c.onnx", x, shape, "y2");
    float[] f1 = run(folded, "c-folded.onnx", x, shape, "y1");
    float[] f2 = run(folded, "c-folded.onnx", x, shape, "y2");
    for (int i = 0; i < y1.length; i++) {
      assertEquals(y1[i] + delta[i / 9], f1[i], 1e-5, "c1 element " + i);
      assertEquals(y2[i], f2[i], 0, "c2 element " + i);
    }
  }
}
