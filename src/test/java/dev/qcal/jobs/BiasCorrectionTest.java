package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate --bias-correction} against a brute-force oracle: per layer, the FP32 layer and a fake-quant
 * copy (its weight replaced by the quantized model's dequantized integers, its input quantized and dequantized
 * in Java with the quantized model's activation scale and zero point) both run in ONNX Runtime on every sample,
 * and the per-channel mean of {@code y_q - y} is taken in double; the bias of the written quantized.onnx must
 * have moved by minus that mean (to half a step of its int32 scale, or float rounding for an FP32 bias).
 */
@ExtendWith(SharedSpark.class)
class BiasCorrectionTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int SAMPLES = 24;

  @TempDir Path tmp;

  /** One layer reading graph input x [N, ...sample]; its node is named {@code layer}, its output y. */
  private record Layer(ModelProto model, long[] sample, String weight, String bias, boolean lastAxis) {}

  private static Layer conv(boolean withBias) {
    List<TensorProto> inits = new ArrayList<>(List.of(TestGraphs.floatTensor("w", new long[] {4, 3, 3, 3},
        TestGraphs.randomFloats(108, 11))));
    List<String> in = new ArrayList<>(List.of("x", "w"));
    if (withBias) {
      inits.add(TestGraphs.floatTensor("b", new long[] {4}, 0.5f, -0.25f, 0.125f, 1f));
      in.add("b");
    }
    ModelProto m = TestGraphs.model(13, List.of(TestGraphs.node("Conv", "layer", in, List.of("y"))),
        List.of(TestGraphs.batchInput("x", 3, 8, 8)), List.of(TestGraphs.floatInfo("y")), inits);
    return new Layer(m, new long[] {3, 8, 8}, "w", withBias ? "b" : null, false);
  }

  private static Layer gemm() {
    ModelProto m = TestGraphs.model(13, List.of(TestGraphs.node("Gemm", "layer", List.of("x", "w", "c"),
        List.of("y"), TestGraphs.i("transB", 1))), List.of(TestGraphs.batchInput("x", 16)),
        List.of(TestGraphs.floatInfo("y")), List.of(
            TestGraphs.floatTensor("w", new long[] {8, 16}, TestGraphs.randomFloats(128, 12)),
            TestGraphs.floatTensor("c", new long[] {8}, TestGraphs.randomFloats(8, 13))));
    return new Layer(m, new long[] {16}, "w", "c", true);
  }

  private static Layer matMul(boolean withAdd) {
    List<NodeProto> nodes = new ArrayList<>(List.of(TestGraphs.node("MatMul", "layer", List.of("x", "w"),
        List.of(withAdd ? "m" : "y"))));
    List<TensorProto> inits = new ArrayList<>(List.of(TestGraphs.floatTensor("w", new long[] {16, 8},
        TestGraphs.randomFloats(128, 14))));
    if (withAdd) {
      nodes.add(TestGraphs.node("Add", "add", List.of("m", "b"), List.of("y")));
      inits.add(TestGraphs.floatTensor("b", new long[] {8}, TestGraphs.randomFloats(8, 15)));
    }
    ModelProto m = TestGraphs.model(13, nodes, List.of(TestGraphs.batchInput("x", 5, 16)),
        List.of(TestGraphs.floatInfo("y")), inits);
    return new Layer(m, new long[] {5, 16}, "w", withAdd ? "b" : null, true);
  }

  @Test
  void convWithBias(SparkSession spark) throws Exception {
    check("conv-bias", conv(true));
  }

  @Test
  void convWithoutBiasGetsOne(SparkSession spark) throws Exception {
    check("conv", conv(false));
  }

  @Test
  void gemm(SparkSession spark) throws Exception {
    check("gemm", gemm());
  }

  @Test
  void matMulFollowedByAnAdd(SparkSession spark) throws Exception {
    check("matmul-add", matMul(true));
  }

  @Test
  void matMulAloneGetsAnAdd(SparkSession spark) throws Exception {
    check("matmul", matMul(false));
  }

  /** Calibrates {@code layer} with bias correction and compares its bias change with the brute-force mean. */
  private void check(String name, Layer layer) throws Exception {
    Path model = tmp.resolve(name + ".onnx");
    OnnxModels.save(layer.model(), model);
    float[] x = inputs(layer.sample(), 5);
    Path data = tmp.resolve(name + "-data");
    Files.createDirectories(data);
    Npy.writeFloat32(data.resolve("x.npy"), x, shape(SAMPLES, layer.sample()));
    Path out = tmp.resolve(name + "-out");
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
        "--bias-correction");
    assertEquals(0, r.code(), r.err());
    ModelProto q = OnnxModels.load(out.resolve("quantized.onnx"));
    double[][] brute = bruteForce(layer, model, q, x);
    double[] expected = brute[0];
    float[] before = layer.bias() == null ? new float[expected.length]
        : floats(initializer(layer.model(), layer.bias()));
    Bias after = bias(q, layer.lastAxis());
    double maxDelta = 0;
    double maxTol = 0;
    for (int c = 0; c < expected.length; c++) {
      double tol = after.step(c) / 2 + 1e-5 * Math.abs(expected[c]) + 1e-6 * Math.abs(before[c]);
      double got = after.values()[c] - before[c];
      assertEquals(expected[c], got, tol, name + " channel " + c);
      maxDelta = Math.max(maxDelta, Math.abs(expected[c]));
      maxTol = Math.max(maxTol, tol);
    }
    assertTrue(maxDelta > 10 * maxTol, name + ": the correction " + maxDelta + " is lost in the tolerance " + maxTol);
    JsonNode bc = JSON.readTree(out.resolve("run.json").toFile()).get("algorithms").get("bias_correction");
    assertEquals(1, bc.get("layers_corrected").asInt(), bc.toString());
    assertEquals(maxDelta, bc.get("max_abs_delta").asDouble(), maxTol);
    // the layer's output SQNR before and after removing each channel's mean error, from the same brute force
    JsonNode l = bc.get("layers").get(0);
    assertEquals("layer", l.get("node").asText());
    assertEquals(brute[1][0], l.get("output_sqnr_db_before").asDouble(), 0.01, name + " before");
    assertEquals(brute[1][1], l.get("output_sqnr_db_after").asDouble(), 0.01, name + " after");
    assertTrue(brute[1][1] > brute[1][0], name + ": removing the mean error raises the SQNR");
    assertEquals(bc, JSON.readTree(out.resolve("qparams.json").toFile()).get("algorithms").get("bias_correction"));
  }

  /**
   * Minus the per-channel mean of fake-quant layer output minus FP32 output, over every sample, in double; and the
   * output SQNR in dB before and after each channel's mean error is removed.
   */
  private double[][] bruteForce(Layer layer, Path model, ModelProto q, float[] x) {
    NodeProto node = node(q, "layer");
    NodeProto wdq = producer(q, node.getInput(1));
    NodeProto adq = producer(q, node.getInput(0));
    float[] dequantized = dequantize(q, wdq, initializer(layer.model(), layer.weight()).getDimsList());
    ModelProto fq = layer.model().toBuilder().setGraph(layer.model().getGraph().toBuilder().clearInitializer()
        .addAllInitializer(layer.model().getGraph().getInitializerList().stream()
            .map(t -> t.getName().equals(layer.weight())
                ? TestGraphs.floatTensor(t.getName(), t.getDimsList().stream().mapToLong(Long::longValue).toArray(),
                    dequantized) : t).toList())).build();
    Path fqFile = tmp.resolve(model.getFileName() + ".fq.onnx");
    OnnxModels.save(fq, fqFile);
    float s = floats(initializer(q, adq.getInput(1)))[0];
    long z = ints(initializer(q, adq.getInput(2)))[0];
    float[] xq = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      double v = Math.max(0, Math.min(255, Math.rint(x[i] / s) + z));
      xq[i] = (float) ((v - z) * s);
    }
    Map<String, long[]> shapes = Map.of("x", shape(SAMPLES, layer.sample()));
    float[] y = Ort.run(model, Map.of("x", x), shapes).get("y");
    float[] yq = Ort.run(fqFile, Map.of("x", xq), shapes).get("y");
    double[] delta = minusChannelMeans(y, yq, channels(q, layer), layer.lastAxis());
    int channels = delta.length;
    int inner = layer.lastAxis() ? 1 : y.length / SAMPLES / channels;
    // the measured output is the node's: a MatMul's comes before the Add of its bias
    float[] addBias = node(q, "layer").getOpType().equals("MatMul") && layer.bias() != null
        ? floats(initializer(layer.model(), layer.bias())) : null;
    double signal = 0;
    double before = 0;
    double after = 0;
    for (int i = 0; i < y.length; i++) {
      double e = (double) yq[i] - y[i];
      double out = addBias == null ? y[i] : (double) y[i] - addBias[(i / inner) % channels];
      signal += out * out;
      before += e * e;
      double centred = e + delta[(i / inner) % channels];
      after += centred * centred;
    }
    return new double[][] {delta, {10 * Math.log10(signal / before), 10 * Math.log10(signal / after)}};
  }

  private static int channels(ModelProto q, Layer layer) {
    List<Long> dims = initializer(layer.model(), layer.weight()).getDimsList();
    boolean gemm = node(q, "layer").getOpType().equals("Gemm");
    return dims.get(layer.lastAxis() && !gemm ? 1 : 0).intValue();
  }

  private static double[] minusChannelMeans(float[] y, float[] yq, int channels, boolean lastAxis) {
    double[] sum = new double[channels];
    long[] count = new long[channels];
    int inner = lastAxis ? 1 : y.length / SAMPLES / channels;
    for (int i = 0; i < y.length; i++) {
      int c = (i / inner) % channels;
      sum[c] += (double) yq[i] - y[i];
      count[c]++;
    }
    double[] d = new double[channels];
    for (int c = 0; c < channels; c++) {
      d[c] = -sum[c] / count[c];
    }
    return d;
  }

  /** The corrected bias in the quantized model, and per channel the step of its int32 scale (0 when float). */
  private record Bias(float[] values, float[] steps) {
    double step(int c) {
      return steps.length == 0 ? 0 : steps[steps.length == 1 ? 0 : c];
    }
  }

  private static Bias bias(ModelProto q, boolean lastAxis) {
    NodeProto node = node(q, "layer");
    if (!node.getOpType().equals("MatMul")) {
      NodeProto dq = producer(q, node.getInput(2));
      assertNotNull(dq, "the bias of " + node.getOpType() + " is not dequantized");
      long[] ints = ints(initializer(q, dq.getInput(0)));
      float[] scale = floats(initializer(q, dq.getInput(1)));
      float[] v = new float[ints.length];
      for (int c = 0; c < v.length; c++) {
        v[c] = (float) (ints[c] * (double) scale[scale.length == 1 ? 0 : c]);
      }
      return new Bias(v, scale);
    }
    String y = node.getOutput(0);
    NodeProto quantize = reader(q, y, "QuantizeLinear");
    if (quantize != null) { // the MatMul's output Q/DQ'd on its way to the Add
      y = reader(q, quantize.getOutput(0), "DequantizeLinear").getOutput(0);
    }
    NodeProto add = reader(q, y, "Add");
    assertNotNull(add, "no Add reads the MatMul's output");
    String other = add.getInput(0).equals(y) ? add.getInput(1) : add.getInput(0);
    return new Bias(floats(initializer(q, other)), new float[0]);
  }

  /** (q - z) * s of a weight DequantizeLinear, per channel along its axis (or per tensor), as floats. */
  private static float[] dequantize(ModelProto q, NodeProto dq, List<Long> dims) {
    long[] v = ints(initializer(q, dq.getInput(0)));
    float[] s = floats(initializer(q, dq.getInput(1)));
    long[] z = dq.getInputCount() > 2 ? ints(initializer(q, dq.getInput(2))) : new long[s.length];
    int axis = 1;
    for (var a : dq.getAttributeList()) {
      if (a.getName().equals("axis")) {
        axis = (int) a.getI();
      }
    }
    int inner = 1;
    for (int i = axis + 1; i < dims.size(); i++) {
      inner *= dims.get(i);
    }
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      int c = s.length == 1 ? 0 : (i / inner) % s.length;
      out[i] = (v[i] - z[c]) * s[c];
    }
    return out;
  }

  static NodeProto node(ModelProto m, String name) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no node " + name));
  }

  static NodeProto reader(ModelProto m, String tensor, String opType) {
    return m.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals(opType) && n.getInputList().contains(tensor)).findFirst().orElse(null);
  }

  static NodeProto producer(ModelProto m, String tensor) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOutputList().contains(tensor)).findFirst()
        .orElse(null);
  }

  static TensorProto initializer(ModelProto m, String name) {
    return m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no initializer " + name));
  }

  static float[] floats(TensorProto t) {
    if (t.getFloatDataCount() > 0) {
      float[] v = new float[t.getFloatDataCount()];
      for (int i = 0; i < v.length; i++) {
        v[i] = t.getFloatData(i);
      }
      return v;
    }
    ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[b.remaining() / 4];
    b.asFloatBuffer().get(v);
    return v;
  }

  /** The values of an 8-bit or int32 tensor as longs (uint8 unsigned). */
  static long[] ints(TensorProto t) {
    if (t.getInt32DataCount() > 0) {
      return t.getInt32DataList().stream().mapToLong(Integer::longValue).toArray();
    }
    ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int type = t.getDataType();
    int width = type == TensorProto.DataType.INT32_VALUE ? 4 : 1;
    long[] v = new long[b.remaining() / width];
    for (int i = 0; i < v.length; i++) {
      v[i] = width == 4 ? b.getInt() : type == TensorProto.DataType.UINT8_VALUE ? b.get() & 0xff : b.get();
    }
    return v;
  }

  /** Values in [0, 2): a positive mean, as after a ReLU, so weight rounding errors do not average out. */
  private static float[] inputs(long[] sample, long seed) {
    int n = SAMPLES;
    for (long d : sample) {
      n *= (int) d;
    }
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextDouble() * 2);
    }
    return v;
  }

  static long[] shape(int rows, long[] sample) {
    long[] s = new long[sample.length + 1];
    s[0] = rows;
    System.arraycopy(sample, 0, s, 1, sample.length);
    return s;
  }
}
