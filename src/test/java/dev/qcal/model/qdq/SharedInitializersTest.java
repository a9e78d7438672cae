package dev.qcal.model.qdq;

import static dev.qcal.model.QdqTestGraphs.dqFeeding;
import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.initializer;
import static dev.qcal.model.QdqTestGraphs.intAttr;
import static dev.qcal.model.QdqTestGraphs.intsAttr;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.qcal.model.ExternalModels;
import dev.qcal.model.QdqTestGraphs;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.ExternalDataTest;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.prepare.ModelPreparer;
import dev.qcal.quant.QuantParams;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Initializers read by several nodes (tied weights, the identical folded BatchNorm biases legacy PyTorch
 * exports share, also through Identity nodes): quantized once when every reader asks for the same
 * quantization, else one copy per distinct quantization, each entry naming the initializer it came from.
 *
 * <p>SQNR bound: with symmetric int8 weights (step max|w|/127) and uint8 activations (step range/255), the
 * quantization noise of each of weight, input and output is about 40-48 dB below the signal for these
 * uniform/Gaussian tensors; two chained layers add up to about 36 dB, so 30 dB leaves a 6 dB margin while
 * a wrong bias scale or a wrong copy (noise of the order of the signal, under 10 dB) fails it.
 */
class SharedInitializersTest {

  private static final double MIN_SQNR_DB = 30;

  @TempDir Path work;

