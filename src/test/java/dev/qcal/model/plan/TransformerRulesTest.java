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
import dev.qcal.model.qdq.QdqRewriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The rules transformer graphs need: pass-through ops, GELU and decomposed LayerNorm units, Where, decisions. */
class TransformerRulesTest {

  private static PlanOptions ops(String... opTypes) {
    return new PlanOptions(Set.of(opTypes), List.of(), Set.of(), false);
  }

  private static TensorProto longs(String name, long... v) {
    ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(v.length)
        .setRawData(com.google.protobuf.ByteString.copyFrom(b.array())).build();
  }

  private static TensorProto scalar(String name, float v) {
    return TestGraphs.floatTensor(name, new long[0], new float[] {v});
  }

  private static CalibrationPlan.NodeDecision decision(CalibrationPlan plan, String node) {
    return plan.nodes().stream().filter(d -> d.node().equals(node)).findFirst()
        .orElseThrow(() -> new AssertionError("no decision for " + node));
  }

  @Test
  void gatherOnAnActivationSharesItsParamsAndLeavesTheIndicesAlone() throws Exception {
    // x[2,4,4] -> MatMul -> h -> Gather(h, [0], axis 1) (the CLS token) -> MatMul -> y
    ModelProto m = model(13,
        List.of(node("MatMul", "fc1", List.of("x", "w1"), List.of("h")),
            node("Gather", "cls", List.of("h", "first"), List.of("c"), intAttr("axis", 1)),
            node("MatMul", "fc2", List.of("c", "w2"), List.of("y"))),
        List.of(floatValue("x", 2, 4, 4)), List.of(floatValue("y", 2, 1, 3)),
        List.of(randomFloats("w1", 1, 4, 4), longs("first", 0), randomFloats("w2", 2, 4, 3)));
    PlanOptions o = ops("MatMul", "Gather");
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    assertEquals(Map.of("c", new CalibrationPlan.Derived("h", false, 0f, 0f)), plan.derived());
    assertTrue(decision(plan, "cls").quantized());
    assertEquals("input 'h' calibrated, output 'c' shares params with 'h'", decision(plan, "cls").details());
    ModelProto q = QdqOpRulesTest.quantizeAndCompare(m, o, new long[] {2, 4, 4}, "y").model();
    NodeProto gather = QdqTestGraphs.find(q, "Gather", "first");
    assertEquals("first", gather.getInput(1));
    assertEquals(QdqTestGraphs.quantizer(q, "h").getInputList().subList(1, 3),
        QdqTestGraphs.quantizer(q, "c").getInputList().subList(1, 3));
  }

  @Test
  void splitAndExpandShareTheInputParamsOnEveryOutput() throws Exception {
    // x[2,4] -> MatMul -> h[2,6] -> Split into [2,3] x 2 -> Expand one to [2,3] -> Add -> y
    ModelProto m = model(13,
        List.of(node("MatMul", "fc", List.of("x", "w"), List.of("h")),
            node("Split", "split", List.of("h", "sizes"), List.of("a", "b"), intAttr("axis", 1)),
            node("Expand", "expand", List.of("a", "shape"), List.of("e")),
            node("Add", "add", List.of("e", "b"), List.of("y"))),
        List.of(floatValue("x", 2, 4)), List.of(floatValue("y", 2, 3)),
        List.of(randomFloats("w", 1, 4, 6), longs("sizes", 3, 3), longs("shape", 2, 3)));
    PlanOptions o = ops("MatMul", "Split", "Expand", "Add");
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    assertEquals(List.of("a", "b", "e"), List.copyOf(plan.derived().keySet()));
    assertEquals("h", plan.derived().get("b").source());
    assertEquals("a", plan.derived().get("e").source());
    ModelProto q = QdqOpRulesTest.quantizeAndCompare(m, o, new long[] {2, 4}, "y").model();
    for (String t : List.of("a", "b", "e")) {
      assertEquals(QdqTestGraphs.quantizer(q, "h").getInputList().subList(1, 3),
          QdqTestGraphs.quantizer(q, t).getInputList().subList(1, 3), t);
    }
  }

