package dev.qcal.model.smooth;

import static dev.qcal.examples.Graph.i;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.examples.Graph;
import dev.qcal.examples.TinyBert;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.NodeAttributes;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * SmoothQuant against independent oracles: ONNX Runtime running the FP32 model before and after, scales
 * computed here from the formula on hand-made weights, and the balance the formula promises.
 */
class SmoothQuantTest {
  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;

  @TempDir Path work;

  /** Opset 17 has LayerNormalization nodes (each also feeding a residual Add), 13 their decomposition. */
  @ParameterizedTest
  @ValueSource(ints = {13, 17})
  void tinyBertComputesTheSameFunctionWithMulsBeforeItsLinearLayers(int opset) {
    ModelProto model = TinyBert.build(opset, 7);
    Map<String, float[]> maxX = randomMaxAbs(model, 11);
    SmoothQuant.Result r = SmoothQuant.smooth(model, maxX, 0.5);

    // q, k, v share the LayerNorm output, which also feeds the residual Add: one Mul, three weights scaled
    SmoothQuant.Smoothed qkv = r.smoothed().stream().filter(s -> s.nodes().size() == 3).findFirst().orElseThrow();
    assertFalse(qkv.foldedIntoLayerNorm());
    assertEquals(r.smoothed().size(), count(r.model(), "Mul") - count(model, "Mul"));
    assertTrue(r.smoothed().stream().anyMatch(s -> s.nodes().stream().anyMatch(n -> n.startsWith("pooler.dense"))));
    // attention score and context MatMuls multiply two activations
    assertEquals(2 * TinyBert.LAYERS, r.skipped().size());
    r.skipped().forEach(s -> assertEquals("input B is not a constant initializer", s.reason()));

    int batch = 2;
    int seq = 5;
    Random random = new Random(3);
    Map<String, float[]> in = new LinkedHashMap<>();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (String name : TinyBert.INPUTS) {
      float[] v = new float[batch * seq];
      for (int k = 0; k < v.length; k++) {
        v[k] = name.equals("input_ids") ? random.nextInt(TinyBert.VOCAB) : name.equals("attention_mask")
            ? (k % seq < 4 ? 1 : 0) : random.nextInt(2);
      }
      in.put(name, v);
      shapes.put(name, new long[] {batch, seq});
    }
    assertSameFunction(model, r.model(), in, shapes, 1e-4);
  }

  @Test
  void layerNormFeedingOnlyTheSmoothedNodesTakesTheScalesInGammaAndBeta() {
    Graph g = new Graph(17, 5);
    String x = g.input("x", FLOAT, "batch", 3, 8);
    String ln = g.layerNorm("ln", x, 8);
    String q = g.op("MatMul", "q", List.of(ln, g.weight("wq", 0.3, 8, 6)));
    String k = g.op("MatMul", "k", List.of(ln, g.weight("wk", 0.3, 8, 6)));
    g.output(q, "yq", FLOAT, "batch", 3, 6);
    g.output(k, "yk", FLOAT, "batch", 3, 6);
    ModelProto model = g.build("ln_qk");

    SmoothQuant.Result r = SmoothQuant.smooth(model, randomMaxAbs(model, 2), 0.5);

    assertEquals(1, r.smoothed().size());
    assertTrue(r.smoothed().get(0).foldedIntoLayerNorm());
    assertEquals(model.getGraph().getNodeCount(), r.model().getGraph().getNodeCount());
    float[] gamma = floats(model, "ln.weight");
    float[] smoothedGamma = floats(r.model(), "ln.weight");
    float[] s = r.smoothed().get(0).scales();
    for (int j = 0; j < s.length; j++) {
      assertEquals(gamma[j] / s[j], smoothedGamma[j], 1e-6f * Math.abs(gamma[j] / s[j]));
    }
    assertSameFunction(model, r.model(), Map.of("x", outlierInput(2 * 3, 8, 4)), Map.of("x", new long[] {2, 3, 8}),
        1e-4);
  }

