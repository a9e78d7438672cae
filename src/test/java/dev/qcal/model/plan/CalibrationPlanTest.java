package dev.qcal.model.plan;

import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.intAttr;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static dev.qcal.model.QdqTestGraphs.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.QdqTestGraphs;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;
import dev.qcal.model.qdq.QdqRewriter;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CalibrationPlanTest {

  @Test
  void convReluPlansInputAndReluOutputNotConvOutput() {
    CalibrationPlan plan = CalibrationPlan.of(QdqTestGraphs.convRelu(13));
    assertEquals(List.of("x", "r1", "y"), plan.activations());
    assertEquals(List.of(
            new WeightRef("conv1", "w1", 0, "b1", "x"),
            new WeightRef("conv2", "w2", 0, "b2", "r1")),
        plan.weights());
  }

  @Test
  void clipWithConstantBoundsFoldsButDynamicBoundsDoNot() {
    ModelProto m = model(13,
        List.of(
            node("Conv", "c", List.of("x", "w"), List.of("c_out")),
            node("Clip", "clip", List.of("c_out", "lo", "hi"), List.of("clipped")),
            node("Conv", "d", List.of("clipped", "w2"), List.of("d_out")),
            node("Clip", "clip2", List.of("d_out", "lo", "dyn"), List.of("y"))),
        List.of(floatValue("x", 1, 2, 4, 4), floatValue("dyn")),
        List.of(floatValue("y", 1, 2, 4, 4)),
        List.of(randomFloats("w", 1, 2, 2, 1, 1), randomFloats("w2", 2, 2, 2, 1, 1),
            TestGraphs.floatTensor("lo", new long[0], new float[] {0f}),
            TestGraphs.floatTensor("hi", new long[0], new float[] {6f})));
    assertEquals(List.of("x", "clipped", "d_out"), CalibrationPlan.of(m).activations());
  }

  @Test
  void tensorWithTwoConsumersIsPlannedOnce() {
    // x feeds two Convs; c (HardSwish-like) feeds Add and Mul, so it is not folded.
    ModelProto m = model(13,
        List.of(
            node("Conv", "a", List.of("x", "w"), List.of("c")),
            node("Conv", "b", List.of("x", "w"), List.of("d")),
            node("Relu", "r", List.of("c"), List.of("rc")),
            node("Mul", "m", List.of("c", "rc"), List.of("y")),
            node("Add", "s", List.of("d", "y"), List.of("z"))),
        List.of(floatValue("x", 1, 2, 4, 4)),
        List.of(floatValue("z", 1, 2, 4, 4)),
        List.of(randomFloats("w", 1, 2, 2, 1, 1)));
    CalibrationPlan plan = CalibrationPlan.of(m);
    assertEquals(List.of("x", "c", "d"), plan.activations());
    assertEquals(2, plan.weights().size());
  }

  @Test
  void matMulWeightIsPerColumnAndBiasAddStaysFloat() {
    ModelProto m = model(13,
        List.of(
            node("MatMul", "fc", List.of("a", "fc_w"), List.of("mm")),
            node("Add", "fc_add", List.of("mm", "fc_b"), List.of("y"))),
        List.of(floatValue("a", 2, 4)),
        List.of(floatValue("y", 2, 3)),
        List.of(randomFloats("fc_w", 1, 4, 3), randomFloats("fc_b", 2, 3)));
    CalibrationPlan plan = CalibrationPlan.of(m);
    assertEquals(List.of("a", "mm"), plan.activations());
    assertEquals(List.of(new WeightRef("fc", "fc_w", 1, null, "a")), plan.weights());
  }

  @Test
  void gemmAxisFollowsTransB() {
    for (int transB : new int[] {0, 1}) {
      long[] wDims = transB == 1 ? new long[] {3, 4} : new long[] {4, 3};
      ModelProto m = model(13,
          List.of(node("Gemm", "g", List.of("a", "w", "bias"), List.of("y"), intAttr("transB", transB))),
          List.of(floatValue("a", 2, 4)),
          List.of(floatValue("y", 2, 3)),
          List.of(randomFloats("w", 1, wDims), randomFloats("bias", 2, 3)));
      assertEquals(List.of(new WeightRef("g", "w", transB == 1 ? 0 : 1, "bias", "a")),
          CalibrationPlan.of(m).weights());
    }
  }

  @Test
  void nonFloatTensorsAreSkipped() {
    // The MatMul multiplies int64 tensors: the Cast output is int64 even without value_info.
    ModelProto m = model(13,
        List.of(
            node("Cast", "cast", List.of("x"), List.of("xi"), intAttr("to", TensorProto.DataType.INT64_VALUE)),
            node("MatMul", "mm", List.of("xi", "xi"), List.of("y"))),
        List.of(floatValue("x", 2, 2)),
        List.of(value("y", TensorProto.DataType.INT64_VALUE, 2, 2)),
        List.of());
    CalibrationPlan plan = CalibrationPlan.of(m);
    assertEquals(List.of(), plan.activations());
    assertTrue(plan.skipped().stream().anyMatch(s -> s.startsWith("'xi'") && s.contains("INT64")),
        plan.skipped().toString());
  }

  @Test
  void activationsFollowTopologicalOrderEvenWhenFileIsNot() {
    ModelProto m = model(13,
        List.of(
            node("Conv", "second", List.of("h", "w"), List.of("y")),
            node("Conv", "first", List.of("x", "w"), List.of("h"))),
        List.of(floatValue("x", 1, 2, 4, 4)),
        List.of(floatValue("y", 1, 2, 4, 4)),
        List.of(randomFloats("w", 1, 2, 2, 1, 1)));
    assertEquals(List.of("x", "h", "y"), CalibrationPlan.of(m).activations());
  }

  /** x -> Conv a (dense) -> Conv dw (depthwise, group 2) -> Conv b -> y. */
  private static ModelProto threeConvs() {
    return model(13,
        List.of(
            node("Conv", "block1/a", List.of("x", "wa"), List.of("h1")),
            node("Conv", "block1/dw", List.of("h1", "wdw"), List.of("h2"), intAttr("group", 2)),
            node("Conv", "block2/b", List.of("h2", "wb"), List.of("y"))),
        List.of(floatValue("x", 1, 2, 4, 4)),
        List.of(floatValue("y", 1, 2, 4, 4)),
        List.of(randomFloats("wa", 1, 2, 2, 1, 1), randomFloats("wdw", 2, 2, 1, 3, 3), randomFloats("wb", 3, 2, 2, 1, 1)));
  }

  private static List<String> weightNodes(CalibrationPlan p) {
    return p.weights().stream().map(WeightRef::node).toList();
  }

  @Test
  void excludeNodesTakesNamesAndGlobsAndRecordsWhy() {
    ModelProto m = threeConvs();
    CalibrationPlan plan = CalibrationPlan.of(m,
        new PlanOptions(Set.of("Conv"), List.of("block1/*"), Set.of(), false));
    assertEquals(List.of("block2/b"), weightNodes(plan));
    assertEquals(List.of("h2", "y"), plan.activations());
    CalibrationPlan.NodeDecision dw = plan.nodes().get(1);
    assertEquals("block1/dw", dw.node());
    assertEquals("excluded by --exclude-nodes block1/*", dw.reason());
    assertEquals(List.of("block1/a", "block2/b"), weightNodes(CalibrationPlan.of(m,
        new PlanOptions(Set.of("Conv"), List.of("block1/d?"), Set.of(), false))));
  }

  @Test
  void anExclusionMatchingNoNodeIsAnErrorNamingIt() {
    ModelProto m = threeConvs();
    ModelException e = assertThrows(ModelException.class, () -> CalibrationPlan.of(m,
        new PlanOptions(Set.of("Conv"), List.of("block1/a", "blok*"), Set.of(), false)));
    assertTrue(e.getMessage().contains("--exclude-nodes blok*: matches no node"), e.getMessage());
    IllegalArgumentException u = assertThrows(IllegalArgumentException.class, () -> CalibrationPlan.of(m,
        new PlanOptions(Set.of("Conv", "Foo"), List.of(), Set.of(), false)));
    assertTrue(u.getMessage().contains("'Foo'"), u.getMessage());
  }

  @Test
  void excludeOpTypesAndDepthwise() {
    ModelProto m = threeConvs();
    CalibrationPlan noDw = CalibrationPlan.of(m, new PlanOptions(Set.of("Conv"), List.of(), Set.of(), true));
    assertEquals(List.of("block1/a", "block2/b"), weightNodes(noDw));
    assertEquals("depthwise Conv excluded by --exclude-depthwise", noDw.nodes().get(1).reason());
    CalibrationPlan none = CalibrationPlan.of(m, new PlanOptions(Set.of("Conv"), List.of(), Set.of("Conv"), false));
    assertEquals(List.of(), none.weights());
    assertEquals(List.of(), none.activations());
    assertEquals(3, CalibrationPlan.of(m).weights().size());
  }

  @Test
  void alreadyQuantizedTensorsAreLeftAlone() throws Exception {
    // Plan, rewrite, plan the rewritten model again: nothing new to insert.
    ModelProto m = QdqTestGraphs.convRelu(13);
    CalibrationPlan plan = CalibrationPlan.of(m);
    dev.qcal.quant.QuantParams p = dev.qcal.quant.LinearQuant.forRange(-1f, 1f, dev.qcal.quant.QuantType.UINT8, false);
    ModelProto q = QdqRewriter.rewrite(
        QdqRewriter.Request.of(m, plan, java.util.Map.of("x", p, "r1", p, "y", p))).model();
    CalibrationPlan again = CalibrationPlan.of(q);
    assertEquals(List.of(), again.activations());
    assertEquals(List.of(), again.weights());
    assertTrue(again.skipped().stream().anyMatch(s -> s.contains("already the output of a DequantizeLinear")),
        again.skipped().toString());
    assertTrue(again.skipped().stream().anyMatch(s -> s.startsWith("'r1'") && s.contains("already feeds a QuantizeLinear")),
        again.skipped().toString());
  }
}