  /** x[4,8] -> MatMul -> f -> Erf-GELU (Mul 1/sqrt2, Erf, Add 1, Mul f, Mul 0.5) -> g -> MatMul -> y. */
  private static ModelProto erfGelu() {
    return model(13,
        List.of(node("MatMul", "fc1", List.of("x", "w1"), List.of("f")),
            node("Mul", "scale", List.of("f", "inv_sqrt2"), List.of("fs")),
            node("Erf", "erf", List.of("fs"), List.of("e")),
            node("Add", "one_plus", List.of("e", "one"), List.of("e1")),
            node("Mul", "gate", List.of("f", "e1"), List.of("g2")),
            node("Mul", "half", List.of("g2", "half"), List.of("g")),
            node("MatMul", "fc2", List.of("g", "w2"), List.of("y"))),
        List.of(floatValue("x", 4, 8)), List.of(floatValue("y", 4, 8)),
        List.of(randomFloats("w1", 1, 8, 16), randomFloats("w2", 2, 16, 8), scalar("inv_sqrt2", 0.70710677f),
            scalar("one", 1f), scalar("half", 0.5f)));
  }

  /** GPT-2's GELU: h = 0.5 x; x + 0.044715 x^3 -> * sqrt(2/pi) -> Tanh -> + 1 -> * h. */
  private static ModelProto tanhGelu() {
    return model(13,
        List.of(node("MatMul", "fc1", List.of("x", "w1"), List.of("f")),
            node("Mul", "halfx", List.of("half", "f"), List.of("h")),
            node("Pow", "cube", List.of("f", "three"), List.of("f3")),
            node("Mul", "coef", List.of("c", "f3"), List.of("f3c")),
            node("Add", "inner", List.of("f", "f3c"), List.of("in")),
            node("Mul", "scale", List.of("in", "k"), List.of("ins")),
            node("Tanh", "tanh", List.of("ins"), List.of("t")),
            node("Add", "one_plus", List.of("t", "one"), List.of("t1")),
            node("Mul", "gate", List.of("h", "t1"), List.of("g")),
            node("MatMul", "fc2", List.of("g", "w2"), List.of("y"))),
        List.of(floatValue("x", 4, 8)), List.of(floatValue("y", 4, 8)),
        List.of(randomFloats("w1", 1, 8, 16), randomFloats("w2", 2, 16, 8), scalar("half", 0.5f),
            scalar("three", 3f), scalar("c", 0.044715f), scalar("k", 0.7978846f), scalar("one", 1f)));
  }

  @Test
  void geluInErfAndTanhFormIsOneFloatUnitEvenWithAddAndMulSelected() throws Exception {
    PlanOptions o = ops("MatMul", "Add", "Mul");
    CalibrationPlan erf = CalibrationPlan.of(erfGelu(), o);
    for (String n : List.of("scale", "erf", "one_plus", "gate", "half")) {
      CalibrationPlan.NodeDecision d = decision(erf, n);
      assertFalse(d.quantized(), n);
      assertTrue(d.reason().startsWith("inside GELU (Erf form) 'f' -> 'g' (5 nodes), kept FP32"), d.reason());
    }
    assertEquals(List.of("x", "f", "g", "y"), erf.activations());
    CalibrationPlan tanh = CalibrationPlan.of(tanhGelu(), o);
    for (String n : List.of("halfx", "cube", "coef", "inner", "scale", "tanh", "one_plus", "gate")) {
      CalibrationPlan.NodeDecision d = decision(tanh, n);
      assertFalse(d.quantized(), n);
      assertTrue(d.reason().startsWith("inside GELU (Tanh form) 'f' -> 'g' (8 nodes)"), d.reason());
    }
    assertEquals(List.of("x", "f", "g", "y"), tanh.activations());
    QdqOpRulesTest.quantizeAndCompare(tanhGelu(), o, new long[] {4, 8}, "y");
  }