  /** A LayerNorm whose gamma keeps its data in an external file (not read here): a Mul divides instead. */
  @Test
  void layerNormWithExternalGammaGetsAMulInstead() throws Exception {
    Graph g = new Graph(17, 5);
    String x = g.input("x", FLOAT, "batch", 3, 8);
    String ln = g.layerNorm("ln", x, 8);
    g.output(g.op("MatMul", "q", List.of(ln, g.weight("wq", 0.3, 8, 6))), "yq", FLOAT, "batch", 3, 6);
    ModelProto inline = g.build("ln_q");
    ModelProto model = dev.qcal.model.ExternalModels.externalize(inline, work, "w.bin", 8);
    assertTrue(dev.qcal.model.onnx.ExternalData.isExternal(model.getGraph().getInitializerList().stream()
        .filter(t -> t.getName().equals("ln.weight")).findFirst().orElseThrow()));
    // wq (48 values) external too would be skipped: keep it inline
    ModelProto.Builder b = model.toBuilder();
    for (int k = 0; k < b.getGraph().getInitializerCount(); k++) {
      if (b.getGraph().getInitializer(k).getName().equals("wq")) {
        b.getGraphBuilder().setInitializer(k, inline.getGraph().getInitializerList().stream()
            .filter(t -> t.getName().equals("wq")).findFirst().orElseThrow());
      }
    }
    SmoothQuant.Result r = SmoothQuant.smooth(b.build(), randomMaxAbs(inline, 2), 0.5);

    assertEquals(1, r.smoothed().size());
    assertFalse(r.smoothed().get(0).foldedIntoLayerNorm());
    assertEquals(count(inline, "Mul") + 1, count(r.model(), "Mul"));
  }

  @Test
  void reluFeedingGemmsBothWaysAndAnAddGetsAMulOnlyBeforeTheGemms() {
    ModelProto model = reluGemms();
    SmoothQuant.Result r = SmoothQuant.smooth(model, randomMaxAbs(model, 4), 0.5);

    assertEquals(1, r.smoothed().size());
    assertEquals(List.of("gemm_t", "gemm_n"), r.smoothed().get(0).nodes());
    assertFalse(r.smoothed().get(0).foldedIntoLayerNorm());
    NodeProto add = r.model().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Add")).findFirst()
        .orElseThrow();
    assertEquals(List.of("r", "r"), add.getInputList());
    assertSameFunction(model, r.model(), Map.of("x", outlierInput(4, 8, 6)), Map.of("x", new long[] {4, 8}), 1e-4);
  }

  @Test
  void scalesFollowTheFormulaOverAllConsumersOfTheActivation() {
    ModelProto model = handMade();
    Map<String, float[]> maxX = Map.of("mm", new float[] {16, 0.5f, 7, 0}, "gemm", new float[] {9, 1, 7, 0});
    // per input channel, over both consumers: max|x| = {16, 1, 7, 0}; max|W| = {4, 2, 0, 2}
    double[] mx = {16, 1, 7, 0};
    double[] mw = {4, 2, 0, 2};

    SmoothQuant.Result half = SmoothQuant.smooth(model, maxX, 0.5);
    assertArrayEquals(new float[] {2, (float) Math.sqrt(0.5), 1, 1}, half.smoothed().get(0).scales(), 1e-6f);

    for (double a : new double[] {0, 0.25, 0.8, 1}) {
      float[] expected = new float[4];
      for (int j = 0; j < 4; j++) {
        expected[j] = mx[j] == 0 || mw[j] == 0 ? 1f : (float) (Math.pow(mx[j], a) / Math.pow(mw[j], 1 - a));
      }
      SmoothQuant.Result r = SmoothQuant.smooth(model, maxX, a);
      assertArrayEquals(expected, r.smoothed().get(0).scales(), 1e-6f, "alpha " + a);
    }
    // MatMul rows and Gemm(transB) columns are the input channels: {1, -4} row 0 times s_0 = 2
    float[] w1 = floats(half.model(), "w1");
    assertArrayEquals(new float[] {2, -8}, new float[] {w1[0], w1[1]}, 1e-6f);
    float[] w2 = floats(half.model(), "w2");
    assertEquals(3 * 2, w2[0], 1e-6f);
    assertEquals(1 * (float) Math.sqrt(0.5), w2[5], 1e-6f);
  }

