package dev.qcal.model.qdq;

import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.initializer;
import static dev.qcal.model.QdqTestGraphs.intAttr;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.qcal.model.QdqTestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.PlanOptions;
import dev.qcal.model.prepare.OpsetUpgrader;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.quant.WeightSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.api.io.TempDir;

/**
 * 16-bit activations, 4-bit, blocked and per-tensor weights on graphs built in code: node-by-node
 * structure (element types, axis/block_size, opset 21), ONNX Runtime loads and runs each with all
 * optimizations, and the output stays close to FP32.
 *
 * <p>SQNR thresholds: symmetric int4 has 15 levels over [-absmax, absmax], so uniform weights get about
 * 10 log10((1/3) / (step^2 / 12)) = 23 dB of weight SQNR (step = 2/14); a MatMul output adds independent
 * errors of K such products and keeps about the same ratio; two int4 layers in series add their errors
 * (about 20 dB), so int4 MLP outputs are asserted at >= 16 dB; int8 weights (127 levels, about 42 dB) at
 * >= 30 dB. Each bit removed costs about 6 dB, so int4 instead of int8 weights may cost up to 4 x 6 dB
 * plus a margin where errors compound (attention).
 */
class WideTypesQdqTest {

  @TempDir Path dir;

  private static PlanOptions ops(String... opTypes) {
    return new PlanOptions(Set.of(opTypes), List.of(), Set.of(), false);
  }

  /** x[16, 64] -> MatMul(w[64, 24]) -> h -> Gemm(h, g[8, 24], c[8], transB) -> y[16, 8]. */
  private static ModelProto mlp(int opset) {
    return model(opset,
        List.of(node("MatMul", "fc1", List.of("x", "w"), List.of("h")),
            node("Gemm", "fc2", List.of("h", "g", "c"), List.of("y"), intAttr("transB", 1))),
        List.of(floatValue("x", 16, 64)), List.of(floatValue("y", 16, 8)),
        List.of(randomFloats("w", 1, 64, 24), randomFloats("g", 2, 8, 24), randomFloats("c", 3, 8)));
  }
  /** Quantizes with min/max ranges from two batches and the given types; the QDQ model and its SQNR on a third. */
  record Quantized(QdqRewriter.Result result, double sqnrDb) {}