  @Test
  void geluUnitAndGeluOpAreQuantizedAsOneOpWhenAsked() throws Exception {
    PlanOptions o = ops("MatMul", "Gelu");
    CalibrationPlan plan = CalibrationPlan.of(erfGelu(), o);
    CalibrationPlan.NodeDecision last = decision(plan, "half");
    assertTrue(last.quantized());
    assertEquals("rule UnaryRule for GELU (Erf form) 'f' -> 'g'", last.reason());
    assertEquals("input 'f' calibrated, output 'g' calibrated", last.details());
    assertFalse(decision(plan, "erf").quantized());
    // the opset-20 Gelu op
    ModelProto m = model(20,
        List.of(node("MatMul", "fc1", List.of("x", "w1"), List.of("f")),
            node("Gelu", "gelu", List.of("f"), List.of("g")),
            node("MatMul", "fc2", List.of("g", "w2"), List.of("y"))),
        List.of(floatValue("x", 4, 8)), List.of(floatValue("y", 4, 8)),
        List.of(randomFloats("w1", 1, 8, 16), randomFloats("w2", 2, 16, 8)));
    assertEquals("input 'f' calibrated, output 'g' calibrated", decision(CalibrationPlan.of(m, o), "gelu").details());
    assertTrue(decision(CalibrationPlan.of(m, ops("MatMul")), "gelu").reason()
        .startsWith("op type not in --op-types (not a default op type: ONNX Runtime has no integer kernel"));
    QdqOpRulesTest.quantizeAndCompare(m, o, new long[] {4, 8}, "y");
  }

  /** x[4,8] -> MatMul -> h -> LayerNorm as ReduceMean/Sub/Mul/ReduceMean/Add/Sqrt/Reciprocal/Mul/Mul/Add -> MatMul. */
  private static ModelProto decomposedLayerNorm() {
    List<NodeProto> nodes = new ArrayList<>(List.of(node("MatMul", "fc1", List.of("x", "w1"), List.of("h")),
        node("ReduceMean", "mean", List.of("h"), List.of("mu"), QdqTestGraphs.intsAttr("axes", -1)),
        node("Sub", "center", List.of("h", "mu"), List.of("d")),
        node("Mul", "square", List.of("d", "d"), List.of("d2")),
        node("ReduceMean", "var", List.of("d2"), List.of("v"), QdqTestGraphs.intsAttr("axes", -1)),
        node("Add", "eps", List.of("v", "epsilon"), List.of("ve")),
        node("Sqrt", "std", List.of("ve"), List.of("s")),
        node("Reciprocal", "inv", List.of("s"), List.of("r")),
        node("Mul", "norm", List.of("d", "r"), List.of("n")),
        node("Mul", "gamma_mul", List.of("n", "gamma"), List.of("ng")),
        node("Add", "beta_add", List.of("ng", "beta"), List.of("ln")),
        node("MatMul", "fc2", List.of("ln", "w2"), List.of("y"))));
    return model(13, nodes, List.of(floatValue("x", 4, 8)), List.of(floatValue("y", 4, 8)),
        List.of(randomFloats("w1", 1, 8, 8), randomFloats("w2", 2, 8, 8), scalar("epsilon", 1e-5f),
            randomFloats("gamma", 3, 8), randomFloats("beta", 4, 8)));
  }

  @Test
  void decomposedLayerNormStaysFp32AsOneUnit() throws Exception {
    PlanOptions o = ops("MatMul", "Add", "Mul");
    CalibrationPlan plan = CalibrationPlan.of(decomposedLayerNorm(), o);
    for (String n : List.of("mean", "center", "square", "var", "eps", "std", "inv", "norm", "gamma_mul", "beta_add")) {
      CalibrationPlan.NodeDecision d = decision(plan, n);
      assertFalse(d.quantized(), n);
      assertTrue(d.reason().startsWith("inside LayerNormalization (decomposed) 'h' -> 'ln' (10 nodes)"), d.reason());
    }
    assertEquals(List.of("x", "h", "ln", "y"), plan.activations());
    QdqOpRulesTest.quantizeAndCompare(decomposedLayerNorm(), o, new long[] {4, 8}, "y");
    // asked for, the unit is planned as one LayerNormalization: its input and output
    CalibrationPlan asked = CalibrationPlan.of(decomposedLayerNorm(), ops("MatMul", "LayerNormalization"));
    assertEquals("input 'h' calibrated, output 'ln' calibrated", decision(asked, "beta_add").details());
  }

