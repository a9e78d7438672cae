package dev.qcal.jobs;

import static dev.qcal.examples.Graph.i;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.examples.Graph;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate --smooth-quant} end to end on a small transformer-like graph with outlier channels: x (one
 * channel 50x larger) feeds a LayerNormalization and two MatMuls, the LayerNorm one MatMul, z (one channel 50x
 * larger) a Gemm with transB. The oracles: max|x_j| by brute force (ONNX Runtime running the FP32 graph with the
 * activations exposed, sample by sample), max|W_j| from the weights by hand, the formula here, and SQNR of the
 * quantized models against the FP32 one.
 */
@ExtendWith(SharedSpark.class)
class CalibrateSmoothQuantTest {
  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
  private static final int SEQ = 4;
  private static final int WIDTH = 8;
  private static final int FILES = 3;
  private static final int ROWS = 7;

  @TempDir Path tmp;
  private Path model;
  private ModelProto proto;

  /** The graph; with {@code expose}, also its three smoothed activations as outputs {@code o_x, o_ln, o_z}. */
  private static ModelProto graph(boolean expose) {
    Graph g = new Graph(17, 5);
    String x = g.input("x", FLOAT, "batch", SEQ, WIDTH);
    String z = g.input("z", FLOAT, "batch", WIDTH);
    String ln = g.layerNorm("ln", x, WIDTH);
    String q = g.op("MatMul", "q", List.of(ln, weight(g, "wq", WIDTH, 6, 3, false)));
    String m1 = g.op("MatMul", "m1", List.of(x, weight(g, "w1", WIDTH, 6, 3, false)));
    String m2 = g.op("MatMul", "m2", List.of(x, weight(g, "w2", WIDTH, 6, 3, false)));
    String sum = g.op("Add", "sum", List.of(m1, m2));
    String gemm = g.op("Gemm", "gemm", List.of(z, weight(g, "wg", 5, WIDTH, 2, true), g.weight("bg", 0.1, 5)),
        i("transB", 1));
    g.output(q, "yq", FLOAT, "batch", SEQ, 6);
    g.output(sum, "ys", FLOAT, "batch", SEQ, 6);
    g.output(gemm, "yg", FLOAT, "batch", 5);
    if (expose) {
      g.output(x, "o_x", FLOAT, "batch", SEQ, WIDTH);
      g.output(ln, "o_ln", FLOAT, "batch", SEQ, WIDTH);
      g.output(z, "o_z", FLOAT, "batch", WIDTH);
    }
    return g.build("smooth_me");
  }

  /**
   * A [rows, cols] weight, normal with standard deviation 0.3, whose input channel {@code outlier} (a row, or a
   * column when {@code transposed}) is 50x smaller: the outlier input channel's share of the output is then no
   * larger than the others', as SmoothQuant's paper finds in LLMs.
   */
  private static String weight(Graph g, String name, int rows, int cols, int outlier, boolean transposed) {
    float[] v = new float[rows * cols];
    for (int k = 0; k < v.length; k++) {
      v[k] = (float) (0.3 * g.gaussian() / ((transposed ? k % cols : k / cols) == outlier ? 50 : 1));
    }
    return g.constant(name, new long[] {rows, cols}, v);
  }

  @BeforeEach
  void writeModelAndData() throws Exception {
    proto = graph(false);
    model = tmp.resolve("smooth_me.onnx");
    OnnxModels.save(proto, model);
    Files.createDirectories(tmp.resolve("data/x"));
    Files.createDirectories(tmp.resolve("data/z"));
    for (int f = 0; f < FILES; f++) {
      Npy.writeFloat32(tmp.resolve("data/x/" + f + ".npy"), outliers(ROWS * SEQ, 3, 10 + f),
          new long[] {ROWS, SEQ, WIDTH});
      Npy.writeFloat32(tmp.resolve("data/z/" + f + ".npy"), outliers(ROWS, 2, 20 + f), new long[] {ROWS, WIDTH});
    }
  }

  /** {@code rows} rows of WIDTH values uniform in [-1, 1), channel {@code outlier} 50x larger. */
  private static float[] outliers(int rows, int outlier, long seed) {
    Random r = new Random(seed);
    float[] v = new float[rows * WIDTH];
    for (int k = 0; k < v.length; k++) {
      v[k] = (float) ((2 * r.nextDouble() - 1) * (k % WIDTH == outlier ? 50 : 1));
    }
    return v;
  }

