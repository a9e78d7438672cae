package dev.qcal.model.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Preparation to opset 21 (16-bit activations, 4-bit or blocked weights), verified against the original. */
class ModelPreparerOpset21Test {

  @TempDir Path work;

  @Test
  void theOpset9ExampleIsPreparedAtOpset21AndVerifiedWithTheSameTensorNames() throws Exception {
    Map<String, long[]> shapes = Map.of("x", new long[] {2, 3, 48, 192});
    Path w13 = Files.createDirectories(work.resolve("13"));
    Path w21 = Files.createDirectories(work.resolve("21"));
    ModelPreparer.Prepared p13 = ModelPreparer.prepare(TestGraphs.EXAMPLE, w13, shapes);
    ModelPreparer.Prepared p21 = ModelPreparer.prepare(TestGraphs.EXAMPLE, w21, shapes, ModelPreparer.WIDE_TYPES_OPSET);
    assertEquals(9, p21.sourceOpset());
    assertEquals(21, p21.opset());
    assertEquals(10, p21.model().getIrVersion());
    // verification ran (ORT on the original and on the opset-21 model) and found them equal
    assertTrue(p21.maxAbsDiff() < 1e-5, "max abs diff " + p21.maxAbsDiff());
    // statistics collected at 13 name the same tensors as a plan made at 21
    assertEquals(CalibrationPlan.of(p13.model()).activations(), CalibrationPlan.of(p21.model()).activations());
    assertEquals(outputs(p13.model()), outputs(p21.model()));
  }

  @Test
  void anOpset13ModelWithReductionsIsUpgradedTo21AndVerified() {
    ModelProto m = TestGraphs.model(13, List.of(
            TestGraphs.node("ReduceMean", "mean", List.of("x"), List.of("mu"), TestGraphs.ints("axes", 1),
                TestGraphs.i("keepdims", 1)),
            TestGraphs.node("Sub", "center", List.of("x", "mu"), List.of("c")),
            TestGraphs.node("MatMul", "fc", List.of("c", "w"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 2, 8)), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w", new long[] {8, 4}, TestGraphs.randomFloats(32, 3))));
    Path file = work.resolve("m13.onnx");
    OnnxModels.save(m, file);
    ModelPreparer.Prepared p = ModelPreparer.prepare(file, work, Map.of(), 21);
    assertEquals(13, p.sourceOpset());
    assertEquals(21, p.opset());
    NodeProto mean = TestGraphs.find(p.model(), "ReduceMean");
    assertEquals(2, mean.getInputCount(), "axes became an input at 18");
    assertTrue(p.maxAbsDiff() < 1e-5, "max abs diff " + p.maxAbsDiff());
  }

  private static List<String> outputs(ModelProto m) {
    return m.getGraph().getNodeList().stream().flatMap(n -> n.getOutputList().stream()).sorted().toList();
  }
}