  @Test
  void afterSmoothingActivationAndWeightRangesAreBalancedAsTheFormulaSays() {
    ModelProto model = reluGemms();
    Map<String, float[]> maxX = randomMaxAbs(model, 9);
    for (double a : new double[] {0.5, 0.3}) {
      SmoothQuant.Result r = SmoothQuant.smooth(model, maxX, a);
      float[] s = r.smoothed().get(0).scales();
      float[] wAfter = maxAbsPerInputChannel(r.model(), List.of("gemm_t", "gemm_n"));
      for (int j = 0; j < s.length; j++) {
        double x = Math.max(maxX.get("gemm_t")[j], maxX.get("gemm_n")[j]) / s[j];
        // max|x/s| = (max|x| max|W|)^(1-a) and max|sW| = (max|x| max|W|)^a
        assertEquals(Math.pow(x, a), Math.pow(wAfter[j], 1 - a), 1e-5 * Math.pow(x, a), "alpha " + a + " channel " + j);
        if (a == 0.5) {
          float[] wBefore = maxAbsPerInputChannel(model, List.of("gemm_t", "gemm_n"));
          double mx = Math.max(maxX.get("gemm_t")[j], maxX.get("gemm_n")[j]);
          assertEquals(Math.sqrt(mx * wBefore[j]), x, 1e-5 * x);
          assertEquals(Math.sqrt(mx * wBefore[j]), wAfter[j], 1e-5 * x);
        }
      }
    }
  }