  private Cli calibrate(String out, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data",
        "x=" + tmp.resolve("data/x"), "--data", "z=" + tmp.resolve("data/z"), "--out", tmp.resolve(out).toString()));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  private JsonNode smoothQuant(String out) throws Exception {
    JsonNode q = new ObjectMapper().readTree(tmp.resolve(out).resolve("qparams.json").toFile());
    return q.path("algorithms").path("smooth_quant");
  }

  /** Per activation output, max|v_j| over every sample, run one by one through the exposing FP32 graph. */
  private Map<String, float[]> bruteForceMaxAbs() throws Exception {
    Path exposing = tmp.resolve("exposing.onnx");
    OnnxModels.save(graph(true), exposing);
    Map<String, float[]> max = new LinkedHashMap<>();
    for (int f = 0; f < FILES; f++) {
      float[] x = read(tmp.resolve("data/x/" + f + ".npy"));
      float[] z = read(tmp.resolve("data/z/" + f + ".npy"));
      for (int row = 0; row < ROWS; row++) {
        float[] xr = java.util.Arrays.copyOfRange(x, row * SEQ * WIDTH, (row + 1) * SEQ * WIDTH);
        float[] zr = java.util.Arrays.copyOfRange(z, row * WIDTH, (row + 1) * WIDTH);
        Map<String, float[]> outs = Ort.run(exposing, Map.of("x", xr, "z", zr),
            Map.of("x", new long[] {1, SEQ, WIDTH}, "z", new long[] {1, WIDTH}));
        for (String name : List.of("o_x", "o_ln", "o_z")) {
          float[] m = max.computeIfAbsent(name, k -> new float[WIDTH]);
          float[] v = outs.get(name);
          for (int k = 0; k < v.length; k++) {
            m[k % WIDTH] = Math.max(m[k % WIDTH], Math.abs(v[k]));
          }
        }
      }
    }
    return max;
  }

  private static float[] read(Path npy) throws Exception {
    try (Npy.Reader r = Npy.open(npy)) {
      float[] all = new float[ROWS * r.rowElements()];
      float[] row = new float[r.rowElements()];
      int n = 0;
      while (r.readRow(row)) {
        System.arraycopy(row, 0, all, n++ * row.length, row.length);
      }
      return all;
    }
  }

  /** max|W_j| over input channel j of the named [in, out] weights, or of [out, in] ones with {@code transposed}. */
  private float[] maxAbsRows(boolean transposed, String... weights) {
    return maxAbsRows(proto, transposed, weights);
  }

  private static float[] maxAbsRows(ModelProto proto, String weight) {
    return maxAbsRows(proto, false, weight);
  }

  private static float[] maxAbsRows(ModelProto proto, boolean transposed, String... weights) {
    float[] m = new float[WIDTH];
    for (String w : weights) {
      TensorProto t = proto.getGraph().getInitializerList().stream().filter(i -> i.getName().equals(w)).findFirst()
          .orElseThrow();
      float[] v = Initializers.floats(t);
      int cols = (int) t.getDims(1);
      for (int k = 0; k < v.length; k++) {
        int j = transposed ? k % cols : k / cols;
        m[j] = Math.max(m[j], Math.abs(v[k]));
      }
    }
    return m;
  }

  private static float[] formula(float[] maxX, float[] maxW, double a) {
    float[] s = new float[maxX.length];
    for (int j = 0; j < s.length; j++) {
      s[j] = (float) (Math.pow(maxX[j], a) / Math.pow(maxW[j], 1 - a));
    }
    return s;
  }

  private static float[] floats(JsonNode array) {
    float[] v = new float[array.size()];
    for (int k = 0; k < v.length; k++) {
      v[k] = (float) array.get(k).asDouble();
    }
    return v;
  }

  private static JsonNode group(JsonNode smooth, String activation) {
    for (JsonNode g : smooth.path("smoothed")) {
      if (g.path("activation").asText().equals(activation)) {
        return g;
      }
    }
    throw new AssertionError("no smoothed group for " + activation + " in " + smooth);
  }

  private static List<String> sorted(JsonNode nodes) {
    List<String> n = new ArrayList<>();
    nodes.forEach(v -> n.add(v.asText()));
    return n.stream().sorted().toList();
  }

  private static String name(JsonNode nodes) {
    List<String> n = new ArrayList<>();
    nodes.forEach(v -> n.add(v.asText()));
    return String.join(",", n);
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int j = 0; j < expected.length; j++) {
      assertEquals(expected[j], actual[j], 1e-5f * Math.abs(expected[j]), what + " channel " + j);
    }
  }

  private float[] initializer(Path file, String name) {
    return Initializers.floats(OnnxModels.load(file).getGraph().getInitializerList().stream()
        .filter(t -> t.getName().equals(name)).findFirst().orElseThrow());
  }

  @Test
  void scalesFollowTheFormulaFromBruteForceMaximaAndAreApplied(SparkSession spark) throws Exception {
    Cli r = calibrate("a07", "--smooth-quant", "--smooth-alpha", "0.7");
    assertEquals(0, r.code(), r.err());
    Map<String, float[]> maxX = bruteForceMaxAbs();
    JsonNode smooth = smoothQuant("a07");
    assertEquals(0.7, smooth.path("alpha").asDouble());
    assertEquals(3, smooth.path("smoothed").size(), smooth.toString());

    JsonNode x = group(smooth, "x");
    assertEquals(List.of("m1_2", "m2_3"), sorted(x.path("nodes")));
    assertEquals("Mul", x.path("divided_in").asText());
    float[] sx = formula(maxX.get("o_x"), maxAbsRows(false, "w1", "w2"), 0.7);
    assertClose(sx, floats(x.path("scales")), "x");

    JsonNode ln = group(smooth, "ln_0");
    assertEquals("LayerNormalization", ln.path("divided_in").asText());
    float[] sln = formula(maxX.get("o_ln"), maxAbsRows(false, "wq"), 0.7);
    assertClose(sln, floats(ln.path("scales")), "ln");

    JsonNode z = group(smooth, "z");
    assertEquals("gemm_5", name(z.path("nodes")));
    float[] sz = formula(maxX.get("o_z"), maxAbsRows(true, "wg"), 0.7);
    assertClose(sz, floats(z.path("scales")), "z");

    // applied: the LayerNorm's gamma divided by s, the inserted Mul multiplying by 1/s (neither is quantized)
    Path quantized = tmp.resolve("a07").resolve(CalibrateJob.QUANTIZED);
    float[] gamma = initializer(model, "ln.weight");
    float[] smoothedGamma = initializer(quantized, "ln.weight");
    float[] inverse = initializer(quantized, "x_smooth_scale");
    for (int j = 0; j < WIDTH; j++) {
      assertEquals(gamma[j] / sln[j], smoothedGamma[j], 1e-5f * Math.abs(gamma[j] / sln[j]), "gamma " + j);
      assertEquals(1 / sx[j], inverse[j], 1e-5f / sx[j], "1/s " + j);
    }
    JsonNode run = new ObjectMapper().readTree(tmp.resolve("a07").resolve("run.json").toFile());
    assertEquals(smooth, run.path("algorithms").path("smooth_quant"));
    assertTrue(run.path("stage_seconds").has("smooth_quant"), run.path("stage_seconds").toString());
    assertEquals("smooth_quant", OnnxModels.load(quantized).getMetadataPropsList().stream()
        .filter(p -> p.getKey().equals("qcal.algorithms")).findFirst().orElseThrow().getValue());
  }

  @Test
  void smoothingRaisesTheSqnrOfTheQuantizedModelOnOutlierChannels(SparkSession spark) throws Exception {
    assertEquals(0, calibrate("plain").code());
    Cli r = calibrate("smooth", "--smooth-quant");
    assertEquals(0, r.code(), r.err());
    Map<String, float[]> in = Map.of("x", outliers(16 * SEQ, 3, 99), "z", outliers(16, 2, 98));
    Map<String, long[]> shapes = Map.of("x", new long[] {16, SEQ, WIDTH}, "z", new long[] {16, WIDTH});
    Map<String, float[]> fp32 = Ort.run(model, in, shapes);
    double plain = sqnr(fp32, Ort.run(tmp.resolve("plain").resolve(CalibrateJob.QUANTIZED), in, shapes));
    double smoothed = sqnr(fp32, Ort.run(tmp.resolve("smooth").resolve(CalibrateJob.QUANTIZED), in, shapes));
    assertTrue(smoothed > plain + 3, "SQNR smoothed " + smoothed + " dB vs plain " + plain + " dB");
    // per smoothed activation, the quantization SQNR expected before (the pre-pass's histogram: the same as the
    // plain run's observe pass records for that tensor) and after (the smoothed tensor's, as qparams.json says)
    JsonNode plainActs = new ObjectMapper().readTree(tmp.resolve("plain").resolve("qparams.json").toFile())
        .get("activations");
    JsonNode smoothActs = new ObjectMapper().readTree(tmp.resolve("smooth").resolve("qparams.json").toFile())
        .get("activations");
    for (JsonNode g : smoothQuant("smooth").get("smoothed")) {
      String a = g.get("activation").asText();
      String after = g.get("smoothed_tensor").asText();
      assertEquals(plainActs.get(a).get("sqnr_db").asDouble(), g.get("activation_sqnr_db_before").asDouble(), 1e-9, a);
      assertEquals(smoothActs.get(after).get("sqnr_db").asDouble(), g.get("activation_sqnr_db_after").asDouble(),
          1e-9, a + " -> " + after);
    }
    JsonNode x = group(smoothQuant("smooth"), "x");
    assertTrue(x.get("activation_sqnr_db_after").asDouble() > x.get("activation_sqnr_db_before").asDouble() + 3,
        x.toString());
  }

  /** SQNR in dB over every output: signal energy over error energy. */
  private static double sqnr(Map<String, float[]> reference, Map<String, float[]> actual) {
    double signal = 0;
    double noise = 0;
    for (String k : reference.keySet()) {
      float[] a = reference.get(k);
      float[] b = actual.get(k);
      for (int j = 0; j < a.length; j++) {
        signal += (double) a[j] * a[j];
        noise += (double) (a[j] - b[j]) * (a[j] - b[j]);
      }
    }
    return 10 * Math.log10(signal / noise);
  }

  @Test
  void oneAndThreePartitionsWriteTheSameBytes(SparkSession spark) throws Exception {
    assertEquals(0, calibrate("p1", "--smooth-quant", "--partitions", "1").code());
    assertEquals(0, calibrate("p3", "--smooth-quant", "--partitions", "3", "--batch-size", "2").code());
    for (String f : List.of("qparams.json", CalibrateJob.QUANTIZED)) {
      assertArrayEquals(Files.readAllBytes(tmp.resolve("p1").resolve(f)),
          Files.readAllBytes(tmp.resolve("p3").resolve(f)), f);
    }
  }

  @Test
  void anExcludedNodeKeepsItsWeightAndTheScalesComeFromTheOthers(SparkSession spark) throws Exception {
    Cli r = calibrate("ex", "--smooth-quant", "--exclude-nodes", "m1_2");
    assertEquals(0, r.code(), r.err());
    JsonNode smooth = smoothQuant("ex");
    JsonNode x = group(smooth, "x");
    assertEquals("m2_3", name(x.path("nodes")));
    assertClose(formula(bruteForceMaxAbs().get("o_x"), maxAbsRows(false, "w2"), 0.5), floats(x.path("scales")), "x");
    boolean recorded = false;
    for (JsonNode s : smooth.path("skipped")) {
      recorded |= name(s.path("nodes")).equals("m1_2") && s.path("reason").asText().startsWith("not quantized");
    }
    assertTrue(recorded, smooth.toString());
    assertArrayEquals(initializer(model, "w1"), initializer(tmp.resolve("ex").resolve(CalibrateJob.QUANTIZED), "w1"));
  }

  /**
   * With w1, w2 and wq (48 values each) in an external file and wg (40) in the model, only the Gemm is smoothed,
   * the rest is recorded as skipped, and the Gemm's input and weight get the embedded smoothed run's parameters.
   */
  @Test
  void weightsInExternalDataAreLeftAsTheyAreAndTheGemmIsSmoothedAsInTheEmbeddedModel(SparkSession spark)
      throws Exception {
    Path embedded = model;
    assertEquals(0, calibrate("emb", "--smooth-quant").code());
    Path dir = tmp.resolve("ext-model");
    model = dev.qcal.model.ExternalModels.write(
        dev.qcal.model.ExternalModels.externalize(proto, dir, "weights.bin", 45), dir.resolve("m.onnx"));
    Cli r = calibrate("ext", "--smooth-quant");
    assertEquals(0, r.code(), r.err());

    JsonNode smooth = smoothQuant("ext");
    assertEquals(1, smooth.path("smoothed").size(), smooth.toString());
    assertClose(formula(bruteForceMaxAbs().get("o_z"), maxAbsRows(true, "wg"), 0.5),
        floats(group(smooth, "z").path("scales")), "z");
    List<String> skipped = new ArrayList<>();
    for (JsonNode s : smooth.path("skipped")) {
      assertTrue(s.path("reason").asText().contains("external file"), s.toString());
      skipped.add(s.path("activation").asText());
    }
    assertEquals(List.of("ln_0", "x", "x"), skipped.stream().sorted().toList());
    // the Gemm's input and weight got the same parameters as in the embedded model (its graph outputs are prepared
    // differently: ONNX Runtime's optimization drops the output Identity nodes only there)
    ObjectMapper json = new ObjectMapper();
    JsonNode emb = json.readTree(tmp.resolve("emb").resolve("qparams.json").toFile());
    JsonNode ext = json.readTree(tmp.resolve("ext").resolve("qparams.json").toFile());
    assertEquals(emb.path("activations").path("z_smoothed"), ext.path("activations").path("z_smoothed"));
    assertEquals(emb.path("weights").path("wg"), ext.path("weights").path("wg"));
    assertFalse(emb.path("weights").path("wg").isMissingNode());
    model = embedded;
  }

  /**
   * Samples of 3 and 5 positions padded with 1000 in one batch: the scales come from the real positions only
   * (with {@code --pad-stats include} the padding is counted, and they differ).
   */
  @Test
  void paddedPositionsDoNotCountTowardsMaxAbs(SparkSession spark) throws Exception {
    Graph g = new Graph(17, 8);
    String x = g.input("x", FLOAT, "batch", "seq", WIDTH);
    g.output(g.op("MatMul", "mm", List.of(x, weight(g, "w1", WIDTH, 6, 3, false))), "y", FLOAT, "batch", "seq", 6);
    ModelProto padded = g.build("padded");
    model = tmp.resolve("padded.onnx");
    OnnxModels.save(padded, model);
    float[] maxX = new float[WIDTH];
    for (int f = 0; f < 2; f++) {
      int len = 3 + 2 * f;
      float[] v = outliers(6 * len, 3, 30 + f);
      Files.createDirectories(tmp.resolve("pad"));
      Npy.writeFloat32(tmp.resolve("pad/" + f + ".npy"), v, new long[] {6, len, WIDTH});
      for (int k = 0; k < v.length; k++) {
        maxX[k % WIDTH] = Math.max(maxX[k % WIDTH], Math.abs(v[k]));
      }
    }
    float[] expected = formula(maxX, maxAbsRows(padded, "w1"), 0.5);
    for (String stats : List.of("exclude", "include")) {
      Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", tmp.resolve("pad").toString(), "--out",
          tmp.resolve(stats).toString(), "--pad", "x=1000", "--pad-stats", stats, "--partitions", "1",
          "--batch-size", "12", "--smooth-quant");
      assertEquals(0, r.code(), r.err());
      float[] scales = floats(group(smoothQuant(stats), "x").path("scales"));
      if (stats.equals("exclude")) {
        assertClose(expected, scales, "x");
      } else {
        assertTrue(scales[0] > 2 * expected[0], scales[0] + " vs " + expected[0]);
      }
    }
  }

  @Test
  void aConfigOrChannelAxisNamingASmoothedActivationIsRefusedInOneLine(SparkSession spark) throws Exception {
    Path config = tmp.resolve("config.json");
    Files.writeString(config, "{\"tensors\": {\"ln_0\": {\"range\": [-3, 3]}}}");
    calibrate("c", "--smooth-quant", "--config", config.toString())
        .assertBadInput(tmp.resolve("c"), "--config names tensor 'ln_0'", "q_1", "--smooth-quant");
    calibrate("a", "--smooth-quant", "--channel-axis", "x=2", "--histogram-bins", "0")
        .assertBadInput(tmp.resolve("a"), "--channel-axis names tensor 'x'", "m1_2", "m2_3");
    // the same settings without --smooth-quant are fine
    assertEquals(0, calibrate("c0", "--config", config.toString()).code());
    assertFalse(Files.exists(tmp.resolve("c").resolve("run.json")));
  }

  @Test
  void quantizeRefusesStatisticsOfASmoothedModelAndTakesThoseOfAPlainRun(SparkSession spark) throws Exception {
    assertEquals(0, calibrate("s", "--smooth-quant").code());
    Cli q = Cli.run("quantize", "--model", model.toString(), "--stats", tmp.resolve("s").toString(), "--out",
        tmp.resolve("qs").toString());
    q.assertBadInput(tmp.resolve("qs"), "statistics were collected on the model as smooth_quant rewrote it",
        "run calibrate");
    assertEquals(0, calibrate("p").code());
    Cli plain = Cli.run("quantize", "--model", model.toString(), "--stats", tmp.resolve("p").toString(), "--out",
        tmp.resolve("qp").toString());
    assertEquals(0, plain.code(), plain.err());
  }
}
