package dev.qcal.model.plan;

import static dev.qcal.model.QdqTestGraphs.dqFeeding;
import static dev.qcal.model.QdqTestGraphs.initializer;
import static dev.qcal.model.QdqTestGraphs.producers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.examples.ContribGraphs;
import dev.qcal.model.TransformerQdq;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.qdq.QdqRewriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LSTM weights (default) and ONNX Runtime's com.microsoft Attention and SkipLayerNormalization (when asked) on
 * the {@link ContribGraphs}: where the Q/DQ goes, and the SQNR of the output against FP32 in ONNX Runtime
 * (min/max calibration on 64 samples, 64 others evaluated). Thresholds are a few dB under the measured figures
 * (ORT 1.23.2 CPU, identical at opsets 13, 17 and 21), which are in the comments.
 */
class ContribRulesTest {
  private static final Set<String> DEFAULTS = QdqOpRules.DEFAULT_OP_TYPES;

  private static PlanOptions ops(Set<String> base, String... more) {
    Set<String> s = new java.util.HashSet<>(base);
    s.addAll(List.of(more));
    return new PlanOptions(s, List.of(), Set.of(), false);
  }

  /** Batches of {@code x}, standard normal, {@code batch} rows of {@code dims} each. */
  static List<TransformerQdq.Batch> batches(long seed, int count, int batch, long... dims) {
    Random r = new Random(seed);
    int per = 1;
    for (long d : dims) {
      per *= (int) d;
    }
    long[] shape = new long[dims.length + 1];
    shape[0] = batch;
    System.arraycopy(dims, 0, shape, 1, dims.length);
    List<TransformerQdq.Batch> out = new ArrayList<>();
    for (int b = 0; b < count; b += batch) {
      float[] v = new float[batch * per];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) r.nextGaussian();
      }
      out.add(new TransformerQdq.Batch(Map.of("x", v), Map.of("x", shape)));
    }
    return out;
  }

  /** The plan's model, quantized: min/max activations (none for a weights-only plan), int8 weights. */
  private static ModelProto quantize(ModelProto m, PlanOptions o, List<TransformerQdq.Batch> calib) throws Exception {
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    return plan.activations().isEmpty()
        ? QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, Map.of())).model()
        : TransformerQdq.quantize(m, o, calib);
  }

  private static NodeProto node(ModelProto m, String op) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + op));
  }

  private static long axis(NodeProto dq) {
    return dq.getAttributeList().stream().filter(a -> a.getName().equals("axis")).mapToLong(AttributeProto::getI)
        .findFirst().orElse(-1);
  }

  private static boolean fromDq(ModelProto m, String t) {
    List<NodeProto> p = producers(m, t);
    return p.size() == 1 && p.get(0).getOpType().equals("DequantizeLinear");
  }

  private static CalibrationPlan.NodeDecision decision(CalibrationPlan plan, String op) {
    return plan.nodes().stream().filter(d -> d.opType().equals(op)).findFirst().orElseThrow();
  }

  @ParameterizedTest
  @ValueSource(ints = {13, 17, 21})
  void lstmWeightsAreInt8PerRowByDefaultAndTheLstmRunsInFloat(int opset) throws Exception {
    ModelProto m = ContribGraphs.lstm(opset, 0);
    CalibrationPlan plan = CalibrationPlan.of(m);
    assertEquals(List.of(), plan.activations());
    assertEquals(List.of("lstm.W", "lstm.R"), plan.weights().stream().map(CalibrationPlan.WeightRef::initializer)
        .toList());
    assertTrue(decision(plan, "LSTM").quantized(), decision(plan, "LSTM").toString());
    assertEquals("W 'lstm.W' int8 per row (axis 1), R 'lstm.R' int8 per row (axis 1)",
        decision(plan, "LSTM").details());

    ModelProto q = quantize(m, PlanOptions.defaults(), List.of());
    NodeProto lstm = node(q, "LSTM");
    String lstmName = lstm.getName();
    for (int i : new int[] {1, 2}) {
      NodeProto dq = dqFeeding(q, lstmName, i);
      assertEquals(1, axis(dq), "per output row of [directions, 4 x hidden, in]");
      TensorProto w = initializer(m, m.getGraph().getNode(1).getInput(i));
      TensorProto qw = initializer(q, dq.getInput(0));
      assertEquals(TensorProto.DataType.INT8_VALUE, qw.getDataType());
      assertEquals(w.getDimsList(), qw.getDimsList());
      // every dequantized weight within half a step of the float one, the step max|row| / 127 (by hand)
      float[] f = Initializers.floats(w);
      float[] scale = Initializers.floats(initializer(q, dq.getInput(1)));
      assertEquals(w.getDims(1), scale.length);
      byte[] raw = qw.getRawData().toByteArray();
      int rows = (int) w.getDims(1);
      int cols = (int) w.getDims(2);
      for (int r = 0; r < rows; r++) {
        float max = 0;
        for (int d = 0; d < w.getDims(0); d++) {
          for (int c = 0; c < cols; c++) {
            max = Math.max(max, Math.abs(f[(d * rows + r) * cols + c]));
          }
        }
        assertEquals(max / 127, scale[r], 1e-6 * max);
        for (int d = 0; d < w.getDims(0); d++) {
          for (int c = 0; c < cols; c++) {
            int k = (d * rows + r) * cols + c;
            assertEquals(f[k], raw[k] * scale[r], scale[r] / 2 + 1e-7);
          }
        }
      }
    }
    assertFalse(fromDq(q, lstm.getInput(0)), "X stays float");
    assertEquals("lstm.B", lstm.getInput(3));
    // measured 45.11 dB; weights 4x smaller, model 13908 -> 5466 bytes
    double sqnr = TransformerQdq.sqnr(m, q, batches(2, 64, 8, 6, 8));
    assertTrue(sqnr > 42, "SQNR " + sqnr);
    assertTrue(q.getSerializedSize() < 0.45 * m.getSerializedSize(), q.getSerializedSize() + " bytes");
  }

  @ParameterizedTest
  @ValueSource(ints = {13, 21})
  void gruWeightsAreInt8PerRowByDefaultToo(int opset) throws Exception {
    ModelProto m = ContribGraphs.gru(opset, 0);
    CalibrationPlan plan = CalibrationPlan.of(m);
    assertEquals(List.of(), plan.activations());
    assertEquals(List.of("gru.W", "gru.R"), plan.weights().stream().map(CalibrationPlan.WeightRef::initializer)
        .toList());
    ModelProto q = quantize(m, PlanOptions.defaults(), List.of());
    NodeProto gru = node(q, "GRU");
    for (int i : new int[] {1, 2}) {
      NodeProto dq = dqFeeding(q, gru.getName(), i);
      assertEquals(1, axis(dq));
      assertEquals(48, Initializers.floats(initializer(q, dq.getInput(1))).length, "one scale per row of 3 x 16");
    }
    assertFalse(fromDq(q, gru.getInput(0)));
    // measured 45.04 dB; model 10568 -> 4274 bytes
    double sqnr = TransformerQdq.sqnr(m, q, batches(2, 64, 8, 6, 8));
    assertTrue(sqnr > 42, "SQNR " + sqnr);
  }

  @Test
  void lstmNamedAloneQuantizesOnlyItsWeights() {
    CalibrationPlan plan = CalibrationPlan.of(ContribGraphs.lstm(13, 0), ops(Set.of("LSTM")));
    assertEquals(2, plan.weights().size());
    assertTrue(plan.weights().stream().allMatch(w -> w.axis() == 1 && w.biasInitializer() == null));
    assertEquals(List.of(), plan.activations());
  }

  @ParameterizedTest
  @ValueSource(ints = {13, 17, 21})
  void attentionAskedForQuantizesItsInputAndWeightsPerColumn(int opset) throws Exception {
    ModelProto m = ContribGraphs.attention(opset, 0);
    PlanOptions asked = ops(DEFAULTS, "com.microsoft.Attention");
    CalibrationPlan plan = CalibrationPlan.of(m, asked);
    assertTrue(decision(plan, "Attention").quantized(), decision(plan, "Attention").toString());
    assertTrue(plan.activations().contains("x"));
    ModelProto q = quantize(m, asked, batches(3, 64, 8, 8, 16));
    NodeProto att = node(q, "Attention");
    assertEquals("com.microsoft", att.getDomain());
    assertTrue(fromDq(q, att.getInput(0)));
    assertEquals(1, axis(dqFeeding(q, att.getName(), 1)));
    assertEquals("attn.qkv.bias", att.getInput(2), "the bias stays float");
    assertTrue(q.getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals("com.microsoft")));
    // measured 37.49 dB (ONNX Runtime's quantize_static asked for Attention,MatMul: 39.07 dB, but its MatMul then
    // stays float); model 5125 -> 2660 bytes
    double sqnr = TransformerQdq.sqnr(m, q, batches(4, 64, 8, 8, 16));
    assertTrue(sqnr > 35, "SQNR " + sqnr);
  }

  @Test
  void attentionIsNotQuantizedByDefaultAndTheMatMulBeforeSkipLayerNormStaysIntegerToFloat() throws Exception {
    ModelProto m = ContribGraphs.attention(17, 0);
    CalibrationPlan plan = CalibrationPlan.of(m);
    CalibrationPlan.NodeDecision d = decision(plan, "Attention");
    assertFalse(d.quantized());
    assertTrue(d.reason().contains("no QDQ fusion into QAttention"), d.reason());
    assertFalse(plan.activations().contains("x"));
    assertTrue(plan.activations().contains("attention_0"), plan.activations().toString());
    assertFalse(plan.activations().contains("attn.out.matmul_1"), "the MatMul feeding SkipLayerNormalization");
    ModelProto q = quantize(m, PlanOptions.defaults(), batches(3, 64, 8, 8, 16));
    Map<String, Integer> kernels = TransformerQdq.kernels(q);
    assertEquals(1, kernels.getOrDefault("MatMulIntegerToFloat", 0), kernels.toString());
    // measured 41.73 dB (39.88 dB with the MatMul output calibrated: a QLinearMatMul)
    double sqnr = TransformerQdq.sqnr(m, q, batches(4, 64, 8, 8, 16));
    assertTrue(sqnr > 39.5, "SQNR " + sqnr);
  }

  @Test
  void aPlainAttentionSelectsTheContribOpAndTheNodeDomainDecides() {
    CalibrationPlan plan = CalibrationPlan.of(ContribGraphs.attention(13, 0), ops(Set.of("Attention")));
    assertTrue(decision(plan, "Attention").quantized());
    assertEquals(List.of("x"), plan.activations());
    // an ONNX-domain node of the same name is not matched by the com.microsoft rule
    ModelProto onnxDomain = ContribGraphs.attention(13, 0).toBuilder().clearOpsetImport()
        .addOpsetImport(ai.onnx.proto.OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13)).build();
    ModelProto.Builder b = onnxDomain.toBuilder();
    b.getGraphBuilder().getNodeBuilderList().forEach(n -> n.clearDomain());
    CalibrationPlan p2 = CalibrationPlan.of(b.build(), ops(Set.of("Attention")));
    assertFalse(decision(p2, "Attention").quantized());
    // the qualified name excludes it too
    CalibrationPlan p3 = CalibrationPlan.of(ContribGraphs.attention(13, 0), new PlanOptions(Set.of("Attention"),
        List.of(), Set.of("com.microsoft.Attention"), false));
    assertTrue(decision(p3, "Attention").reason().contains("excluded by --exclude-op-types com.microsoft.Attention"));
  }

  @ParameterizedTest
  @ValueSource(ints = {13, 21})
  void skipLayerNormAskedForQuantizesItsTwoInputsAndItsOutput(int opset) throws Exception {
    ModelProto m = ContribGraphs.skipLayerNorm(opset, 0);
    PlanOptions asked = ops(DEFAULTS, "SkipLayerNormalization");
    CalibrationPlan plan = CalibrationPlan.of(m, asked);
    assertEquals(List.of("x", "ffn.matmul_0", "ffn.ln_1"), plan.activations());
    ModelProto q = quantize(m, asked, batches(3, 64, 8, 8, 16));
    NodeProto sln = node(q, "SkipLayerNormalization");
    assertTrue(fromDq(q, sln.getInput(0)) && fromDq(q, sln.getInput(1)));
    assertEquals("ffn.ln.gamma", sln.getInput(2));
    // measured 36.12 dB; by default (SkipLayerNormalization float, MatMulIntegerToFloat) 40.21 dB
    List<TransformerQdq.Batch> eval = batches(4, 64, 8, 8, 16);
    double sqnr = TransformerQdq.sqnr(m, q, eval);
    assertTrue(sqnr > 34, "SQNR " + sqnr);
    double byDefault = TransformerQdq.sqnr(m, quantize(m, PlanOptions.defaults(), batches(3, 64, 8, 8, 16)), eval);
    assertTrue(byDefault > 38, "SQNR " + byDefault);
    assertFalse(decision(CalibrationPlan.of(m), "SkipLayerNormalization").quantized());
  }

  @Test
  void contribNamesAreOpTypesQualifiedOrPlainAndCountAsRuled() {
    assertTrue(OnnxOpTypes.contains("com.microsoft.Attention"));
    assertTrue(OnnxOpTypes.contains("SkipLayerNormalization"));
    assertTrue(OnnxOpTypes.contains("com.microsoft.SkipLayerNormalization"));
    assertFalse(OnnxOpTypes.contains("com.microsoft.Conv"));
    assertFalse(OnnxOpTypes.contains("com.microsoft.Atention"));
    assertEquals("com.microsoft.Attention", OnnxOpTypes.closest("com.microsoft.Atention"));
    assertEquals("SkipLayerNormalization", OnnxOpTypes.closest("SkipLayerNormalisation"));
    PlanOptions o = ops(Set.of("SkipLayerNormalization", "com.microsoft.Attention", "Attention", "FastGelu"));
    assertEquals(List.of("Attention", "SkipLayerNormalization", "com.microsoft.Attention"),
        List.copyOf(o.quantizedOpTypes()));
    assertEquals(List.of("FastGelu"), List.copyOf(o.unruledOpTypes()));
  }

  @ParameterizedTest
  @ValueSource(ints = {11, 13, 17, 21})
  void everyBuilderRunsInOnnxRuntimeWithAFreeAndAFixedLeadingDim(int opset) throws Exception {
    for (long leading : new long[] {0, 3}) {
      for (ModelProto m : List.of(ContribGraphs.lstm(opset, leading), ContribGraphs.gru(opset, leading),
          ContribGraphs.attention(opset, leading), ContribGraphs.skipLayerNorm(opset, leading))) {
        long[] dims = m.getGraph().getName().contains("lstm") || m.getGraph().getName().equals("gru")
            ? new long[] {6, 8} : new long[] {8, 16};
        TransformerQdq.Batch b = batches(5, 3, 3, dims).get(0);
        try (var s = TransformerQdq.session(m, 1)) {
          float[] y = TransformerQdq.run(s, b, "logits");
          assertEquals(3 * (dims[0] == 6 ? 6 * 32 : 8 * 16), y.length, m.getGraph().getName() + " at " + opset);
        }
      }
    }
  }
}
