package dev.qcal.model;

import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.intAttr;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static dev.qcal.model.QdqTestGraphs.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.CalibrationPlan.WeightRef;
import java.util.List;
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
            QdqTensors.floatTensor("lo", new long[0], new float[] {0f}),
            QdqTensors.floatTensor("hi", new long[0], new float[] {6f})));
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
}
