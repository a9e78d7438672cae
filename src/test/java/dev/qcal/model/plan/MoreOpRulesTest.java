package dev.qcal.model.plan;

import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.intAttr;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.QdqTestGraphs;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.plan.CalibrationPlan.Derived;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The rules added after ONNX Runtime's QDQ quantizer (Pad, TopK, ArgMax, standalone Relu/Clip,
 * InstanceNormalization, ReduceMean, GatherElements), planned on tiny graphs: which tensors are calibrated,
 * which share another's params, what is left alone. Expected plans are written by hand from each op's
 * semantics.
 */
class MoreOpRulesTest {

  private static CalibrationPlan plan(ModelProto m, String... opTypes) {
    return CalibrationPlan.of(m, new PlanOptions(Set.of(opTypes), List.of(), Set.of(), false));
  }

  private static final Derived SHARES_X = new Derived("x", false, 0f, 0f);

  /** x -> Pad(pads, [value]) -> y, the Pad configured by {@code padNode}. */
  private static ModelProto pad(NodeProto padNode, TensorProto... extra) {
    List<TensorProto> inits = new java.util.ArrayList<>(List.of(
        TensorProto.newBuilder().setName("pads").setDataType(TensorProto.DataType.INT64_VALUE).addDims(8)
            .addAllInt64Data(List.of(0L, 0L, 1L, 1L, 0L, 0L, 1L, 1L)).build()));
    inits.addAll(List.of(extra));
    return model(13, List.of(padNode), List.of(floatValue("x", 1, 2, 4, 4)), List.of(floatValue("y", 1, 2, 6, 6)),
        inits);
  }

  @Test
  void padWithZeroOrCopiedValuesSharesTheInputsParams() {
    ModelProto absent = pad(node("Pad", "p", List.of("x", "pads"), List.of("y")));
    ModelProto zero = pad(node("Pad", "p", List.of("x", "pads", "v"), List.of("y")),
        TestGraphs.floatTensor("v", new long[0], new float[] {0f}));
    ModelProto reflect = pad(node("Pad", "p", List.of("x", "pads"), List.of("y"), TestGraphs.s("mode", "reflect")));
    for (ModelProto m : List.of(absent, zero, reflect)) {
      CalibrationPlan p = plan(m, "Pad");
      assertEquals(List.of("x"), p.activations());
      assertEquals(java.util.Map.of("y", SHARES_X), p.derived());
    }
    // not asked for: nothing planned
    assertTrue(plan(absent, "Conv").activations().isEmpty());
  }

  @Test
  void padWithAnotherConstantGetsItsOutputCalibrated() {
    ModelProto m = pad(node("Pad", "p", List.of("x", "pads", "v"), List.of("y")),
        TestGraphs.floatTensor("v", new long[0], new float[] {-5f}));
    CalibrationPlan p = plan(m, "Pad");
    assertEquals(List.of("x", "y"), p.activations());
    assertTrue(p.derived().isEmpty());
  }

  @Test
  void topKValuesShareTheInputsParamsAndItsIndicesAreLeftAlone() {
    ModelProto m = model(13, List.of(node("TopK", "t", List.of("x", "k"), List.of("v", "i"), intAttr("axis", -1))),
        List.of(floatValue("x", 1, 8)), List.of(floatValue("v", 1, 3)),
        List.of(TensorProto.newBuilder().setName("k").setDataType(TensorProto.DataType.INT64_VALUE).addDims(1)
            .addInt64Data(3).build()));
    CalibrationPlan p = plan(m, "TopK");
    assertEquals(List.of("x"), p.activations());
    assertEquals(java.util.Map.of("v", SHARES_X), p.derived());
  }

