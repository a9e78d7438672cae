package dev.qcal.model.qdq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.FragileModel;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.PlanOptions;
import dev.qcal.model.plan.QdqOpRules;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Single-tensor variants of a QDQ model, and the plan's owners of each quantized tensor. */
class SingleTensorQdqTest {
  private static ModelProto quantized(ModelProto fp32, CalibrationPlan plan) {
    Map<String, QuantParams> params = new LinkedHashMap<>();
    for (String t : plan.activations()) {
      params.put(t, LinearQuant.forRange(-2f, 3f, QuantType.UINT8, false));
    }
    // graph output logits (a MatMul's) quantized too, so a variant renames its producer's output
    return QdqRewriter.rewrite(QdqRewriter.Request.of(fp32, plan, params)
        .withOutputs(QdqRewriter.Outputs.QUANTIZED)).model();
  }

  private static long count(ModelProto m, String op) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).count();
  }

  @Test
  void eachVariantQuantizesExactlyOneTensorOfTheQdqModel() {
    ModelProto fp32 = FragileModel.model();
    CalibrationPlan plan = CalibrationPlan.of(fp32);
    ModelProto q = quantized(fp32, plan);
    SingleTensorQdq v = SingleTensorQdq.of(fp32, q);
    List<SingleTensorQdq.Target> targets = v.targets();
    assertEquals(List.of("x", "x0", "a", "logits", "W0", "W1", "W2"),
        targets.stream().map(SingleTensorQdq.Target::tensor).toList());
    SingleTensorQdq.Target a = targets.get(2);
    assertEquals("activation", a.kind());
    assertEquals(List.of("mm2"), a.nodes());
    assertEquals(List.of("mm1"), targets.get(5).nodes());
    assertEquals("weight", targets.get(5).kind());

    ModelProto onlyA = v.variant(2);
    assertEquals(1, count(onlyA, "QuantizeLinear"));
    assertEquals(1, count(onlyA, "DequantizeLinear"));
    NodeProto quantizeA = onlyA.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("QuantizeLinear")).findFirst().orElseThrow();
    assertEquals("a", quantizeA.getInput(0));
    NodeProto dq = onlyA.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("DequantizeLinear")).findFirst().orElseThrow();
    NodeProto mm2 = onlyA.getGraph().getNodeList().stream().filter(n -> n.getName().equals("mm2")).findFirst().orElseThrow();
    assertEquals(dq.getOutput(0), mm2.getInput(0), "mm2 reads a's dequantized value");
    // topological: the pair sits between mm1 (producing a) and mm2
    List<String> order = onlyA.getGraph().getNodeList().stream().map(n -> n.getOpType() + ":" + n.getName()).toList();
    assertEquals(List.of("MatMul:mm0", "MatMul:mm1", "QuantizeLinear:", "DequantizeLinear:", "MatMul:mm2"), order);

    // graph output logits: its producer writes the Q's input, its DQ writes logits
    ModelProto onlyLogits = v.variant(3);
    List<NodeProto> pair = onlyLogits.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().matches("(Dequantize|Quantize)Linear")).toList();
    assertEquals(List.of("logits_QuantizeInput"), pair.get(0).getInputList().subList(0, 1));
    assertEquals(List.of("logits"), pair.get(1).getOutputList());
    assertEquals(1, onlyLogits.getGraph().getNodeList().stream()
        .filter(n -> n.getOutputList().equals(List.of("logits_QuantizeInput"))).count());

    ModelProto onlyW1 = v.variant(5);
    assertEquals(0, count(onlyW1, "QuantizeLinear"));
    assertEquals(1, count(onlyW1, "DequantizeLinear"));
    NodeProto mm1 = onlyW1.getGraph().getNodeList().stream().filter(n -> n.getName().equals("mm1")).findFirst().orElseThrow();
    assertEquals("x0", mm1.getInput(0), "activations stay FP32");
    assertTrue(!mm1.getInput(1).equals("W1"), "mm1 reads the dequantized W1");
    assertTrue(onlyW1.getGraph().getInitializerList().stream().noneMatch(t -> t.getName().equals("W1")),
        "the float W1, read by no node any more, is dropped");
    assertTrue(onlyA.getGraph().getInitializerList().stream().anyMatch(t -> t.getName().equals("W1")),
        "an activation variant keeps every weight");
  }

  @Test
  void planOwnersAreTheNodesWhoseExclusionRemovesTheTensor() {
    ModelProto fp32 = FragileModel.model();
    CalibrationPlan plan = CalibrationPlan.of(fp32);
    assertEquals(Set.of("mm1", "mm2"), plan.owners("a"));
    assertEquals(Set.of("mm1"), plan.owners("W1"));
    assertEquals(Set.of("mm0"), plan.owners("x"));
    CalibrationPlan without = CalibrationPlan.of(fp32,
        new PlanOptions(QdqOpRules.DEFAULT_OP_TYPES, List.copyOf(plan.owners("a")), Set.of(), false));
    assertTrue(!without.activations().contains("a"), without.activations().toString());
    assertTrue(without.activations().contains("x0"), "mm0 still quantizes its output");
    assertEquals(Set.of(), without.owners("a"));
  }

  @Test
  void aWeightQuantizedOnTwoAxesIsOneTargetWithBothDequantizers() {
    ModelProto fp32 = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm", List.of("x", "W"), List.of("y1")),
            TestGraphs.node("Gemm", "gemm", List.of("x", "W"), List.of("y2"), TestGraphs.i("transB", 1))),
        List.of(TestGraphs.floatInfo("x", 2, 4)),
        List.of(TestGraphs.floatInfo("y1", 2, 4), TestGraphs.floatInfo("y2", 2, 4)),
        List.of(TestGraphs.floatTensor("W", new long[] {4, 4}, TestGraphs.randomFloats(16, 3))));
    ModelProto q = quantized(fp32, CalibrationPlan.of(fp32));
    SingleTensorQdq v = SingleTensorQdq.of(fp32, q);
    SingleTensorQdq.Target w = v.targets().stream().filter(t -> t.kind().equals("weight")).findFirst().orElseThrow();
    assertEquals("W", w.tensor());
    assertEquals(List.of("mm", "gemm"), w.nodes());
    assertEquals(1, v.targets().stream().filter(t -> t.kind().equals("weight")).count());
    ModelProto onlyW = v.variant(v.targets().indexOf(w));
    List<NodeProto> dqs = onlyW.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("DequantizeLinear")).toList();
    assertEquals(2, dqs.size(), "per-column for MatMul, per-row for Gemm(transB)");
    Set<String> dqOutputs = new java.util.HashSet<>(dqs.stream().map(n -> n.getOutput(0)).toList());
    for (NodeProto n : onlyW.getGraph().getNodeList()) {
      if (n.getName().equals("mm") || n.getName().equals("gemm")) {
        assertTrue(dqOutputs.contains(n.getInput(1)), n.getName() + " reads " + n.getInput(1));
      }
    }
    java.util.Set<String> inits = new java.util.HashSet<>();
    onlyW.getGraph().getInitializerList().forEach(t -> assertTrue(inits.add(t.getName()), "one initializer " + t.getName()));
    assertTrue(!inits.contains("W"), "the float W is read by no node any more");
  }

  @Test
  void aQuantizedModelOfAnotherGraphIsRejectedByName() {
    ModelProto fp32 = FragileModel.model();
    ModelProto q = quantized(fp32, CalibrationPlan.of(fp32));
    ModelProto other = TestGraphs.model(13, List.of(TestGraphs.node("Relu", "r", List.of("x"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 1, 8)), List.of(TestGraphs.floatInfo("y", 1, 8)), List.of());
    ModelException e = assertThrows(ModelException.class, () -> SingleTensorQdq.of(other, q));
    assertTrue(e.getMessage().contains("prepared FP32 model"), e.getMessage());
  }
}
