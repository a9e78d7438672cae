package dev.qcal.model.qdq;

import static dev.qcal.model.QdqTestGraphs.consumers;
import static dev.qcal.model.QdqTestGraphs.dequantized;
import static dev.qcal.model.QdqTestGraphs.dqFeeding;
import static dev.qcal.model.QdqTestGraphs.quantizer;
import static dev.qcal.model.QdqTestGraphs.find;
import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.initializer;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.producers;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.qcal.model.QdqTestGraphs;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

public class QdqRewriterTest {

  private static long axisOf(NodeProto n) {
    return n.getAttributeList().stream().filter(a -> a.getName().equals("axis")).findFirst()
        .orElseThrow(() -> new AssertionError(n.getName() + " has no axis")).getI();
  }

  /** Min/max params from one FP32 run of the model with the planned activations as extra outputs. */
  public static Map<String, QuantParams> calibrate(ModelProto m, CalibrationPlan plan, float[] x, long[] shape)
      throws Exception {
    Map<String, QuantParams> params = new HashMap<>();
    QdqTestGraphs.activationRanges(m, plan, x, shape).forEach(
        (t, r) -> params.put(t, LinearQuant.forRange(r[0], r[1], QuantType.UINT8, false)));
    return params;
  }

  @Test
  void convReluGetsQdqAfterReluAndInt8PerChannelWeightsAndInt32Bias() throws Exception {
    ModelProto m = QdqTestGraphs.convRelu(13);
    CalibrationPlan plan = CalibrationPlan.of(m);
    long[] shape = {1, 3, 8, 8};
    float[] x = QdqTestGraphs.uniform(7, 3 * 64, -1f, 1f);
    Map<String, QuantParams> params = calibrate(m, plan, x, shape);
    QdqRewriter.Result r = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params));
    ModelProto q = r.model();

    // Conv -> Relu directly; the Q reads the Relu output; conv2 reads its DQ.
    NodeProto relu = find(q, "Relu", "c1");
    assertEquals(List.of(relu), consumers(q, "c1"));
    NodeProto quant = find(q, "QuantizeLinear", "r1");
    assertEquals("r1", quant.getInput(0));
    assertEquals(3, quant.getInputCount());
    assertEquals(List.of(quant), consumers(q, "r1"));
    NodeProto conv2 = find(q, "Conv", dequantized(q, "r1"));
    assertEquals(List.of(dequantized(q, "r1"), dqFeeding(q, "conv2", 1).getOutput(0),
        dqFeeding(q, "conv2", 2).getOutput(0)), conv2.getInputList());
    assertEquals(0, initializer(q, quant.getInput(1)).getDimsCount());
    assertEquals(TensorProto.DataType.UINT8_VALUE, initializer(q, quant.getInput(2)).getDataType());
    // Short generated names, unnamed Q/DQ nodes.
    assertEquals(List.of("r1", "s1", "z1"), quant.getInputList());
    assertEquals("", quant.getName());
    // Graph input x is quantized too; graph output y, a Conv's, is written by its DequantizeLinear (the
    // Conv writes y_QuantizeInput), so the model's interface is unchanged.
    assertEquals(dequantized(q, "x"), find(q, "Conv", dqFeeding(q, "conv1", 1).getOutput(0)).getInput(0));
    assertEquals("y", q.getGraph().getOutput(0).getName());
    assertEquals(List.of("y_QuantizeInput"), conv2.getOutputList());
    assertEquals("DequantizeLinear", producers(q, "y").get(0).getOpType());
    assertEquals("y_QuantizeInput", quantizer(q, "y").getInput(0));

    // Weights: INT8 per output channel (axis 0) with int8 zero points; float originals removed.
    NodeProto w1dq = dqFeeding(q, "conv1", 1);
    TensorProto w1 = initializer(q, w1dq.getInput(0));
    assertEquals(TensorProto.DataType.INT8_VALUE, w1.getDataType());
    assertEquals(List.of(8L, 3L, 3L, 3L), w1.getDimsList());
    assertEquals(List.of(8L), initializer(q, w1dq.getInput(1)).getDimsList());
    assertEquals(2, w1dq.getInputCount(), "symmetric Conv weights: zero point 0 by default, left out");
    assertEquals(0, axisOf(w1dq));
    assertEquals(0, r.weightParams().get("w1").axis());
    // Bias: INT32, scale = x scale * w1 scale[c], axis 0, int32 zero points.
    NodeProto b1dq = dqFeeding(q, "conv1", 2);
    TensorProto b1 = initializer(q, b1dq.getInput(0));
    assertEquals(TensorProto.DataType.INT32_VALUE, b1.getDataType());
    assertEquals(2, b1dq.getInputCount(), "int32 zero point left out: 0 by default");
    assertEquals(0, axisOf(b1dq));
    QuantParams bp = r.weightParams().get("b1");
    assertEquals(QuantType.INT32, bp.type());
    assertEquals(params.get("x").scale(0) * r.weightParams().get("w1").scale(3), bp.scale(3));
    assertValidOrder(q);
    for (String gone : List.of("w1", "b1", "w2", "b2")) {
      assertTrue(q.getGraph().getInitializerList().stream().noneMatch(t -> t.getName().equals(gone)), gone);
    }

    // FP32 vs QDQ in ONNX Runtime, with and without Q/DQ fusion.
    float[] fp = QdqTestGraphs.run(m.toByteArray(), OptLevel.NO_OPT, "x", x, shape, List.of("y")).get(0);
    float yScale = params.get("y").scale(0);
    for (OptLevel level : List.of(OptLevel.NO_OPT, OptLevel.ALL_OPT)) {
      float[] qd = QdqTestGraphs.run(q.toByteArray(), level, "x", x, shape, List.of("y")).get(0);
      double maxErr = 0;
      for (int i = 0; i < fp.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(fp[i] - qd[i]));
      }
      assertTrue(maxErr <= 4 * yScale, level + ": max |fp32 - qdq| = " + maxErr + " > 4 * " + yScale);
    }
  }

  @Test
  void tensorWithTwoConsumersGetsOneQdqPair() {
    ModelProto m = model(13,
        List.of(
            node("Conv", "a", List.of("x", "w"), List.of("c")),
            node("Sigmoid", "s", List.of("c"), List.of("sc")),
            node("Mul", "m", List.of("c", "sc"), List.of("y"))),
        List.of(floatValue("x", 1, 2, 4, 4)),
        List.of(floatValue("y", 1, 2, 4, 4)),
        List.of(randomFloats("w", 1, 2, 2, 1, 1)));
    CalibrationPlan plan = CalibrationPlan.of(m);
    QuantParams p = LinearQuant.forRange(-1f, 1f, QuantType.UINT8, false);
    ModelProto q = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, Map.of("x", p, "c", p))).model();
    assertEquals(1, consumers(q, "c").size());
    assertEquals("QuantizeLinear", consumers(q, "c").get(0).getOpType());
    assertEquals(2, consumers(q, dequantized(q, "c")).size());
    assertEquals(2, q.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("QuantizeLinear")).count());
    assertValidOrder(q);
  }

  @Test
  void matMulWeightsArePerColumnAndBiasAddStaysFloat() {
    ModelProto m = model(13,
        List.of(
            node("MatMul", "fc", List.of("a", "fc_w"), List.of("mm")),
            node("Add", "fc_add", List.of("mm", "fc_b"), List.of("y"))),
        List.of(floatValue("a", 2, 4)),
        List.of(floatValue("y", 2, 3)),
        List.of(randomFloats("fc_w", 1, 4, 3), randomFloats("fc_b", 2, 3)));
    QuantParams p = LinearQuant.forRange(-2f, 2f, QuantType.UINT8, false);
    QdqRewriter.Result r = QdqRewriter.rewrite(
        QdqRewriter.Request.of(m, CalibrationPlan.of(m), Map.of("a", p, "mm", p)));
    ModelProto q = r.model();
    assertEquals(1, axisOf(dqFeeding(q, "fc", 1)));
    assertEquals(List.of(3L), initializer(q, dqFeeding(q, "fc", 1).getInput(1)).getDimsList());
    // ORT's QGemm fusion needs the weight zero point, so MatMul/Gemm weights keep it.
    assertEquals(TensorProto.DataType.INT8_VALUE, initializer(q, dqFeeding(q, "fc", 1).getInput(2)).getDataType());
    assertEquals(3, r.weightParams().get("fc_w").channels());
    assertEquals(List.of(dequantized(q, "mm"), "fc_b"), find(q, "Add", "fc_b").getInputList());
    assertEquals(TensorProto.DataType.FLOAT_VALUE, initializer(q, "fc_b").getDataType());
  }

  @Test
  void missingParamsNameTheTensor() {
    ModelProto m = QdqTestGraphs.convRelu(13);
    QuantParams p = LinearQuant.forRange(-1f, 1f, QuantType.UINT8, false);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> QdqRewriter.rewrite(QdqRewriter.Request.of(m, CalibrationPlan.of(m), Map.of("x", p, "y", p))));
    assertTrue(e.getMessage().contains("No quantization params for activation 'r1'"), e.getMessage());
  }

  @Test
  void opsetBelow13IsRefused() {
    ModelProto m = QdqTestGraphs.convRelu(11);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> QdqRewriter.rewrite(QdqRewriter.Request.of(m, CalibrationPlan.of(m), Map.of())));
    assertTrue(e.getMessage().contains("opset 11"), e.getMessage());
  }

  @Test
  void int8ActivationsGetInt8ZeroPoints() {
    ModelProto m = QdqTestGraphs.convRelu(13);
    QuantParams p = LinearQuant.forRange(-1f, 1f, QuantType.INT8, false);
    ModelProto q = QdqRewriter.rewrite(
        QdqRewriter.Request.of(m, CalibrationPlan.of(m), Map.of("x", p, "r1", p, "y", p)))
        .model();
    for (String t : List.of("x", "r1", "y")) {
      assertEquals(TensorProto.DataType.INT8_VALUE, initializer(q, quantizer(q, t).getInput(2)).getDataType(), t);
    }
  }

  @Test
  void sixteenBitActivationsNeedOpset21AndInt32IsRefused() {
    ModelProto m = QdqTestGraphs.convRelu(13);
    CalibrationPlan plan = CalibrationPlan.of(m);
    QuantParams p16 = LinearQuant.forRange(-1f, 1f, QuantType.UINT16, false);
    Map<String, QuantParams> params = Map.of("x", p16, "r1", p16, "y", p16);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params)));
    assertTrue(e.getMessage().contains("activation 'x' to uint16") && e.getMessage().contains("opset 13"),
        e.getMessage());
    ModelProto m21 = QdqTestGraphs.convRelu(21);
    ModelProto q21 = QdqRewriter.rewrite(QdqRewriter.Request.of(m21, plan, params)).model();
    assertEquals(TensorProto.DataType.UINT16_VALUE, initializer(q21, quantizer(q21, "x").getInput(2)).getDataType());
    e = assertThrows(IllegalArgumentException.class, () -> QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params)
        .withWeights(QuantType.INT32)));
    assertTrue(e.getMessage().contains("int32"), e.getMessage());
  }

  @Test
  void biasStaysFloatWhenItsActivationIsNotQuantized() {
    // Conv reads an initializer as its data input: nothing to take the bias scale from.
    ModelProto m = model(13,
        List.of(node("Conv", "c", List.of("xc", "w", "b"), List.of("y"))),
        List.of(),
        List.of(floatValue("y", 1, 2, 4, 4)),
        List.of(randomFloats("xc", 9, 1, 2, 4, 4), randomFloats("w", 1, 2, 2, 1, 1), randomFloats("b", 2, 2)));
    QuantParams p = LinearQuant.forRange(-1f, 1f, QuantType.UINT8, false);
    QdqRewriter.Result r = QdqRewriter.rewrite(QdqRewriter.Request.of(m, CalibrationPlan.of(m), Map.of("y", p)));
    assertEquals(List.of("xc", dqFeeding(r.model(), "c", 1).getOutput(0), "b"),
        find(r.model(), "Conv", "xc").getInputList());
    assertFalse(r.weightParams().containsKey("b"));
    assertTrue(r.skipped().stream().anyMatch(s -> s.startsWith("'b'")), r.skipped().toString());
  }

  /** Every node input is a graph input, an initializer or an output of an earlier node. */
  public static void assertValidOrder(ModelProto q) {
    java.util.Set<String> known = new java.util.HashSet<>();
    q.getGraph().getInputList().forEach(v -> known.add(v.getName()));
    q.getGraph().getInitializerList().forEach(t -> known.add(t.getName()));
    known.add("");
    for (NodeProto n : q.getGraph().getNodeList()) {
      for (String in : n.getInputList()) {
        assertTrue(known.contains(in), n.getName() + " reads " + in + " before it is produced");
      }
      known.addAll(n.getOutputList());
    }
  }
}