  /** The rewrite of {@code m} with min/max params from one FP32 run on {@code x}. */
  private static QdqRewriter.Result quantize(ModelProto m, float[] x, long[] shape) throws Exception {
    CalibrationPlan plan = CalibrationPlan.of(m);
    Map<String, QuantParams> params = QdqRewriterTest.calibrate(m, plan, x, shape);
    QdqRewriter.Result r = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params));
    QdqRewriterTest.assertValidOrder(r.model());
    Set<String> inits = m.getGraph().getInitializerList().stream().map(TensorProto::getName)
        .collect(Collectors.toSet());
    for (String key : r.weightParams().keySet()) {
      String source = r.weightSources().get(key);
      assertTrue(inits.contains(source), "entry '" + key + "' comes from initializer '" + source + "' of " + inits);
    }
    return r;
  }

  /** SQNR (dB) of output {@code y} of {@code q} (ORT, all optimizations) against the FP32 model on {@code x}. */
  static double sqnrDb(ModelProto fp32, ModelProto q, float[] x, long[] shape, String y) throws Exception {
    float[] ref = QdqTestGraphs.run(fp32.toByteArray(), OptLevel.NO_OPT, "x", x, shape, List.of(y)).get(0);
    float[] got = QdqTestGraphs.run(q.toByteArray(), OptLevel.ALL_OPT, "x", x, shape, List.of(y)).get(0);
    double signal = 0;
    double noise = 0;
    for (int i = 0; i < ref.length; i++) {
      signal += (double) ref[i] * ref[i];
      noise += ((double) ref[i] - got[i]) * ((double) ref[i] - got[i]);
    }
    return 10 * Math.log10(signal / noise);
  }

  static long count(ModelProto m, String opType) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(opType)).count();
  }

  /** Initializers of element type {@code type} that are the quantized values a DequantizeLinear reads. */
  static long initializersOfType(ModelProto m, int type) {
    Set<String> values = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("DequantizeLinear"))
        .map(n -> n.getInput(0)).collect(Collectors.toSet());
    return m.getGraph().getInitializerList().stream()
        .filter(t -> t.getDataType() == type && values.contains(t.getName())).count();
  }

  private static void assertQuality(ModelProto m, ModelProto q, float[] x, long[] shape) throws Exception {
    double db = sqnrDb(m, q, x, shape, "y");
    assertTrue(db > MIN_SQNR_DB, "SQNR " + db + " dB");
  }

  /** x[1,4,8,8] -> Conv(wA, bA) -> Relu -> Conv(wB, bB) -> c -> Flatten -> y (Flatten stays float). */
  private static ModelProto twoConvs(String wA, String bA, String wB, String bB, List<NodeProto> extra,
      List<TensorProto> inits) {
    List<NodeProto> nodes = new java.util.ArrayList<>(extra);
    nodes.addAll(List.of(
        node("Conv", "convA", List.of("x", wA, bA), List.of("a"), intsAttr("pads", 1, 1, 1, 1)),
        node("Relu", "relu", List.of("a"), List.of("r")),
        node("Conv", "convB", List.of("r", wB, bB), List.of("c"), intsAttr("pads", 1, 1, 1, 1)),
        node("Flatten", "flatten", List.of("c"), List.of("y"))));
    return model(13, nodes, List.of(floatValue("x", 1, 4, 8, 8)), List.of(floatValue("y", 1, 256)), inits);
  }

  private static final long[] CONV_SHAPE = {1, 4, 8, 8};

  private static float[] convInput() {
    return QdqTestGraphs.uniform(5, 256, -1f, 1f);
  }

  @Test
  void aWeightSharedByTwoConvsIsQuantizedOnce() throws Exception {
    ModelProto m = twoConvs("w", "bA", "w", "bB", List.of(), List.of(randomFloats("w", 1, 4, 4, 3, 3),
        randomFloats("bA", 2, 4), randomFloats("bB", 3, 4)));
    QdqRewriter.Result r = quantize(m, convInput(), CONV_SHAPE);
    ModelProto q = r.model();

    assertEquals(dqFeeding(q, "convA", 1).getOutput(0), dqFeeding(q, "convB", 1).getOutput(0));
    assertEquals(1, initializersOfType(q, TensorProto.DataType.INT8_VALUE));
    assertEquals(2, initializersOfType(q, TensorProto.DataType.INT32_VALUE));
    assertEquals(3 + 1 + 2, count(q, "DequantizeLinear"), "x, r, c; w; bA, bB");
    assertEquals(Set.of("w", "bA", "bB"), r.weightParams().keySet());
    assertQuality(m, q, convInput(), CONV_SHAPE);
  }

  @Test
  void aBiasSharedByTwoConvsGetsOneCopyPerScale() throws Exception {
    ModelProto m = twoConvs("wA", "b", "wB", "b", List.of(), List.of(randomFloats("wA", 1, 4, 4, 3, 3),
        randomFloats("wB", 2, 4, 4, 3, 3), randomFloats("b", 3, 4)));
    QdqRewriter.Result r = quantize(m, convInput(), CONV_SHAPE);
    ModelProto q = r.model();

    NodeProto bA = dqFeeding(q, "convA", 2);
    NodeProto bB = dqFeeding(q, "convB", 2);
    assertNotEquals(bA.getOutput(0), bB.getOutput(0));
    assertBiasScale(q, r, bA, "x", "convA");
    assertBiasScale(q, r, bB, "r", "convB");
    assertEquals(2, initializersOfType(q, TensorProto.DataType.INT8_VALUE));
    assertEquals(2, initializersOfType(q, TensorProto.DataType.INT32_VALUE));
    assertEquals(3 + 2 + 2, count(q, "DequantizeLinear"), "x, r, c; wA, wB; two copies of b");
    assertEquals(2, r.weightSources().values().stream().filter("b"::equals).count(), r.weightSources().toString());
    assertQuality(m, q, convInput(), CONV_SHAPE);
  }

  /** The int32 bias read by {@code conv} has scale input scale x weight scale, per channel. */
  private static void assertBiasScale(ModelProto q, QdqRewriter.Result r, NodeProto biasDq, String input,
      String conv) {
    float inScale = QdqTensors.floats(initializer(q, QdqTestGraphs.quantizer(q, input).getInput(1)))[0];
    float[] w = QdqTensors.floats(initializer(q, dqFeeding(q, conv, 1).getInput(1)));
    float[] b = QdqTensors.floats(initializer(q, biasDq.getInput(1)));
    for (int c = 0; c < w.length; c++) {
      assertEquals(inScale * w[c], b[c], "channel " + c + " of the bias of " + conv);
    }
  }

  /**
   * As a legacy PyTorch export: identical folded BatchNorm biases deduplicated into one initializer read
   * through Identity nodes, one of whose outputs is also a graph output. {@code c} channels.
   */
  private static ModelProto legacyExport(int c) {
    List<NodeProto> nodes = List.of(
        node("Identity", "id1", List.of("onnx::Conv_9"), List.of("convA.bias")),
        node("Identity", "id2", List.of("onnx::Conv_9"), List.of("convB.bias")),
        node("Conv", "convA", List.of("x", "wA", "convA.bias"), List.of("a"), intsAttr("pads", 1, 1, 1, 1)),
        node("Relu", "relu", List.of("a"), List.of("r")),
        node("Conv", "convB", List.of("r", "wB", "convB.bias"), List.of("c"), intsAttr("pads", 1, 1, 1, 1)),
        node("Flatten", "flatten", List.of("c"), List.of("y")));
    return model(13, nodes, List.of(floatValue("x", 1, c, 8, 8)),
        List.of(floatValue("y", 1, c * 64), floatValue("convB.bias", c)),
        List.of(randomFloats("wA", 1, c, c, 3, 3), randomFloats("wB", 2, c, c, 3, 3),
            randomFloats("onnx::Conv_9", 3, c)));
  }

  @Test
  void aBiasSharedThroughIdentityNodesAsInLegacyPyTorchExports() throws Exception {
    ModelProto source = legacyExport(4);
    Path file = work.resolve("legacy.onnx");
    OnnxModels.save(source, file);
    java.nio.file.Files.createDirectories(work.resolve("prep"));
    ModelProto m = ModelPreparer.prepare(file, work.resolve("prep"), Map.of("x", CONV_SHAPE)).model();

    assertConvsReadInitializers(m);
    QdqRewriter.Result r = quantize(m, convInput(), CONV_SHAPE);
    ModelProto q = r.model();
    assertEquals(2, initializersOfType(q, TensorProto.DataType.INT32_VALUE));
    assertBiasScale(q, r, dqFeeding(q, "convA", 2), "x", "convA");
    assertBiasScale(q, r, dqFeeding(q, "convB", 2), "r", "convB");
    assertQuality(source, q, convInput(), CONV_SHAPE);
    float[] bias = QdqTestGraphs.run(q.toByteArray(), OptLevel.ALL_OPT, "x", convInput(), CONV_SHAPE,
        List.of("convB.bias")).get(0);
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        QdqTensors.floats(initializer(source, "onnx::Conv_9")), bias, "the float bias output is intact");
  }

  /**
   * A model with external data and no Constant or BatchNormalization is prepared without ONNX Runtime's
   * optimization, which would have folded the Identity nodes: preparation folds them itself. (The
   * preparation's verification compares both outputs, the graph output of an Identity included.)
   */
  @Test
  void identityNodesOverInitializersAreFoldedWhenTheModelIsUsedAsIs() throws Exception {
    Path file = work.resolve("legacy-external.onnx");
    OnnxModels.save(ExternalDataTest.withRawData(legacyExport(8)), null, file, 100);
    assertTrue(java.nio.file.Files.exists(work.resolve("legacy-external.onnx.data")));
    java.nio.file.Files.createDirectories(work.resolve("prep"));
    ModelProto m = ModelPreparer.prepare(file, work.resolve("prep"), Map.of("x", new long[] {1, 8, 8, 8})).model();

    assertConvsReadInitializers(m);
    List<NodeProto> identities = m.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("Identity")).toList();
    assertEquals(1, identities.size(), "the Identity producing graph output convB.bias stays");
    assertEquals(List.of("onnx::Conv_9"), identities.get(0).getInputList());
    assertEquals(List.of("convB.bias"), identities.get(0).getOutputList());
    CalibrationPlan plan = CalibrationPlan.of(m);
    assertEquals(List.of("onnx::Conv_9", "onnx::Conv_9"),
        plan.weights().stream().map(CalibrationPlan.WeightRef::biasInitializer).toList());
  }

  /** Every Conv reads its weight and bias as initializers, not through an Identity. */
  private static void assertConvsReadInitializers(ModelProto m) {
    Set<String> inits = m.getGraph().getInitializerList().stream().map(TensorProto::getName)
        .collect(Collectors.toSet());
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getOpType().equals("Conv")) {
        assertTrue(inits.containsAll(n.getInputList().subList(1, 3)), n.toString());
      }
    }
  }

  private static final long[] MATMUL_SHAPE = {8, 8};

  private static float[] matMulInput() {
    return QdqTestGraphs.uniform(6, 64, -1f, 1f);
  }

  /** x[8,8] -> MatMul(w) -> Relu -> {@code second}(w) -> c -> Flatten -> y. */
  private static ModelProto tiedMatMul(NodeProto second) {
    return model(13,
        List.of(node("MatMul", "first", List.of("x", "w"), List.of("h")),
            node("Relu", "relu", List.of("h"), List.of("r")),
            second,
            node("Flatten", "flatten", List.of("c"), List.of("y"))),
        List.of(floatValue("x", MATMUL_SHAPE)), List.of(floatValue("y", 8, 8)),
        List.of(randomFloats("w", 7, 8, 8)));
  }

  @Test
  void tiedMatMulWeightsAreQuantizedOnce() throws Exception {
    ModelProto m = tiedMatMul(node("MatMul", "second", List.of("r", "w"), List.of("c")));
    QdqRewriter.Result r = quantize(m, matMulInput(), MATMUL_SHAPE);
    ModelProto q = r.model();

    assertEquals(dqFeeding(q, "first", 1).getOutput(0), dqFeeding(q, "second", 1).getOutput(0));
    assertEquals(1, initializersOfType(q, TensorProto.DataType.INT8_VALUE));
    assertEquals(3 + 1, count(q, "DequantizeLinear"), "x, r, c; w");
    assertEquals(Map.of("w", "w"), r.weightSources());
    assertQuality(m, q, matMulInput(), MATMUL_SHAPE);
  }

  @Test
  void aWeightReadAlongTwoAxesGetsOneCopyPerAxis() throws Exception {
    // MatMul quantizes B per output column (axis 1), Gemm with transB per row (axis 0)
    ModelProto m = tiedMatMul(node("Gemm", "second", List.of("r", "w"), List.of("c"), intAttr("transB", 1)));
    QdqRewriter.Result r = quantize(m, matMulInput(), MATMUL_SHAPE);
    ModelProto q = r.model();

    NodeProto first = dqFeeding(q, "first", 1);
    NodeProto second = dqFeeding(q, "second", 1);
    assertNotEquals(first.getOutput(0), second.getOutput(0));
    assertEquals(1, first.getAttribute(0).getI());
    assertEquals(0, second.getAttribute(0).getI());
    assertEquals(2, initializersOfType(q, TensorProto.DataType.INT8_VALUE));
    assertEquals(3 + 2, count(q, "DequantizeLinear"), "x, r, c; w twice");
    assertEquals(List.of("w", "w"), List.copyOf(r.weightSources().values()));
    assertEquals(List.of(1, 0), r.weightParams().values().stream().map(QuantParams::axis).toList());
    assertQuality(m, q, matMulInput(), MATMUL_SHAPE);
  }

  /** An external weight read along two axes is streamed into two copies equal to the embedded model's. */
  @Test
  void anExternalWeightReadAlongTwoAxesGivesTheEmbeddedModelsCopies() throws Exception {
    ModelProto m = tiedMatMul(node("Gemm", "second", List.of("r", "w"), List.of("c"), intAttr("transB", 1)));
    Path dir = work.resolve("ext");
    ModelProto ext = ExternalModels.externalize(m, dir, "w.bin", 16);
    assertTrue(ExternalData.isExternal(ext.getGraph().getInitializer(0)));
    CalibrationPlan plan = CalibrationPlan.of(m);
    Map<String, QuantParams> params = QdqRewriterTest.calibrate(m, plan, matMulInput(), MATMUL_SHAPE);
    QdqRewriter.Result e = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params));
    QdqRewriter.Result x = QdqRewriter.rewrite(QdqRewriter.Request.of(ext, CalibrationPlan.of(ext), params)
        .withModelDir(dir));

    assertEquals(e.weightParams(), x.weightParams());
    assertEquals(e.weightSources(), x.weightSources());
    Path embedded = work.resolve("e/q.onnx");
    Path external = work.resolve("x/q.onnx");
    OnnxModels.save(e.model(), embedded);
    OnnxModels.save(x.model(), dir, external);
    Map<String, float[]> in = Map.of("x", matMulInput());
    Map<String, long[]> shapes = Map.of("x", MATMUL_SHAPE);
    org.junit.jupiter.api.Assertions.assertArrayEquals(dev.qcal.runtime.Ort.run(embedded, in, shapes).get("y"),
        dev.qcal.runtime.Ort.run(external, in, shapes).get("y"));
  }

  @Test
  void aWeightAlsoReadAsAnActivationStaysInFloatForThatReader() throws Exception {
    ModelProto m = model(13,
        List.of(node("MatMul", "mm", List.of("x", "w"), List.of("h")),
            node("Add", "add", List.of("h", "w"), List.of("c")),
            node("Flatten", "flatten", List.of("c"), List.of("y"))),
        List.of(floatValue("x", MATMUL_SHAPE)), List.of(floatValue("y", 8, 8)),
        List.of(randomFloats("w", 7, 8, 8)));
    QdqRewriter.Result r = quantize(m, matMulInput(), MATMUL_SHAPE);
    ModelProto q = r.model();

    assertEquals(TensorProto.DataType.FLOAT_VALUE, initializer(q, "w").getDataType());
    NodeProto add = q.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Add")).findFirst()
        .orElseThrow();
    assertEquals("w", add.getInput(1));
    assertEquals(1, initializersOfType(q, TensorProto.DataType.INT8_VALUE));
    assertQuality(m, q, matMulInput(), MATMUL_SHAPE);
  }
}
