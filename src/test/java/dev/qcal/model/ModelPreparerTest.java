package dev.qcal.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
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
    assertTrue(p.foldedConstants() > 200, "folded constants " + p.foldedConstants());
    assertEquals(35, p.foldedBatchNorms());

    Set<String> ops = m.getGraph().getNodeList().stream().map(NodeProto::getOpType).collect(Collectors.toSet());
    assertTrue(!ops.contains("BatchNormalization") && !ops.contains("Constant"), ops.toString());
    Set<String> initializers = m.getGraph().getInitializerList().stream().map(TensorProto::getName)
        .collect(Collectors.toSet());
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
}