  @Test
  void argMaxQuantizesItsInputOnly() {
    ModelProto m = model(13, List.of(node("ArgMax", "a", List.of("x"), List.of("i"), intAttr("axis", 1))),
        List.of(floatValue("x", 1, 8)), List.of(QdqTestGraphs.value("i", TensorProto.DataType.INT64_VALUE, 1, 1)),
        List.of());
    CalibrationPlan p = plan(m, "ArgMax");
    assertEquals(List.of("x"), p.activations());
    assertTrue(p.derived().isEmpty());
    assertTrue(p.nodes().get(0).quantized(), p.nodes().toString());
  }

  @Test
  void reluAfterAQuantizedConvFoldsAndAfterAnFp32OpGetsInputAndOutput() {
    ModelProto m = model(13,
        List.of(node("Conv", "c", List.of("x", "w"), List.of("c_out")),
            node("Relu", "r1", List.of("c_out"), List.of("r1_out")),
            node("Sigmoid", "s", List.of("r1_out"), List.of("s_out")),
            node("Relu", "r2", List.of("s_out"), List.of("y"))),
        List.of(floatValue("x", 1, 2, 4, 4)), List.of(floatValue("y", 1, 2, 4, 4)),
        List.of(randomFloats("w", 1, 2, 2, 1, 1)));
    // Relu not named: folded after the Conv, the Relu after the Sigmoid stays FP32
    assertEquals(List.of("x", "r1_out"), plan(m, "Conv").activations());
    // named: still folded after the Conv; after the FP32 Sigmoid its input and output are calibrated
    CalibrationPlan p = plan(m, "Conv", "Relu");
    assertEquals(List.of("x", "r1_out", "s_out", "y"), p.activations());
    assertTrue(p.nodes().get(1).reason().startsWith("folded into the producer's output"), p.nodes().get(1).reason());
    assertEquals("rule UnaryRule", p.nodes().get(3).reason());
  }

  @Test
  void instanceNormalizationQuantizesScaleAsAWeightAndBiasAsItsInt32Bias() {
    ModelProto m = model(13,
        List.of(node("InstanceNormalization", "in", List.of("x", "s", "b"), List.of("y"))),
        List.of(floatValue("x", 1, 2, 4, 4)), List.of(floatValue("y", 1, 2, 4, 4)),
        List.of(randomFloats("s", 1, 2), randomFloats("b", 2, 2)));
    CalibrationPlan p = plan(m, "InstanceNormalization");
    assertEquals(List.of("x", "y"), p.activations());
    assertEquals(List.of(new WeightRef("in", "s", 0, "b", "x")), p.weights());
  }

  @Test
  void reduceMeanIsCalibratedBothSidesAndReduceMaxShares() {
    for (String op : List.of("ReduceMean", "ReduceMax")) {
      ModelProto m = model(13,
          List.of(node(op, "r", List.of("x"), List.of("y"), QdqTestGraphs.intsAttr("axes", 3))),
          List.of(floatValue("x", 1, 2, 4, 4)), List.of(floatValue("y", 1, 2, 4, 1)), List.of());
      CalibrationPlan p = plan(m, op);
      if (op.equals("ReduceMean")) {
        assertEquals(List.of("x", "y"), p.activations());
      } else {
        assertEquals(List.of("x"), p.activations());
        assertEquals(java.util.Map.of("y", SHARES_X), p.derived());
      }
    }
  }

  @Test
  void gatherElementsDataSharesItsParamsWithTheOutputAndIndicesAreLeftAlone() {
    ModelProto m = model(13,
        List.of(node("GatherElements", "g", List.of("x", "idx"), List.of("y"), intAttr("axis", 1))),
        List.of(floatValue("x", 1, 8), QdqTestGraphs.value("idx", TensorProto.DataType.INT64_VALUE, 1, 3)),
        List.of(floatValue("y", 1, 3)), List.of());
    CalibrationPlan p = plan(m, "GatherElements");
    assertEquals(List.of("x"), p.activations());
    assertEquals(java.util.Map.of("y", SHARES_X), p.derived());
    assertFalse(p.activations().contains("idx"));
  }
}