  static Quantized quantize(ModelProto m, PlanOptions o, long[] shape, String output, QuantType act,
      WeightSpec weights) throws Exception {
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    int n = 1;
    for (long d : shape) {
      n *= (int) d;
    }
    Map<String, float[]> a = QdqTestGraphs.activationRanges(m, plan, QdqTestGraphs.uniform(21, n, -1f, 1f), shape);
    Map<String, float[]> b = QdqTestGraphs.activationRanges(m, plan, QdqTestGraphs.uniform(22, n, -1f, 1f), shape);
    Map<String, QuantParams> params = new HashMap<>();
    for (String t : a.keySet()) {
      float lo = Math.min(a.get(t)[0], b.get(t)[0]);
      float hi = Math.max(a.get(t)[1], b.get(t)[1]);
      params.put(t, LinearQuant.forRange(lo, hi, act, act.signed()));
    }
    QdqRewriter.Result r = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params).withWeights(weights));
    QdqRewriterTest.assertValidOrder(r.model());
    float[] x = QdqTestGraphs.uniform(23, n, -1f, 1f);
    float[] fp = QdqTestGraphs.run(m.toByteArray(), OptLevel.NO_OPT, "x", x, shape, List.of(output)).get(0);
    float[] q = QdqTestGraphs.run(r.model().toByteArray(), OptLevel.ALL_OPT, "x", x, shape, List.of(output)).get(0);
    double signal = 0;
    double noise = 0;
    for (int i = 0; i < fp.length; i++) {
      signal += (double) fp[i] * fp[i];
      noise += (double) (fp[i] - q[i]) * (fp[i] - q[i]);
    }
    return new Quantized(r, 10 * Math.log10(signal / noise));
  }

  private static NodeProto dqOf(ModelProto m, String quantizedInitializer) {
    return m.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("DequantizeLinear") && n.getInput(0).equals(quantizedInitializer))
        .findFirst().orElseThrow(() -> new AssertionError("no DequantizeLinear reads " + quantizedInitializer));
  }

  /** The DequantizeLinear whose output feeds input {@code index} of node {@code node}. */
  private static NodeProto weightDq(ModelProto m, String node, int index) {
    return QdqTestGraphs.dqFeeding(m, node, index);
  }

  private static Long attr(NodeProto n, String name) {
    return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst()
        .map(AttributeProto::getI).orElse(null);
  }

  private static List<Long> dims(TensorProto t) {
    return t.getDimsList();
  }

  /** Op types of the model ONNX Runtime runs after all optimizations. */
  private List<String> optimizedOps(ModelProto q) throws Exception {
    Path file = dir.resolve("optimized-" + System.nanoTime() + ".onnx");
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OptLevel.ALL_OPT);
      opts.setOptimizedModelFilePath(file.toString());
      try (OrtSession s = OrtEnvironment.getEnvironment().createSession(q.toByteArray(), opts)) {
        // the optimized graph is written when the session is created
      }
    }
    assertTrue(Files.exists(file));
    return OnnxModels.load(file).getGraph().getNodeList().stream().map(NodeProto::getOpType).toList();
  }

  @Test
  void int4BlockedMatMulAndGemmWeights(TestReporter reporter) throws Exception {
    ModelProto m = OpsetUpgrader.upgrade(mlp(13), 21);
    Quantized q = quantize(m, ops("MatMul", "Gemm"), new long[] {16, 64}, "y", QuantType.UINT8,
        new WeightSpec(QuantType.INT4, true, 32));
    ModelProto out = q.result().model();
    assertEquals(21, OnnxModels.opset(out));
    assertEquals(10, out.getIrVersion());
    // MatMul weight [K=64, N=24]: int4, blocks of 32 along K (axis 0), scales and zero points [2, 24]
    NodeProto dq = weightDq(out, "fc1", 1);
    TensorProto qw = initializer(out, dq.getInput(0));
    assertEquals(22, qw.getDataType());
    assertEquals(List.of(64L, 24L), dims(qw));
    assertEquals(64 * 24 / 2, qw.getRawData().size(), "two int4 values per byte");
    assertEquals(0L, attr(dq, "axis"));
    assertEquals(32L, attr(dq, "block_size"));
    assertEquals(List.of(2L, 24L), dims(initializer(out, dq.getInput(1))));
    TensorProto zp = initializer(out, dq.getInput(2));
    assertEquals(22, zp.getDataType());
    assertEquals(List.of(2L, 24L), dims(zp));
    // the packed values dequantize to what LinearQuant computes
    QuantParams wp = q.result().weightParams().get("w");
    assertEquals(32, wp.blockSize());
    long[] expected = LinearQuant.quantizeAll(QdqTensors.floats(initializer(m, "w")), new long[] {64, 24}, wp);
    assertEquals(java.util.Arrays.toString(expected),
        java.util.Arrays.toString(QuantType.INT4.unpack4(qw.getRawData().toByteArray(), 64 * 24)));
    // Gemm weight with transB is [N=8, K=24]: blocks along axis 1; its bias stays float (no per-channel scale)
    NodeProto gdq = weightDq(out, "fc2", 1);
    assertEquals(1L, attr(gdq, "axis"));
    assertEquals(32L, attr(gdq, "block_size"));
    assertEquals(List.of(8L, 1L), dims(initializer(out, gdq.getInput(1))));
    assertEquals("c", out.getGraph().getNodeList().stream().filter(n -> n.getName().equals("fc2")).findFirst()
        .orElseThrow().getInput(2));
    assertTrue(q.result().skipped().stream().anyMatch(s -> s.contains("'c'") && s.contains("in blocks")),
        q.result().skipped().toString());
    List<String> optimized = optimizedOps(out);
    reporter.publishEntry("int4-block32-sqnr-db", String.format("%.1f", q.sqnrDb()));
    reporter.publishEntry("int4-block32-optimized-ops", optimized.toString());
    System.out.printf("int4 block 32 MLP: SQNR %.1f dB, ORT optimized ops %s%n", q.sqnrDb(), optimized);
    assertTrue(q.sqnrDb() >= 16, "SQNR " + q.sqnrDb());
  }

  /**
   * The blocked weight layout (int4/uint4, axis 0 = K, block 32, scales [K/32, N]) is the one ONNX Runtime's
   * DQ + MatMul to MatMulNBits fusion accepts: with the activation Q/DQ pairs taken out (weight-only), the
   * MatMul becomes MatMulNBits.
   */
  @Test
  void blockedWeightsAreLaidOutAsOrtsMatMulNBitsFusionExpects() throws Exception {
    for (QuantType type : List.of(QuantType.INT4, QuantType.UINT4)) {
      ModelProto m = OpsetUpgrader.upgrade(mlp(13), 21);
      Quantized q = quantize(m, ops("MatMul"), new long[] {16, 64}, "y", QuantType.UINT8,
          new WeightSpec(type, true, 32));
      List<String> optimized = optimizedOps(withoutActivationQdq(q.result().model()));
      assertTrue(optimized.contains("MatMulNBits"), type + ": " + optimized);
      assertFalse(optimized.contains("MatMul"), type + ": " + optimized);
    }
  }

  /** The model with every QuantizeLinear -> DequantizeLinear pair removed (readers read the float tensor again). */
  private static ModelProto withoutActivationQdq(ModelProto q) {
    Map<String, String> back = new HashMap<>();
    Map<String, String> quantized = new HashMap<>();
    for (NodeProto n : q.getGraph().getNodeList()) {
      if (n.getOpType().equals("QuantizeLinear")) {
        quantized.put(n.getOutput(0), n.getInput(0));
      }
    }
    for (NodeProto n : q.getGraph().getNodeList()) {
      if (n.getOpType().equals("DequantizeLinear") && quantized.containsKey(n.getInput(0))) {
        back.put(n.getOutput(0), quantized.get(n.getInput(0)));
      }
    }
    ModelProto.Builder b = q.toBuilder();
    b.getGraphBuilder().clearNode();
    for (NodeProto n : q.getGraph().getNodeList()) {
      if (n.getOpType().equals("QuantizeLinear") || back.containsKey(n.getOutput(0))) {
        continue;
      }
      NodeProto.Builder nb = n.toBuilder();
      for (int i = 0; i < n.getInputCount(); i++) {
        nb.setInput(i, back.getOrDefault(n.getInput(i), n.getInput(i)));
      }
      b.getGraphBuilder().addNode(nb);
    }
    return b.build();
  }

  @Test
  void uint4PerChannelWeightsKeepTheirZeroPointAndGemmBias(TestReporter reporter) throws Exception {
    ModelProto m = OpsetUpgrader.upgrade(mlp(13), 21);
    Quantized q = quantize(m, ops("MatMul", "Gemm"), new long[] {16, 64}, "y", QuantType.UINT8,
        new WeightSpec(QuantType.UINT4, true, 0));
    ModelProto out = q.result().model();
    NodeProto dq = weightDq(out, "fc1", 1);
    assertEquals(21, initializer(out, dq.getInput(0)).getDataType());
    assertEquals(1L, attr(dq, "axis"));
    assertEquals(null, attr(dq, "block_size"));
    TensorProto zp = initializer(out, dq.getInput(2));
    assertEquals(21, zp.getDataType());
    assertEquals(List.of(24L), dims(zp));
    // symmetric uint4: zero point round(7.5) = 8 in every channel, packed 0x88
    for (byte b : zp.getRawData().toByteArray()) {
      assertEquals((byte) 0x88, b);
    }
    NodeProto gdq = weightDq(out, "fc2", 2);
    assertEquals(TensorProto.DataType.INT32_VALUE, initializer(out, gdq.getInput(0)).getDataType(),
        "per-channel 4-bit Gemm weights keep an int32 bias");
    reporter.publishEntry("uint4-per-channel-sqnr-db", String.format("%.1f", q.sqnrDb()));
    System.out.printf("uint4 per channel MLP: SQNR %.1f dB%n", q.sqnrDb());
    assertTrue(q.sqnrDb() >= 16, "SQNR " + q.sqnrDb());
  }

  @Test
  void convWeightsStayInt8WithTheReasonWhenWeightsAre4Bit() throws Exception {
    ModelProto m = OpsetUpgrader.upgrade(QdqTestGraphs.convRelu(13), 21);
    Quantized q = quantize(m, ops("Conv"), new long[] {1, 3, 8, 8}, "y", QuantType.UINT8,
        new WeightSpec(QuantType.INT4, true, 32));
    ModelProto out = q.result().model();
    for (String conv : List.of("conv1", "conv2")) {
      NodeProto dq = weightDq(out, conv, 1);
      assertEquals(TensorProto.DataType.INT8_VALUE, initializer(out, dq.getInput(0)).getDataType());
      assertEquals(0L, attr(dq, "axis"));
      assertEquals(null, attr(dq, "block_size"));
    }
    assertTrue(q.result().notes().contains(
        "weight 'w1' of Conv 'conv1': int8, not int4: ONNX Runtime has no 4-bit Conv kernels"), q.result().notes().toString());
    assertTrue(q.result().notes().stream().anyMatch(s -> s.contains("'w2'") && s.contains("blocks apply to 2-D MatMul/Gemm")),
        q.result().notes().toString());
    assertTrue(q.sqnrDb() >= 30, "SQNR " + q.sqnrDb());
  }

  @Test
  void perTensorWeightsHaveScalarParamsAndNoAxis() throws Exception {
    ModelProto m = QdqTestGraphs.convRelu(13);
    Quantized q = quantize(m, ops("Conv"), new long[] {1, 3, 8, 8}, "y", QuantType.UINT8,
        new WeightSpec(QuantType.INT8, false, 0));
    ModelProto out = q.result().model();
    NodeProto dq = weightDq(out, "conv1", 1);
    assertEquals(null, attr(dq, "axis"));
    assertEquals(0, initializer(out, dq.getInput(1)).getDimsCount(), "scalar scale");
    NodeProto bdq = weightDq(out, "conv1", 2);
    assertEquals(0, initializer(out, bdq.getInput(1)).getDimsCount(), "bias scale per tensor too");
    assertEquals(null, q.result().weightParams().get("w1").axis());
    // per tensor is coarser than per channel on the same graph
    double perChannel = quantize(m, ops("Conv"), new long[] {1, 3, 8, 8}, "y", QuantType.UINT8,
        WeightSpec.defaults()).sqnrDb();
    System.out.printf("conv per tensor %.1f dB, per channel %.1f dB%n", q.sqnrDb(), perChannel);
    assertTrue(q.sqnrDb() >= 25, "SQNR " + q.sqnrDb());
    assertTrue(perChannel >= q.sqnrDb() - 0.5, perChannel + " vs " + q.sqnrDb());
  }

  @Test
  void sixteenBitActivationsGiveMuchHigherSqnrThanEightBit(TestReporter reporter) throws Exception {
    // the block's ReduceMean (axes attribute at 17) becomes ReduceMean-18 with an axes input on the way to 21
    ModelProto m = OpsetUpgrader.upgrade(QdqTestGraphs.transformerBlock(32, true), 21);
    assertEquals(2, m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("ReduceMean"))
        .findFirst().orElseThrow().getInputCount());
    // activations only (no weights quantized): the output error is the activations' alone
    PlanOptions actOnly = ops("Add", "Mul", "Softmax", "Transpose");
    long[] shape = {16, 4, 32};
    double u8 = quantize(m, actOnly, shape, "y", QuantType.UINT8, WeightSpec.defaults()).sqnrDb();
    Quantized u16 = quantize(m, actOnly, shape, "y", QuantType.UINT16, WeightSpec.defaults());
    Quantized i16 = quantize(m, actOnly, shape, "y", QuantType.INT16, WeightSpec.defaults());
    // every rule, int8 weights: the weights' error then dominates
    PlanOptions every = new PlanOptions(Set.copyOf(PlanOptions.knownOpTypes()), List.of(), Set.of(), false);
    double u8All = quantize(m, every, shape, "y", QuantType.UINT8, WeightSpec.defaults()).sqnrDb();
    double u16All = quantize(m, every, shape, "y", QuantType.UINT16, WeightSpec.defaults()).sqnrDb();
    // every activation Q/DQ pair is 16-bit: zero points of type UINT16 (4) / INT16 (5)
    for (Quantized q : List.of(u16, i16)) {
      ModelProto out = q.result().model();
      List<NodeProto> quantizers = out.getGraph().getNodeList().stream()
          .filter(n -> n.getOpType().equals("QuantizeLinear")).toList();
      assertFalse(quantizers.isEmpty());
      int type = q == u16 ? 4 : 5;
      for (NodeProto n : quantizers) {
        assertEquals(type, initializer(out, n.getInput(2)).getDataType(), n.getInput(0));
      }
    }
    String figures = String.format("activations only: uint8 %.1f, uint16 %.1f, int16 %.1f dB; with int8 weights:"
        + " uint8 %.1f, uint16 %.1f dB", u8, u16.sqnrDb(), i16.sqnrDb(), u8All, u16All);
    reporter.publishEntry("transformer-sqnr-db", figures);
    System.out.println("transformer block SQNR, " + figures);
    // 8 more bits cut the activation noise amplitude 256 times (48 dB); ask for 30 dB
    assertTrue(u16.sqnrDb() >= u8 + 30, u16.sqnrDb() + " vs " + u8);
    assertTrue(i16.sqnrDb() >= u8 + 30, i16.sqnrDb() + " vs " + u8);
    assertTrue(u16All >= u8All + 5, u16All + " vs " + u8All);
  }

  @Test
  void transformerBlockWithInt4BlockedWeightsAnd16BitActivationsRuns(TestReporter reporter) throws Exception {
    ModelProto m = OpsetUpgrader.upgrade(QdqTestGraphs.transformerBlock(32, true), 21);
    Quantized q = quantize(m, ops("MatMul", "Add", "Mul", "Softmax", "Transpose"), new long[] {16, 4, 32}, "y",
        QuantType.UINT16, new WeightSpec(QuantType.INT4, true, 16));
    long blocked = q.result().model().getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("DequantizeLinear") && attr(n, "block_size") != null).count();
    assertEquals(5, blocked, "wq, wk, wv, w1, w2");
    double int8 = quantize(m, ops("MatMul", "Add", "Mul", "Softmax", "Transpose"), new long[] {16, 4, 32}, "y",
        QuantType.UINT16, WeightSpec.defaults()).sqnrDb();
    reporter.publishEntry("transformer-uint16-sqnr-db", String.format("int4 block 16 %.1f, int8 %.1f", q.sqnrDb(), int8));
    System.out.printf("transformer block, uint16 activations: int4 block 16 weights SQNR %.1f dB, int8 %.1f dB%n",
        q.sqnrDb(), int8);
    // 4 bits fewer: about 24 dB below int8 weights, more through the attention's products; never near 0 dB
    assertTrue(q.sqnrDb() >= int8 - 30, q.sqnrDb() + " vs int8 " + int8);
    assertTrue(q.sqnrDb() >= 8, "SQNR " + q.sqnrDb());
  }

  @Test
  void gatherTablesMayBe4BitPerRow() throws Exception {
    // table [10, 4] int4 per row read by a Gather, then y = row + x; only the Gather rule is on
    java.nio.ByteBuffer idx = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    idx.putLong(3).putLong(7);
    TensorProto indices = TensorProto.newBuilder().setName("idx").setDataType(TensorProto.DataType.INT64_VALUE)
        .addDims(2).setRawData(com.google.protobuf.ByteString.copyFrom(idx.array())).build();
    ModelProto m = OpsetUpgrader.upgrade(model(13,
        List.of(node("Gather", "emb", List.of("table", "idx"), List.of("g")),
            node("Add", "add", List.of("g", "x"), List.of("y"))),
        List.of(floatValue("x", 2, 4)), List.of(floatValue("y", 2, 4)),
        List.of(randomFloats("table", 1, 10, 4), indices)), 21);
    Quantized q = quantize(m, ops("Gather"), new long[] {2, 4}, "y", QuantType.UINT8,
        new WeightSpec(QuantType.INT4, true, 16));
    NodeProto tableDq = q.result().model().getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("DequantizeLinear")).findFirst().orElseThrow();
    assertEquals(22, initializer(q.result().model(), tableDq.getInput(0)).getDataType());
    assertEquals(0L, attr(tableDq, "axis"));
    assertEquals(null, attr(tableDq, "block_size"), "blocks are for MatMul/Gemm; the table keeps one scale per row");
    assertEquals(List.of(10L), dims(initializer(q.result().model(), tableDq.getInput(1))));
    // y = table row + x: int4 rows (15 levels over [-1, 1]) against x in [-1, 1]: about 27 dB
    assertTrue(q.sqnrDb() >= 18, "SQNR " + q.sqnrDb());
  }

  @Test
  void uint8WeightsAreSymmetricAroundMidRangeAndRunInOrt() throws Exception {
    Quantized q = quantize(QdqTestGraphs.convRelu(13), ops("Conv"), new long[] {1, 3, 8, 8}, "y", QuantType.UINT8,
        new WeightSpec(QuantType.UINT8, true, 0));
    NodeProto dq = weightDq(q.result().model(), "conv1", 1);
    TensorProto zp = initializer(q.result().model(), dq.getInput(2));
    assertEquals(TensorProto.DataType.UINT8_VALUE, zp.getDataType());
    for (byte b : zp.getRawData().toByteArray()) {
      assertEquals((byte) 128, b, "symmetric uint8: round(127.5) = 128");
    }
    assertEquals(13, OnnxModels.opset(q.result().model()), "8-bit weights need no opset 21");
    assertTrue(q.sqnrDb() >= 30, "SQNR " + q.sqnrDb());
  }

  @Test
  void weightScalesAreRaisedSoA16BitBiasFitsInt32() throws Exception {
    // bias 1e6 with input scale ~ 2 / 65535 and weight scale ~ 1 / 127: 1e6 / 2.4e-7 > 2^31 - 1
    ModelProto m = OpsetUpgrader.upgrade(model(13,
        List.of(node("Gemm", "fc", List.of("x", "g", "c"), List.of("y"), intAttr("transB", 1))),
        List.of(floatValue("x", 16, 64)), List.of(floatValue("y", 16, 2)),
        List.of(randomFloats("g", 2, 2, 64), QdqTensors.floatTensor("c", new long[] {2}, new float[] {1e6f, -0.5f}))),
        21);
    Quantized q = quantize(m, ops("Gemm"), new long[] {16, 64}, "y", QuantType.UINT16, WeightSpec.defaults());
    QuantParams w = q.result().weightParams().get("g");
    QuantParams bias = q.result().weightParams().get("c");
    QuantParams plain = LinearQuant.weightParams(QdqTensors.floats(initializer(m, "g")), new long[] {2, 64}, 0,
        QuantType.INT8);
    assertTrue(w.scale(0) > plain.scale(0), "channel 0 raised: " + w.scale(0) + " vs " + plain.scale(0));
    assertEquals(plain.scale(1), w.scale(1), "channel 1 (bias -0.5) untouched");
    assertTrue(1e6 / bias.scale(0) <= Integer.MAX_VALUE, "bias fits int32 at scale " + bias.scale(0));
    assertEquals(1, q.result().notes().size(), q.result().notes().toString());
    assertTrue(q.result().notes().get(0).startsWith("weight 'g' of Gemm 'fc': 1 weight scale(s) raised so that"
        + " bias 'c' fits int32 with input scale "), q.result().notes().toString());
    // without the raise the bias would clamp to about 515 instead of 1e6 (SQNR about 0 dB)
    assertTrue(q.sqnrDb() >= 40, "SQNR " + q.sqnrDb());
  }

  @Test
  void wideTypesNeedOpset21() {
    ModelProto m = mlp(13);
    CalibrationPlan plan = CalibrationPlan.of(m, ops("MatMul"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, Map.of())
            .withWeights(new WeightSpec(QuantType.INT4, true, 0))));
    assertEquals("Quantizing weights to int4 needs default-domain opset >= 21, the model has opset 13", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, Map.of())
            .withWeights(new WeightSpec(QuantType.INT8, true, 16))));
    assertEquals("Blocked weights (block_size 16) need default-domain opset >= 21, the model has opset 13",
        e.getMessage());
    Map<String, QuantParams> params = new HashMap<>();
    for (String t : plan.activations()) {
      params.put(t, LinearQuant.forRange(-1, 1, QuantType.INT4, true));
    }
    ModelProto m21 = OpsetUpgrader.upgrade(m, 21);
    e = assertThrows(IllegalArgumentException.class,
        () -> QdqRewriter.rewrite(QdqRewriter.Request.of(m21, CalibrationPlan.of(m21, ops("MatMul")), params)));
    assertEquals("Cannot quantize activation 'x' to int4: 4-bit types are for weights only", e.getMessage());
  }
}