  @Test
  void aRuleThatPlansNothingLeavesItsNodeFp32WithTheReason() {
    // a bias Add: its second input is a constant
    ModelProto m = model(13,
        List.of(node("MatMul", "fc", List.of("x", "w"), List.of("h")),
            node("Add", "bias", List.of("h", "b"), List.of("y"))),
        List.of(floatValue("x", 2, 4)), List.of(floatValue("y", 2, 3)),
        List.of(randomFloats("w", 1, 4, 3), randomFloats("b", 2, 3)));
    CalibrationPlan.NodeDecision d = decision(CalibrationPlan.of(m, ops("MatMul", "Add")), "bias");
    assertFalse(d.quantized());
    assertEquals("rule BinaryActivationRule planned nothing: 'y': Add 'bias' input 1 is not a float activation;"
        + " Add left in float", d.reason());
    CalibrationPlan.NodeDecision fc = decision(CalibrationPlan.of(m, ops("MatMul", "Add")), "fc");
    assertEquals("input 'x' calibrated, output 'h' calibrated", fc.details());
  }

  @Test
  void whereOfTwoActivationsIsQuantizedAConstantFillIsNot() throws Exception {
    // scores = x W; Where(mask, scores, scores * 0.5) vs Where(mask, scores, -1e4)
    TensorProto mask = TensorProto.newBuilder().setName("mask").setDataType(TensorProto.DataType.BOOL_VALUE)
        .addDims(2).addDims(3).setRawData(com.google.protobuf.ByteString.copyFrom(new byte[] {1, 0, 1, 1, 1, 0}))
        .build();
    ModelProto m = model(13,
        List.of(node("MatMul", "fc", List.of("x", "w"), List.of("s")),
            node("Mul", "halve", List.of("s", "half"), List.of("h")),
            node("Where", "both", List.of("mask", "s", "h"), List.of("a")),
            node("Where", "fill", List.of("mask", "a", "neg"), List.of("y"))),
        List.of(floatValue("x", 2, 4)), List.of(floatValue("y", 2, 3)),
        List.of(randomFloats("w", 1, 4, 3), scalar("half", 0.5f), scalar("neg", -1e4f), mask));
    PlanOptions o = ops("MatMul", "Where");
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    assertTrue(decision(plan, "both").quantized());
    assertEquals("input 's' calibrated, input 'h' calibrated, output 'a' calibrated", decision(plan, "both").details());
    assertFalse(decision(plan, "fill").quantized());
    assertTrue(decision(plan, "fill").reason().contains("input 2 'neg' is not a float activation"),
        decision(plan, "fill").reason());
    QdqRewriter.Result r = QdqOpRulesTest.quantizeAndCompare(m, o, new long[] {2, 4}, "y");
    assertEquals("DequantizeLinear", QdqTestGraphs.producers(r.model(), QdqTestGraphs.find(r.model(), "Where", "neg")
        .getInput(1)).get(0).getOpType());
  }

  @Test
  void matMulOutputStaysFloatWhenItsBiasAddIsFusedDownstream() {
    // fc1 -> bias Add -> residual Add (fused into SkipLayerNormalization); fc2 -> bias Add -> Relu (not fused)
    ModelProto m = model(13,
        List.of(node("MatMul", "fc1", List.of("x", "w1"), List.of("m1")),
            node("Add", "bias1", List.of("m1", "b1"), List.of("a1")),
            node("Add", "residual", List.of("a1", "x"), List.of("r")),
            node("MatMul", "fc2", List.of("r", "w2"), List.of("m2")),
            node("Add", "bias2", List.of("m2", "b2"), List.of("a2")),
            node("Relu", "relu", List.of("a2"), List.of("y"))),
        List.of(floatValue("x", 2, 4)), List.of(floatValue("y", 2, 4)),
        List.of(randomFloats("w1", 1, 4, 4), randomFloats("b1", 2, 4), randomFloats("w2", 3, 4, 4),
            randomFloats("b2", 4, 4)));
    CalibrationPlan plan = CalibrationPlan.of(m);
    assertEquals(List.of("x", "r", "m2"), plan.activations());
    assertEquals("input 'x' calibrated, output 'm1' float (bias Add fused downstream, MatMulIntegerToFloat)",
        decision(plan, "fc1").details());
    assertTrue(plan.skipped().stream().anyMatch(t -> t.startsWith("'m1': MatMul 'fc1' output left float")),
        plan.skipped().toString());
  }
}
