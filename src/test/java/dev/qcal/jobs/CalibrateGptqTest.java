package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.quant.Gptq;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.quant.WeightSpec;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate --weight-algorithm gptq} end to end on a MatMul and a Gemm (transB = 1) fed by graph
 * inputs: the integers written to quantized.onnx are those {@link Gptq#quantize} gives on the Hessian
 * computed here by brute force in double from the calibration rows (not one differs), they are not RTN's,
 * they lower the layer output error, and they do not depend on the partitioning (byte-identical models).
 */
@ExtendWith(SharedSpark.class)
class CalibrateGptqTest {
  private static final int ROWS = 96;
  private static final int K1 = 32;
  private static final int N1 = 8;
  private static final int K2 = 48;
  private static final int N2 = 6;

  @TempDir Path tmp;

  private final float[] w1 = TestGraphs.randomFloats(K1 * N1, 11);
  private final float[] w2 = TestGraphs.randomFloats(N2 * K2, 12); // [N2, K2]: Gemm transB = 1
  private float[][] x1;
  private float[][] x2;

  /** a[N,K1] -> MatMul(w1) -> y1; b[N,K2] -> Gemm(w2, c, transB=1) -> y2. */
  private Path model() {
    Path f = tmp.resolve("layers.onnx");
    OnnxModels.save(graph(), f);
    return f;
  }

  private ModelProto graph() {
    ModelProto m = TestGraphs.model(21,
        List.of(TestGraphs.node("MatMul", "mm", List.of("a", "w1"), List.of("y1")),
            TestGraphs.node("Gemm", "gm", List.of("b", "w2", "c"), List.of("y2"), TestGraphs.i("transB", 1))),
        List.of(TestGraphs.batchInput("a", K1), TestGraphs.batchInput("b", K2)),
        List.of(TestGraphs.floatInfo("y1"), TestGraphs.floatInfo("y2")),
        List.of(TestGraphs.floatTensor("w1", new long[] {K1, N1}, w1),
            TestGraphs.floatTensor("w2", new long[] {N2, K2}, w2),
            TestGraphs.floatTensor("c", new long[] {N2}, TestGraphs.randomFloats(N2, 13))));
    return m;
  }

  /** Strongly correlated rows: three factors mixed into k values, plus a little noise. */
  private static float[][] correlated(int rows, int k, long seed) {
    Random r = new Random(seed);
    double[][] mix = new double[3][k];
    for (double[] m : mix) {
      for (int j = 0; j < k; j++) {
        m[j] = r.nextGaussian();
      }
    }
    float[][] x = new float[rows][k];
    for (int i = 0; i < rows; i++) {
      double[] z = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
      for (int j = 0; j < k; j++) {
        x[i][j] = (float) (z[0] * mix[0][j] + z[1] * mix[1][j] + z[2] * mix[2][j] + 0.05 * r.nextGaussian());
      }
    }
    return x;
  }

  private void data() throws Exception {
    x1 = correlated(ROWS, K1, 1);
    x2 = correlated(ROWS, K2, 2);
    for (String in : new String[] {"a", "b"}) {
      float[][] x = in.equals("a") ? x1 : x2;
      Files.createDirectories(tmp.resolve(in));
      for (int f = 0; f < 4; f++) {
        int n = ROWS / 4;
        float[] flat = new float[n * x[0].length];
        for (int i = 0; i < n; i++) {
          System.arraycopy(x[f * n + i], 0, flat, i * x[0].length, x[0].length);
        }
        Npy.writeFloat32(tmp.resolve(in + "/" + f + ".npy"), flat, new long[] {n, x[0].length});
      }
    }
  }

  private Cli calibrate(Path model, Path out, String... more) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data",
        "a=" + tmp.resolve("a"), "--data", "b=" + tmp.resolve("b"), "--out", out.toString(), "--batch-size", "5",
        "--weight-algorithm", "gptq", "--no-report"));
    args.addAll(List.of(more));
    return Cli.run(args.toArray(String[]::new));
  }

  /** H = sum x x^T in double, the rows in order. */
  private static double[][] hessian(float[][] x) {
    int k = x[0].length;
    double[][] h = new double[k][k];
    for (float[] row : x) {
      for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++) {
          h[i][j] += (double) row[i] * row[j];
        }
      }
    }
    return h;
  }

  private static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }

  private static long[] transpose(long[] m, int rows, int cols) {
    long[] t = new long[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }

  /** The integers and scales of the weight node {@code node} reads at input 1, as quantized.onnx holds them. */
  private record Written(long[] codes, float[] scales) {}

  private static Written written(ModelProto q, String node) {
    return written(q, node, null);
  }

  /** The bytes of an external tensor, its location relative to {@code dir}. */
  private static byte[] externalBytes(TensorProto t, Path dir) {
    java.util.Map<String, String> e = new java.util.HashMap<>();
    t.getExternalDataList().forEach(x -> e.put(x.getKey(), x.getValue()));
    try {
      byte[] all = Files.readAllBytes(dir.resolve(e.get("location")));
      int offset = Integer.parseInt(e.getOrDefault("offset", "0"));
      return java.util.Arrays.copyOfRange(all, offset, offset + Integer.parseInt(e.get("length")));
    } catch (java.io.IOException x) {
      throw new java.io.UncheckedIOException(x);
    }
  }

  private static Written written(ModelProto q, String node, Path dir) {
    NodeProto n = q.getGraph().getNodeList().stream().filter(x -> x.getName().equals(node)).findFirst().orElseThrow();
    NodeProto dq = q.getGraph().getNodeList().stream().filter(x -> x.getOutputList().contains(n.getInput(1)))
        .findFirst().orElseThrow();
    assertEquals("DequantizeLinear", dq.getOpType());
    TensorProto ints = initializer(q, dq.getInput(0));
    int count = (int) Initializers.count(ints);
    byte[] raw = ints.getDataLocation() == TensorProto.DataLocation.EXTERNAL ? externalBytes(ints, dir)
        : ints.getRawData().toByteArray();
    long[] codes = new long[count];
    if (ints.getDataType() == QuantType.INT4.onnxElemType()) {
      codes = QuantType.INT4.unpack4(raw, count);
    } else {
      assertEquals(QuantType.INT8.onnxElemType(), ints.getDataType());
      for (int i = 0; i < count; i++) {
        codes[i] = raw[i];
      }
    }
    return new Written(codes, Initializers.floats(initializer(q, dq.getInput(1)), dir));
  }

  private static TensorProto initializer(ModelProto q, String name) {
    return q.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst().orElseThrow();
  }

  /** sum over rows of ||x W - x W'||^2, W and W' [K, N]. */
  private static double outputError(float[][] x, float[] w, float[] wq, int n) {
    double e = 0;
    for (float[] row : x) {
      for (int j = 0; j < n; j++) {
        double d = 0;
        for (int i = 0; i < row.length; i++) {
          d += (double) row[i] * (w[i * n + j] - wq[i * n + j]);
        }
        e += d * d;
      }
    }
    return e;
  }

  private static float[] dequantize(long[] codes, long[] shape, QuantParams p) {
    int[] idx = LinearQuant.paramIndices(shape, p);
    float[] v = new float[codes.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = LinearQuant.dequantize(codes[i], p.scale(idx[i]), p.zeroPoint(idx[i]));
    }
    return v;
  }

  /**
   * Checks one layer against GPTQ on the brute-force Hessian (weight [K, N] as GPTQ takes it) and RTN; its output
   * SQNR on the rows {@code x}, rounded to nearest and by GPTQ.
   */
  private static double[] checkLayer(String what, Written got, float[] wKN, float[][] x, int k, int n, WeightSpec spec,
      boolean transposed) {
    Gptq.Result expected = Gptq.quantize(wKN, new long[] {k, n}, hessian(x), spec);
    long[] codes = transposed ? transpose(got.codes(), n, k) : got.codes();
    assertArrayEquals(expected.codes(), codes, what + ": integers");
    int blocks = expected.params().blocked() ? expected.params().channels() / n : 0;
    float[] scales = transposed && blocks > 0 ? transpose(got.scales(), n, blocks) : got.scales();
    assertArrayEquals(expected.params().scale(), scales, what + ": scales");
    long[] shape = {k, n};
    QuantParams rtnParams = spec.blockSize() > 0
        ? LinearQuant.blockWeightParams(wKN, shape, 0, spec.blockSize(), spec.type()) : expected.params();
    long[] rtn = LinearQuant.quantizeAll(wKN, shape, rtnParams);
    assertFalse(java.util.Arrays.equals(rtn, codes), what + ": GPTQ gave RTN's integers");
    double gptqErr = outputError(x, wKN, dequantize(codes, shape, expected.params()), n);
    double rtnErr = outputError(x, wKN, dequantize(rtn, shape, rtnParams), n);
    assertTrue(gptqErr < rtnErr, what + ": GPTQ output error " + gptqErr + " not below RTN's " + rtnErr);
    double signal = outputError(x, wKN, new float[wKN.length], n);
    return new double[] {10 * Math.log10(signal / rtnErr), 10 * Math.log10(signal / gptqErr)};
  }

  /** run.json's per-layer output SQNRs of {@code weight} equal {@code expected} (RTN, GPTQ) from the rows. */
  private static void checkRecordedSqnr(JsonNode gptq, String weight, double[] expected) {
    JsonNode layer = null;
    for (JsonNode l : gptq.get("layers")) {
      if (l.get("weight").asText().equals(weight)) {
        layer = l;
      }
    }
    assertTrue(layer != null, weight + " in " + gptq.get("layers"));
    assertEquals(expected[0], layer.get("output_sqnr_db_rtn").asDouble(), 1e-6, weight + " RTN");
    assertEquals(expected[1], layer.get("output_sqnr_db_gptq").asDouble(), 1e-6, weight + " GPTQ");
  }

  @Test
  void int8PerChannelIntegersAreGptqOnTheBruteForceHessianAndIndependentOfThePartitioning() throws Exception {
    Path model = model();
    data();
    Path one = tmp.resolve("one");
    Path three = tmp.resolve("three");
    Cli r1 = calibrate(model, one, "--partitions", "1");
    assertEquals(0, r1.code(), r1.err());
    Cli r3 = calibrate(model, three, "--partitions", "3");
    assertEquals(0, r3.code(), r3.err());
    assertArrayEquals(Files.readAllBytes(one.resolve("quantized.onnx")),
        Files.readAllBytes(three.resolve("quantized.onnx")), "quantized.onnx, 1 vs 3 partitions");

    ModelProto q = OnnxModels.load(one.resolve("quantized.onnx"));
    WeightSpec spec = new WeightSpec(QuantType.INT8, true, 0);
    double[] s1 = checkLayer("MatMul w1", written(q, "mm"), w1, x1, K1, N1, spec, false);
    double[] s2 = checkLayer("Gemm w2 (transB)", written(q, "gm"), transpose(w2, N2, K2), x2, K2, N2, spec, true);

    JsonNode run = new ObjectMapper().readTree(one.resolve("run.json").toFile());
    JsonNode g = run.get("algorithms").get("gptq");
    // each layer's output SQNR on the calibration rows, before (RTN) and after GPTQ, as the report shows them
    checkRecordedSqnr(g, "w1", s1);
    checkRecordedSqnr(g, "w2", s2);
    assertEquals("[\"w1\",\"w2\"]", g.get("weights").toString());
    assertEquals(K1, g.get("hessian_inputs").get("a").get("k").asInt());
    assertEquals(ROWS, g.get("hessian_inputs").get("b").get("rows").asLong());
    assertTrue(run.get("stage_seconds").has("gptq_hessian"), run.get("stage_seconds").toString());
    JsonNode qp = new ObjectMapper().readTree(one.resolve("qparams.json").toFile());
    assertEquals(g, qp.findValue("algorithms").get("gptq"));
  }

  @Test
  void int4BlockedIntegersAreGptqOnTheBruteForceHessian() throws Exception {
    Path model = model();
    data();
    Path out = tmp.resolve("int4");
    Cli r = calibrate(model, out, "--weight-type", "int4", "--weight-block-size", "16");
    assertEquals(0, r.code(), r.err());
    ModelProto q = OnnxModels.load(out.resolve("quantized.onnx"));
    WeightSpec spec = new WeightSpec(QuantType.INT4, true, 16);
    checkLayer("MatMul w1 int4 blocks of 16", written(q, "mm"), w1, x1, K1, N1, spec, false);
    checkLayer("Gemm w2 (transB) int4 blocks of 16", written(q, "gm"), transpose(w2, N2, K2), x2, K2, N2, spec, true);
  }

  @Test
  void weightsInExternalDataGetTheSameIntegers() throws Exception {
    data();
    Path dir = tmp.resolve("ext");
    ModelProto m = dev.qcal.model.ExternalModels.externalize(graph(), dir, "weights.bin", 100);
    assertEquals(TensorProto.DataLocation.EXTERNAL, initializer(m, "w1").getDataLocation());
    Path model = dev.qcal.model.ExternalModels.write(m, dir.resolve("layers.onnx"));
    Path out = tmp.resolve("ext-out");
    Cli r = calibrate(model, out, "--weight-type", "int4", "--weight-block-size", "16");
    assertEquals(0, r.code(), r.err());
    ModelProto q = OnnxModels.load(out.resolve("quantized.onnx"));
    assertEquals(TensorProto.DataLocation.EXTERNAL, initializer(q, n(q, "mm").getInput(0)).getDataLocation(),
        "the quantized weight is in external data");
    WeightSpec spec = new WeightSpec(QuantType.INT4, true, 16);
    checkLayer("external MatMul w1", written(q, "mm", out), w1, x1, K1, N1, spec, false);
    checkLayer("external Gemm w2", written(q, "gm", out), transpose(w2, N2, K2), x2, K2, N2, spec, true);
  }

  @Test
  void paddedPositionsLeftOutOfTheStatisticsAreRefusedBeforeTheData() throws Exception {
    Path model = model();
    data();
    Path out = tmp.resolve("pad");
    calibrate(model, out, "--pad", "a=0").assertBadInput(out, "--weight-algorithm gptq", "--pad-stats include");
  }

  @Test
  void aNonFiniteLayerInputIsRefusedNamingTheTensor() throws Exception {
    Path model = model();
    data();
    float[] row = new float[2 * K1];
    row[K1 + 5] = Float.NaN;
    Npy.writeFloat32(tmp.resolve("a/0.npy"), java.util.Arrays.copyOf(row, 24 * K1), new long[] {24, K1});
    Path out = tmp.resolve("nan");
    calibrate(model, out).assertBadInput(out, "--weight-algorithm gptq", "tensor 'a'", "NaN");
  }

  /** The DequantizeLinear feeding input 1 of {@code node}. */
  private static NodeProto n(ModelProto q, String node) {
    NodeProto target = q.getGraph().getNodeList().stream().filter(x -> x.getName().equals(node)).findFirst()
        .orElseThrow();
    return q.getGraph().getNodeList().stream().filter(x -> x.getOutputList().contains(target.getInput(1)))
        .findFirst().orElseThrow();
  }
}