  @Test
  void refusesAlphaOutsideZeroToOneUnknownNodesAndNegativeMaxima() {
    ModelProto model = handMade();
    Map<String, float[]> maxX = Map.of("mm", new float[] {1, 1, 1, 1});
    for (double a : new double[] {-0.1, 1.5, Double.NaN}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SmoothQuant.smooth(model, maxX, a));
      assertTrue(e.getMessage().contains("alpha"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> SmoothQuant.smooth(model, Map.of("nope", new float[4]), 0.5));
    ModelProto relu = reluGemms();
    IllegalArgumentException notMatMul = assertThrows(IllegalArgumentException.class,
        () -> SmoothQuant.smooth(relu, Map.of("relu", new float[8]), 0.5));
    assertEquals("max|x| given for 'relu', which is not a MatMul or Gemm node", notMatMul.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> SmoothQuant.smooth(model, Map.of("mm", new float[] {1, -1, 1, 1}), 0.5));
  }

  @Test
  void skipsConsumersWhoseChannelsDoNotLineUpAndWeightsSharedWithOtherNodes() {
    ModelProto model = handMade();
    SmoothQuant.Result r = SmoothQuant.smooth(model, Map.of("mm", new float[] {1, 1, 1, 1}, "gemm", new float[3]), 0.5);
    assertEquals(List.of(), r.smoothed());
    assertTrue(r.skipped().get(0).reason().startsWith("input channels do not line up"), r.skipped().toString());
    assertEquals(model, r.model());

    Graph g = new Graph(13, 1);
    g.input("x", FLOAT, "batch", 4);
    g.input("y", FLOAT, "batch", 4);
    String w = g.weight("w", 1, 4, 3);
    g.output(g.op("MatMul", "a", List.of("x", w)), "ya", FLOAT, "batch", 3);
    g.output(g.op("MatMul", "b", List.of("y", w)), "yb", FLOAT, "batch", 3);
    ModelProto shared = g.build("shared");
    for (Map<String, float[]> maxX : List.of(Map.of("a_0", new float[] {1, 2, 3, 4}),
        Map.of("a_0", new float[] {1, 2, 3, 4}, "b_1", new float[] {4, 3, 2, 1}))) {
      SmoothQuant.Result s = SmoothQuant.smooth(shared, maxX, 0.5);
      assertEquals(List.of(), s.smoothed());
      assertEquals(maxX.size(), s.skipped().size());
      s.skipped().forEach(k -> assertTrue(k.reason().contains("weight 'w' is also used by node"), k.reason()));
      assertEquals(shared, s.model());
    }
  }

  @Test
  void skipsWeightsHeldInExternalFiles() {
    ModelProto model = handMade();
    ModelProto external = model.toBuilder().setGraph(model.getGraph().toBuilder().setInitializer(0,
        model.getGraph().getInitializer(0).toBuilder().clearFloatData()
            .setDataLocation(TensorProto.DataLocation.EXTERNAL))).build();
    SmoothQuant.Result r = SmoothQuant.smooth(external, Map.of("mm", new float[] {1, 2, 3, 4}), 0.5);
    assertEquals(List.of(), r.smoothed());
    assertEquals("weight 'w1' keeps its data in an external file", r.skipped().get(0).reason());
  }

  @Test
  void aWeightUsedTwiceOnTheSameActivationIsScaledOnce() {
    Graph g = new Graph(13, 1);
    g.input("x", FLOAT, "batch", 4);
    String w = g.weight("w", 1, 4, 3);
    g.output(g.op("Add", "sum", List.of(g.op("MatMul", "a", List.of("x", w)), g.op("MatMul", "b", List.of("x", w)))),
        "y", FLOAT, "batch", 3);
    ModelProto model = g.build("twice");
    SmoothQuant.Result r = SmoothQuant.smooth(model, Map.of("a_0", new float[] {9, 1, 4, 0.1f},
        "b_1", new float[] {9, 1, 4, 0.1f}), 0.5);
    assertEquals(1, r.smoothed().size());
    assertSameFunction(model, r.model(), Map.of("x", outlierInput(3, 4, 2)), Map.of("x", new long[] {3, 4}), 1e-4);
  }

  // ---- graphs ----

  /** x [batch, 8] -> Relu r; r -> Gemm(transB, W [5, 8], bias), r -> Gemm(W [8, 4]), Add(r, r). */
  private static ModelProto reluGemms() {
    Graph g = new Graph(13, 8);
    g.input("x", FLOAT, "batch", 8);
    List<NodeProto> nodes = List.of(
        Graph.node("Relu", "relu", List.of("x"), List.of("r")),
        Graph.node("Gemm", "gemm_t", List.of("r", g.weight("wt", 0.4, 5, 8), g.weight("bt", 0.1, 5)), List.of("yt"),
            i("transB", 1)),
        Graph.node("Gemm", "gemm_n", List.of("r", g.weight("wn", 0.4, 8, 4)), List.of("yn"), Graph.f("alpha", 0.5f)),
        Graph.node("Add", "add", List.of("r", "r"), List.of("ya")));
    ModelProto m = g.build("relu_gemms");
    return m.toBuilder().setGraph(m.getGraph().toBuilder().addAllNode(nodes)
        .addOutput(Graph.value("yt", FLOAT, "batch", 5)).addOutput(Graph.value("yn", FLOAT, "batch", 4))
        .addOutput(Graph.value("ya", FLOAT, "batch", 8))).build();
  }

  /** x [batch, 4] feeding MatMul "mm" (w1 [4, 2]) and Gemm "gemm" (w2 [2, 4], transB). */
  private static ModelProto handMade() {
    Graph g = new Graph(13, 0);
    g.input("x", FLOAT, "batch", 4);
    g.constant("w1", new long[] {4, 2}, 1, -4, 0.5f, 2, 0, 0, 2, 0);
    g.constant("w2", new long[] {2, 4}, 3, 0, 0, 0.5f, -1, 1, 0, 0);
    List<NodeProto> nodes = List.of(Graph.node("MatMul", "mm", List.of("x", "w1"), List.of("y1")),
        Graph.node("Gemm", "gemm", List.of("x", "w2"), List.of("y2"), i("transB", 1)));
    ModelProto m = g.build("hand_made");
    return m.toBuilder().setGraph(m.getGraph().toBuilder().addAllNode(nodes)
        .addOutput(Graph.value("y1", FLOAT, "batch", 2)).addOutput(Graph.value("y2", FLOAT, "batch", 2))).build();
  }

  // ---- oracles and helpers ----

  /** Runs both models in ONNX Runtime on {@code in} and checks every output agrees within {@code bound}. */
  private void assertSameFunction(ModelProto before, ModelProto after, Map<String, float[]> in,
      Map<String, long[]> shapes, double bound) {
    Path a = work.resolve("before.onnx");
    Path b = work.resolve("after.onnx");
    OnnxModels.save(before, a);
    OnnxModels.save(after, b);
    Map<String, float[]> want = Ort.run(a, in, shapes);
    Map<String, float[]> got = Ort.run(b, in, shapes);
    assertEquals(want.keySet(), got.keySet());
    assertNotEquals(before, after);
    for (String out : want.keySet()) {
      double worst = 0;
      for (int k = 0; k < want.get(out).length; k++) {
        worst = Math.max(worst, Math.abs(want.get(out)[k] - got.get(out)[k]));
      }
      assertTrue(worst <= bound, out + ": max abs diff " + worst);
    }
  }

  /** Random max|x| in [0.5, 20] for every MatMul and Gemm, channel count from the weight when it is one. */
  private static Map<String, float[]> randomMaxAbs(ModelProto model, long seed) {
    Random random = new Random(seed);
    Map<String, float[]> out = new LinkedHashMap<>();
    for (NodeProto n : model.getGraph().getNodeList()) {
      if (n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")) {
        TensorProto w = weight(model, n.getInput(1));
        boolean transB = NodeAttributes.intOr(n, "transB", 0) != 0;
        float[] v = new float[w == null ? 4 : (int) w.getDims(transB ? 1 : 0)];
        for (int j = 0; j < v.length; j++) {
          v[j] = 0.5f + 19.5f * random.nextFloat();
        }
        out.put(n.getName(), v);
      }
    }
    return out;
  }

  /** Per input channel, max|W| over the weights of {@code nodes} (rows, or columns under transB). */
  private static float[] maxAbsPerInputChannel(ModelProto model, List<String> nodes) {
    float[] out = null;
    for (NodeProto n : model.getGraph().getNodeList()) {
      if (!nodes.contains(n.getName())) {
        continue;
      }
      TensorProto w = weight(model, n.getInput(1));
      boolean transB = NodeAttributes.intOr(n, "transB", 0) != 0;
      int rows = (int) w.getDims(0);
      int cols = (int) w.getDims(1);
      float[] v = Initializers.floats(w);
      out = out == null ? new float[transB ? cols : rows] : out;
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
          int j = transB ? c : r;
          out[j] = Math.max(out[j], Math.abs(v[r * cols + c]));
        }
      }
    }
    return out;
  }

  /** Rows of {@code cols} normal values, channel 0 scaled by {@code outlier}. */
  private static float[] outlierInput(int rows, int cols, float outlier) {
    Random random = new Random(rows * 31L + cols);
    float[] v = new float[rows * cols];
    for (int k = 0; k < v.length; k++) {
      v[k] = (float) random.nextGaussian() * (k % cols == 0 ? outlier : 1);
    }
    return v;
  }

  private static TensorProto weight(ModelProto model, String name) {
    return model.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
        .orElse(null);
  }

  private static float[] floats(ModelProto model, String name) {
    return Initializers.floats(weight(model, name));
  }

  private static long count(ModelProto model, String op) {
    return model.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).count();
  }
}
