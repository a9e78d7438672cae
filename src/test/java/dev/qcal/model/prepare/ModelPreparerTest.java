package dev.qcal.model.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelPreparerTest {

  @TempDir Path work;

  @Test
  void preparesTheExampleModel() {
    ModelPreparer.Prepared p = ModelPreparer.prepare(TestGraphs.EXAMPLE, work, Map.of("x", new long[] {2, 3, 48, 192}));
    ModelProto m = p.model();

    assertEquals(work.resolve("prepared.onnx"), p.file());
    assertTrue(Files.isRegularFile(p.file()));
    assertEquals(m, OnnxModels.load(p.file()));
    assertEquals(9, p.sourceOpset());
    assertEquals(13, p.opset());
    assertEquals(13, OnnxModels.opset(m));
    assertTrue(m.getIrVersion() >= 7);
    // every Constant and BatchNormalization node of the original folded (none is left, below)
    Map<String, Long> source = OnnxModels.load(TestGraphs.EXAMPLE).getGraph().getNodeList().stream()
        .collect(Collectors.groupingBy(NodeProto::getOpType, Collectors.counting()));
    assertEquals(250, source.get("Constant"));
    assertEquals((long) source.get("Constant"), p.foldedConstants());
    assertEquals(35, source.get("BatchNormalization"));
    assertEquals((long) source.get("BatchNormalization"), p.foldedBatchNorms());

    Set<String> ops = m.getGraph().getNodeList().stream().map(NodeProto::getOpType).collect(Collectors.toSet());
    assertTrue(!ops.contains("BatchNormalization") && !ops.contains("Constant"), ops.toString());
    Set<String> initializers = m.getGraph().getInitializerList().stream().map(TensorProto::getName)
        .collect(Collectors.toSet());
    long clips = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Clip")).count();
    assertEquals((long) source.get("Clip"), clips, "every Clip kept (checked below)");
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getOpType().equals("Clip")) {
        assertEquals(3, n.getInputCount(), n.getName());
        assertTrue(n.getAttributeList().isEmpty(), n.getName());
      }
      if (n.getOpType().equals("Conv")) {
        assertTrue(initializers.contains(n.getInput(1)), "Conv weight of " + n.getName() + " is an initializer");
      }
    }
    assertEquals(1, m.getOpsetImportCount(), "unused domains dropped: " + m.getOpsetImportList());
    assertTrue(p.maxAbsDiff() < 1e-5, "max abs diff " + p.maxAbsDiff());
  }

  @Test
  void missingVerifyShapeNamesTheDynamicDimension() {
    ModelException e = org.junit.jupiter.api.Assertions.assertThrows(ModelException.class,
        () -> ModelPreparer.prepare(TestGraphs.EXAMPLE, work, Map.of()));
    assertEquals(TestGraphs.EXAMPLE + ": input 'x' has dynamic dimension 2 ('p2o.DynamicDimension.1');"
        + " pass its shape to verify with", e.getMessage());
  }

  /**
   * Verification compares outputs that are NaN or infinite on its inputs position by position: a NaN
   * where the original has NaN, or the same infinity, matches (Log of the random inputs in [-1, 1) gives
   * NaN); the model is prepared, not refused.
   */
  @Test
  void nonFiniteOutputsMatchingTheOriginalPassVerification() throws Exception {
    ModelProto m = TestGraphs.model(13,
        java.util.List.of(TestGraphs.node("Log", "log", java.util.List.of("x"), java.util.List.of("y")),
            TestGraphs.node("Div", "div", java.util.List.of("one", "x"), java.util.List.of("z"))),
        java.util.List.of(TestGraphs.floatInfo("x", 2, 64)),
        java.util.List.of(TestGraphs.floatInfo("y", 2, 64), TestGraphs.floatInfo("z", 2, 64)),
        java.util.List.of(TestGraphs.floatTensor("one", new long[] {1}, 1f)));
    java.nio.file.Path file = work.resolve("log.onnx");
    java.nio.file.Files.createDirectories(work);
    OnnxModels.save(m, file);
    ModelPreparer.Prepared p = ModelPreparer.prepare(file, work.resolve("w"), Map.of("x", new long[] {2, 64}));
    assertEquals(0.0, p.maxAbsDiff());
    // and the original's NaN really was there: Log of a negative input
    float[] x = new float[128];
    java.util.Arrays.fill(x, 1f);
    x[0] = -1f;
    x[1] = 0f;
    java.util.Map<String, float[]> out = dev.qcal.runtime.Ort.run(file, Map.of("x", x), Map.of("x", new long[] {2, 64}));
    assertTrue(Float.isNaN(out.get("y")[0]));
    assertEquals(Float.NEGATIVE_INFINITY, out.get("y")[1]);
    assertEquals(Float.POSITIVE_INFINITY, out.get("z")[1]);
  }
}
