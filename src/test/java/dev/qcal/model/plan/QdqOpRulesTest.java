package dev.qcal.model.plan;

import static dev.qcal.model.QdqTestGraphs.consumers;
import static dev.qcal.model.QdqTestGraphs.dequantized;
import static dev.qcal.model.QdqTestGraphs.find;
import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.initializer;
import static dev.qcal.model.QdqTestGraphs.intAttr;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.producers;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import com.google.protobuf.ByteString;
import dev.qcal.model.QdqTestGraphs;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.TransformerQdq;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.model.qdq.QdqRewriterTest;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Each operator rule on a tiny graph: node-by-node structure, ORT (all optimizations) runs it, close to FP32. */
class QdqOpRulesTest {

  private static final long[] X = {1, 2, 4, 4};

  private static PlanOptions ops(String... opTypes) {
    return new PlanOptions(Set.of(opTypes), List.of(), Set.of(), false);
  }

  /** Plans, calibrates min/max on one input, rewrites, and checks FP32 vs QDQ (ORT_ENABLE_ALL) on it. */
  static QdqRewriter.Result quantizeAndCompare(ModelProto m, PlanOptions o, long[] shape, String output)
      throws Exception {
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    int n = 1;
    for (long d : shape) {
      n *= (int) d;
    }
    float[] x = QdqTestGraphs.uniform(11, n, -1f, 1f);
    Map<String, QuantParams> params = QdqRewriterTest.calibrate(m, plan, x, shape);
    QdqRewriter.Result r = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params));
    QdqRewriterTest.assertValidOrder(r.model());
    float[] fp = QdqTestGraphs.run(m.toByteArray(), OptLevel.NO_OPT, "x", x, shape, List.of(output)).get(0);
    float[] q = QdqTestGraphs.run(r.model().toByteArray(), OptLevel.ALL_OPT, "x", x, shape, List.of(output)).get(0);
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    double maxErr = 0;
    for (int i = 0; i < fp.length; i++) {
      lo = Math.min(lo, fp[i]);
      hi = Math.max(hi, fp[i]);
      maxErr = Math.max(maxErr, Math.abs(fp[i] - q[i]));
    }
    assertTrue(maxErr <= 0.05 * (hi - lo) + 1e-6, "max |fp32 - qdq| = " + maxErr + ", output range " + (hi - lo));
    return r;
  }

  private static TensorProto longs(String name, long... v) {
    ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(v.length)
        .setRawData(ByteString.copyFrom(b.array())).build();
  }

  private static AttributeProto str(String name, String v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
        .setS(ByteString.copyFromUtf8(v)).build();
  }

  private static NodeProto conv(String name, String in, String w, String out) {
    return node("Conv", name, List.of(in, w), List.of(out));
  }

  /** The DequantizeLinear that feeds input {@code index} of the node producing {@code output}. */
  private static NodeProto dqFeeding(ModelProto q, String output, int index) {
    NodeProto n = QdqTestGraphs.computing(q, output);
    NodeProto dq = producers(q, n.getInput(index)).get(0);
    assertEquals("DequantizeLinear", dq.getOpType(), n.getName() + " input " + index);
    return dq;
  }

  /** The QuantizeLinear of {@code tensor} (for a quantized graph output, the one before its DQ). */
  private static NodeProto qOf(ModelProto q, String tensor) {
    return QdqTestGraphs.quantizer(q, tensor);
  }

  private static float scalar(ModelProto q, String name) {
    return ByteBuffer.wrap(initializer(q, name).getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).getFloat();
  }

  @Test
  void addAndMulOfTwoActivationsQuantizeBothInputsAndTheOutput() throws Exception {
    ModelProto m = model(13,
        List.of(conv("a", "x", "w1", "c"), conv("b", "x", "w2", "d"),
            node("Add", "add", List.of("c", "d"), List.of("s")),
            node("Mul", "mul", List.of("s", "d"), List.of("p")),
            node("Add", "bias", List.of("p", "k"), List.of("y"))),
        List.of(floatValue("x", X)), List.of(floatValue("y", X)),
        List.of(randomFloats("w1", 1, 2, 2, 1, 1), randomFloats("w2", 2, 2, 2, 1, 1), randomFloats("k", 3, 1)));
    CalibrationPlan plan = CalibrationPlan.of(m, ops("Conv", "Add", "Mul"));
    assertEquals(List.of("x", "c", "d", "s", "p"), plan.activations());
    assertTrue(plan.skipped().stream().anyMatch(s -> s.startsWith("'y'") && s.contains("Add left in float")),
        plan.skipped().toString());
    ModelProto q = quantizeAndCompare(m, ops("Conv", "Add", "Mul"), X, "y").model();
    NodeProto add = find(q, "Add", dqFeeding(q, "s", 0).getOutput(0));
    assertEquals("DequantizeLinear", producers(q, add.getInput(1)).get(0).getOpType());
    qOf(q, "s");
    assertEquals(List.of(producers(q, "s").get(0)), List.of(add));
    assertEquals(dequantized(q, "p"), find(q, "Add", "k").getInput(0));
  }

  @Test
  void concatQuantizesEachInputWithItsOwnParamsAndTheOutput() throws Exception {
    ModelProto m = model(13,
        List.of(conv("a", "x", "w1", "c"), conv("b", "x", "w2", "d"),
            node("Concat", "cat", List.of("c", "d"), List.of("y"), intAttr("axis", 1))),
        List.of(floatValue("x", X)), List.of(floatValue("y", 1, 4, 4, 4)),
        List.of(randomFloats("w1", 1, 2, 2, 1, 1), randomFloats("w2", 2, 2, 2, 1, 1)));
    ModelProto q = quantizeAndCompare(m, ops("Conv", "Concat"), X, "y").model();
    NodeProto cat = QdqTestGraphs.computing(q, "y");
    for (int i = 0; i < 2; i++) {
      NodeProto dq = producers(q, cat.getInput(i)).get(0);
      assertEquals("DequantizeLinear", dq.getOpType());
      assertEquals(qOf(q, List.of("c", "d").get(i)).getInput(1), dq.getInput(1));
    }
    qOf(q, "y");
  }

  @Test
  void poolsMaxSharesTheInputParamsAverageGetsItsOwn() throws Exception {
    ModelProto m = model(13,
        List.of(conv("a", "x", "w1", "c"),
            node("MaxPool", "mp", List.of("c"), List.of("m"), QdqTestGraphs.intsAttr("kernel_shape", 2, 2)),
            node("AveragePool", "ap", List.of("m"), List.of("v"), QdqTestGraphs.intsAttr("kernel_shape", 2, 2)),
            node("GlobalAveragePool", "gap", List.of("v"), List.of("y"))),
        List.of(floatValue("x", X)), List.of(floatValue("y", 1, 2, 1, 1)),
        List.of(randomFloats("w1", 1, 2, 2, 1, 1)));
    PlanOptions o = ops("Conv", "MaxPool", "AveragePool", "GlobalAveragePool");
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    assertEquals(List.of("x", "c", "v", "y"), plan.activations());
    assertEquals(Map.of("m", new CalibrationPlan.Derived("c", false, 0f, 0f)), plan.derived());
    ModelProto q = quantizeAndCompare(m, o, X, "y").model();
    assertEquals(qOf(q, "c").getInputList().subList(1, 3), qOf(q, "m").getInputList().subList(1, 3));
    assertEquals(dequantized(q, "c"), producers(q, "m").get(0).getInput(0));
    assertEquals(dequantized(q, "m"), producers(q, "v").get(0).getInput(0));
    assertEquals(dequantized(q, "v"), QdqTestGraphs.computing(q, "y").getInput(0));
    assertFalse(qOf(q, "v").getInput(1).equals(qOf(q, "c").getInput(1)), "AveragePool output has its own scale");
  }

  @Test
  void resizeAndUpsampleReuseTheInputParams() throws Exception {
    ModelProto m = model(13,
        List.of(conv("a", "x", "w1", "c"),
            node("Resize", "up", List.of("c", "", "sc"), List.of("r"), str("mode", "nearest")),
            conv("b", "r", "w2", "y")),
        List.of(floatValue("x", X)), List.of(floatValue("y", 1, 2, 8, 8)),
        List.of(randomFloats("w1", 1, 2, 2, 1, 1), randomFloats("w2", 2, 2, 2, 1, 1),
            TestGraphs.floatTensor("sc", new long[] {4}, new float[] {1, 1, 2, 2})));
    ModelProto q = quantizeAndCompare(m, ops("Conv", "Resize"), X, "y").model();
    assertEquals(qOf(q, "c").getInput(1), qOf(q, "r").getInput(1));
    assertEquals(dequantized(q, "r"), find(q, "Conv", dequantized(q, "r")).getInput(0));
  }

  @Test
  void passThroughOpsReuseTheInputParamsWithoutRequantizing() throws Exception {
    ModelProto m = model(13,
        List.of(conv("a", "x", "w1", "c"),
            node("Unsqueeze", "u", List.of("c", "ax0"), List.of("u1")),
            node("Squeeze", "s", List.of("u1", "ax0"), List.of("s1")),
            node("Transpose", "t", List.of("s1"), List.of("t1"), QdqTestGraphs.intsAttr("perm", 0, 2, 3, 1)),
            node("Slice", "sl", List.of("t1", "st", "en", "ax3"), List.of("sl1")),
            node("Reshape", "r", List.of("sl1", "shape"), List.of("r1")),
            node("Flatten", "f", List.of("r1"), List.of("f1")),
            node("MatMul", "fc", List.of("f1", "wfc"), List.of("y"))),
        List.of(floatValue("x", X)), List.of(floatValue("y", 1, 3)),
        List.of(randomFloats("w1", 1, 2, 2, 1, 1), longs("ax0", 0), longs("st", 0), longs("en", 1), longs("ax3", 3),
            longs("shape", 1, 16), randomFloats("wfc", 2, 16, 3)));
    PlanOptions o = ops("Conv", "MatMul", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice");
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    assertEquals(List.of("x", "c", "y"), plan.activations());
    assertEquals(List.of("u1", "s1", "t1", "sl1", "r1", "f1"), List.copyOf(plan.derived().keySet()));
    ModelProto q = quantizeAndCompare(m, o, X, "y").model();
    for (String t : List.of("u1", "s1", "t1", "sl1", "r1", "f1")) {
      assertEquals(qOf(q, "c").getInputList().subList(1, 3), qOf(q, t).getInputList().subList(1, 3), t);
    }
    assertEquals(dequantized(q, "f1"), find(q, "MatMul", dequantized(q, "f1")).getInput(0));
  }

  @Test
  void derivedParamsNeedAQuantizedPerTensorSource() {
    ModelProto m = model(13,
        List.of(conv("a", "x", "w1", "c"),
            node("Transpose", "t", List.of("c"), List.of("y"), QdqTestGraphs.intsAttr("perm", 0, 2, 3, 1))),
        List.of(floatValue("x", X)), List.of(floatValue("y", 1, 4, 4, 2)),
        List.of(randomFloats("w1", 1, 2, 2, 1, 1)));
    PlanOptions o = ops("Conv", "Transpose");
    QuantParams perTensor = dev.qcal.quant.LinearQuant.forRange(-1f, 1f, QuantType.UINT8, false);
    QuantParams perChannel = new QuantParams(new float[] {0.01f, 0.02f}, new long[] {128, 128}, QuantType.UINT8, 1);
    QdqRewriter.Result r = QdqRewriter.rewrite(
        QdqRewriter.Request.of(m, CalibrationPlan.of(m, o), Map.of("x", perTensor, "c", perChannel)));
    assertTrue(r.skipped().stream().anyMatch(s -> s.startsWith("'y'") && s.contains("per channel")), r.skipped().toString());
    assertEquals(List.of(), consumers(r.model(), "y"));
  }

  @Test
  void sigmoidHardSigmoidAndHardSwishOutputsAreQuantized() throws Exception {
    ModelProto m = model(14,
        List.of(conv("a", "x", "w1", "c"),
            node("Sigmoid", "sg", List.of("c"), List.of("s1")),
            node("HardSigmoid", "hs", List.of("s1"), List.of("h1")),
            node("HardSwish", "hw", List.of("h1"), List.of("y"))),
        List.of(floatValue("x", X)), List.of(floatValue("y", X)),
        List.of(randomFloats("w1", 1, 2, 2, 1, 1)));
    PlanOptions o = ops("Conv", "Sigmoid", "HardSigmoid", "HardSwish");
    assertEquals(List.of("x", "c", "s1", "h1", "y"), CalibrationPlan.of(m, o).activations());
    ModelProto q = quantizeAndCompare(m, o, X, "y").model();
    java.util.Set<String> scales = new java.util.HashSet<>();
    for (String t : List.of("c", "s1", "h1", "y")) {
      scales.add(qOf(q, t).getInput(1));
    }
    assertEquals(4, scales.size(), "each output has its own scale");
  }

  @Test
  void softmaxOutputRangeIsFixedToZeroOne() throws Exception {
    ModelProto m = model(13,
        List.of(node("MatMul", "fc", List.of("x", "w"), List.of("l")),
            node("Softmax", "sm", List.of("l"), List.of("y"), intAttr("axis", -1))),
        List.of(floatValue("x", 2, 4)), List.of(floatValue("y", 2, 3)),
        List.of(randomFloats("w", 1, 4, 3)));
    PlanOptions o = ops("MatMul", "Softmax");
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    assertEquals(List.of("x", "l"), plan.activations());
    assertEquals(new CalibrationPlan.Derived("l", true, 0f, 1f), plan.derived().get("y"));
    ModelProto q = quantizeAndCompare(m, o, new long[] {2, 4}, "y").model();
    assertEquals(1f / 255f, scalar(q, qOf(q, "y").getInput(1)), 1e-9f);
    assertEquals(TensorProto.DataType.UINT8_VALUE, initializer(q, qOf(q, "y").getInput(2)).getDataType());
  }

  @Test
  void convTransposeWeightsArePerOutputChannelOnAxisOne() throws Exception {
    ModelProto m = model(13,
        List.of(node("ConvTranspose", "ct", List.of("x", "w", "b"), List.of("y"),
            QdqTestGraphs.intsAttr("strides", 2, 2))),
        List.of(floatValue("x", X)), List.of(floatValue("y", 1, 3, 9, 9)),
        List.of(randomFloats("w", 1, 2, 3, 3, 3), randomFloats("b", 2, 3)));
    PlanOptions o = ops("ConvTranspose");
    assertEquals(List.of(new CalibrationPlan.WeightRef("ct", "w", 1, "b", "x")), CalibrationPlan.of(m, o).weights());
    QdqRewriter.Result r = quantizeAndCompare(m, o, X, "y");
    ModelProto q = r.model();
    NodeProto dq = dqFeeding(q, "y", 1);
    assertEquals(1, dq.getAttribute(0).getI());
    assertEquals(List.of(3L), initializer(q, dq.getInput(1)).getDimsList());
    assertEquals(TensorProto.DataType.INT32_VALUE, initializer(q, dqFeeding(q, "y", 2).getInput(0)).getDataType());
  }

  @Test
  void gatherOnAWeightTableStoresItAsUint8PerTensorAndItsOutputSharesTheParams() throws Exception {
    // issue 15: uint8 per tensor with the output on the table's params (ORT's layout), so ONNX Runtime gathers
    // the 8-bit rows; int8 per row made it dequantize the whole table on every run
    ModelProto m = model(13,
        List.of(node("Gather", "emb", List.of("table", "idx"), List.of("g")),
            node("Add", "add", List.of("g", "x"), List.of("y"))),
        List.of(floatValue("x", 2, 4)), List.of(floatValue("y", 2, 4)),
        List.of(randomFloats("table", 1, 10, 4), longs("idx", 3, 7)));
    PlanOptions o = ops("Gather");
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    assertEquals(List.of(new CalibrationPlan.WeightRef("emb", "table", 0, null, null)), plan.weights());
    ModelProto q = quantizeAndCompare(m, o, new long[] {2, 4}, "y").model();
    NodeProto dq = dqFeeding(q, "g", 0);
    assertEquals(TensorProto.DataType.UINT8_VALUE, initializer(q, dq.getInput(0)).getDataType());
    assertEquals(List.of(), initializer(q, dq.getInput(1)).getDimsList());
    assertEquals(dq.getInputList().subList(1, 3), qOf(q, "g").getInputList().subList(1, 3));
    assertFalse(q.getGraph().getInitializerList().stream().anyMatch(t -> t.getName().equals("table")));
    // ONNX Runtime gathers from the 8-bit table: no DequantizeLinear reads it any more
    ModelProto opt = TransformerQdq.optimized(q);
    NodeProto gather = opt.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Gather")).findFirst()
        .orElseThrow();
    assertTrue(opt.getGraph().getInitializerList().stream().anyMatch(t -> t.getName().equals(gather.getInput(0))
        && t.getDataType() == TensorProto.DataType.UINT8_VALUE), gather.toString());
    // when a consumer's rule calibrates the output, the table keeps one scale per row and a float output
    ModelProto q2 = quantizeAndCompare(m, ops("Gather", "Add"), new long[] {2, 4}, "y").model();
    assertEquals(List.of(10L), initializer(q2, dqFeeding(q2, "g", 0).getInput(1)).getDimsList());
  }

  @Test
  void layerNormalizationStaysFp32WithAReason() {
    ModelProto m = model(17,
        List.of(node("MatMul", "fc", List.of("x", "w"), List.of("h")),
            node("LayerNormalization", "ln", List.of("h", "gamma", "beta"), List.of("y"))),
        List.of(floatValue("x", 2, 4)), List.of(floatValue("y", 2, 3)),
        List.of(randomFloats("w", 1, 4, 3), randomFloats("gamma", 2, 3), randomFloats("beta", 3, 3)));
    CalibrationPlan plan = CalibrationPlan.of(m, ops("MatMul"));
    CalibrationPlan.NodeDecision ln = plan.nodes().get(1);
    assertEquals("ln", ln.node());
    assertFalse(ln.quantized());
    assertTrue(ln.reason().startsWith("op type not in --op-types (not a default op type: ONNX Runtime has no"
        + " integer kernel for it"), ln.reason());
  }

  private static PlanOptions everyRule() {
    return new PlanOptions(Set.copyOf(PlanOptions.knownOpTypes()), List.of(), Set.of(), false);
  }

  /**
   * Calibrates min/max on two random batches, then returns the SQNR (dB) of the QDQ model's output against
   * FP32 on a third batch from the same distribution, ORT at full optimization.
   */
  private static double sqnrDb(ModelProto m, PlanOptions o, long[] shape, String output) throws Exception {
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    int n = 1;
    for (long d : shape) {
      n *= (int) d;
    }
    Map<String, QuantParams> a = QdqRewriterTest.calibrate(m, plan, QdqTestGraphs.uniform(21, n, -1f, 1f), shape);
    Map<String, QuantParams> b = QdqRewriterTest.calibrate(m, plan, QdqTestGraphs.uniform(22, n, -1f, 1f), shape);
    Map<String, QuantParams> params = new java.util.HashMap<>();
    for (String t : a.keySet()) {
      // union of the two ranges, recovered from scale and zero point
      float lo = Math.min(range(a.get(t))[0], range(b.get(t))[0]);
      float hi = Math.max(range(a.get(t))[1], range(b.get(t))[1]);
      params.put(t, dev.qcal.quant.LinearQuant.forRange(lo, hi, QuantType.UINT8, false));
    }
    ModelProto q = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params)).model();
    QdqRewriterTest.assertValidOrder(q);
    float[] x = QdqTestGraphs.uniform(23, n, -1f, 1f);
    float[] fp = QdqTestGraphs.run(m.toByteArray(), OptLevel.NO_OPT, "x", x, shape, List.of(output)).get(0);
    float[] qd = QdqTestGraphs.run(q.toByteArray(), OptLevel.ALL_OPT, "x", x, shape, List.of(output)).get(0);
    double signal = 0;
    double noise = 0;
    for (int i = 0; i < fp.length; i++) {
      signal += (double) fp[i] * fp[i];
      noise += (double) (fp[i] - qd[i]) * (fp[i] - qd[i]);
    }
    return 10 * Math.log10(signal / noise);
  }

  private static float[] range(QuantParams p) {
    float s = p.scale(0);
    long z = p.zeroPoint(0);
    return new float[] {s * (p.type().qmin() - z), s * (p.type().qmax() - z)};
  }

  @Test
  void detectorBlockKeeps25DbSqnr(org.junit.jupiter.api.TestReporter reporter) throws Exception {
    // Conv+Relu -> (Resize x2 | ConvTranspose stride 2) -> Concat -> Conv 1x1 -> Sigmoid
    ModelProto m = model(13,
        List.of(node("Conv", "stem", List.of("x", "w1", "b1"), List.of("c1"), QdqTestGraphs.intsAttr("pads", 1, 1, 1, 1)),
            node("Relu", "relu", List.of("c1"), List.of("r1")),
            node("Resize", "up", List.of("r1", "", "sc"), List.of("u"), str("mode", "nearest")),
            node("ConvTranspose", "deconv", List.of("r1", "wt", "bt"), List.of("t"),
                QdqTestGraphs.intsAttr("strides", 2, 2), QdqTestGraphs.intsAttr("kernel_shape", 2, 2)),
            node("Concat", "cat", List.of("u", "t"), List.of("c"), intAttr("axis", 1)),
            node("Conv", "head", List.of("c", "w2", "b2"), List.of("h")),
            node("Sigmoid", "sig", List.of("h"), List.of("y"))),
        List.of(floatValue("x", 1, 3, 8, 8)), List.of(floatValue("y", 1, 4, 16, 16)),
        List.of(randomFloats("w1", 1, 8, 3, 3, 3), randomFloats("b1", 2, 8),
            TestGraphs.floatTensor("sc", new long[] {4}, new float[] {1, 1, 2, 2}),
            randomFloats("wt", 3, 8, 8, 2, 2), randomFloats("bt", 4, 8),
            randomFloats("w2", 5, 4, 16, 1, 1), randomFloats("b2", 6, 4)));
    double db = sqnrDb(m, everyRule(), new long[] {1, 3, 8, 8}, "y");
    reporter.publishEntry("detector-sqnr-db", String.format("%.1f", db));
    System.out.printf("detector block SQNR %.1f dB%n", db);
    assertTrue(db >= 25, "SQNR " + db + " dB");
  }

  @Test
  void transformerBlockKeeps25DbSqnr(org.junit.jupiter.api.TestReporter reporter) throws Exception {
    // attention (MatMul, Transpose, Softmax, residual Add) -> LayerNormalization -> MLP with Erf-GELU.
    // 16 sequences per batch: with one, min/max over two batches of 32 values misses the third's range.
    // every rule but LayerNormalization's (it has one since issue 15, used when asked for)
    ModelProto m = QdqTestGraphs.transformerBlock(8, false);
    PlanOptions o = new PlanOptions(Set.copyOf(PlanOptions.knownOpTypes()), List.of(), Set.of("LayerNormalization"),
        false);
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    assertFalse(plan.nodes().stream().filter(d -> d.node().equals("ln")).findFirst().orElseThrow().quantized());
    double db = sqnrDb(m, o, new long[] {16, 4, 8}, "y");
    reporter.publishEntry("transformer-sqnr-db", String.format("%.1f", db));
    System.out.printf("transformer block SQNR %.1f dB%n", db);
    assertTrue(db >= 25, "SQNR " + db + " dB");
  }
}
