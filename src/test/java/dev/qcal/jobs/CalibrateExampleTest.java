package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.cli.Main;
import dev.qcal.examples.TextLines;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The walking skeleton end to end: calibrate the real example model on 256 rendered lines in
 * local[2] through the CLI, then check the quantized model on 256 other lines with ONNX Runtime.
 */
@ExtendWith(SharedSpark.class)
class CalibrateExampleTest {
  private static final int EVAL = dev.qcal.testing.ExampleEval.LINES;
  @TempDir static Path tmp;
  static Path out;
  static String stdout;

  @BeforeAll
  static void calibrate(SparkSession spark) {
    out = tmp.resolve("out");
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    int code = Main.execute(new String[] {"calibrate", "--model", ExampleData.MODEL.toString(),
        "--data", ExampleData.calibration().resolve("x").toString(), "--out", out.toString()},
        new PrintWriter(o, true), new PrintWriter(e, true));
    stdout = o.toString();
    assertEquals(0, code, "stderr: " + e);
  }

  @Test
  void writesAllOutputsWithSuccessMarker() throws Exception {
    for (String f : new String[] {"qparams.json", "quantized.onnx", "run.json", "_SUCCESS"}) {
      assertTrue(Files.isRegularFile(out.resolve(f)), f);
    }
    assertTrue(stdout.contains(out.toAbsolutePath().toString()), stdout);
    JsonNode run = new ObjectMapper().readTree(out.resolve("run.json").toFile());
    assertEquals(256, run.get("samples").asLong());
    assertEquals("local[2]", run.get("spark_master").asText());
    assertTrue(run.get("spark_application_id").asText().startsWith("local-"));
    assertTrue(run.get("stage_seconds").has("observe_and_reduce"));
    assertTrue(run.get("observe_samples_per_second").asDouble() > 0);
  }

  @Test
  void qparamsDescribeEveryCalibratedTensorAndWeight() throws Exception {
    JsonNode q = new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
    assertEquals("qcal.qparams", q.get("format").asText());
    assertEquals(1, q.get("format_version").asInt());
    assertEquals(64, q.get("model").get("sha256").asText().length());
    assertEquals(9, q.get("model").get("source_opset").asInt());
    assertEquals("minmax", q.get("method").asText());
    assertTrue(q.get("versions").has("onnxruntime") && q.get("versions").has("spark"));
    JsonNode x = q.get("activations").get("x");
    assertEquals("uint8", x.get("dtype").asText());
    assertTrue(x.get("axis").isNull());
    // 256 samples of 3x48x192, their extremes found here over the lines rendered again
    float[][] range = inputRange(256);
    assertEquals(range[0][3], x.get("min").floatValue());
    assertEquals(range[1][3], x.get("max").floatValue());
    assertEquals(256L * 3 * 48 * 192, x.get("count").asLong());
    // 53 Conv + 1 Gemm: their distinct inputs and outputs, Conv outputs read only by a Relu taken after it
    assertEquals(90, q.get("activations").size());
    int perChannelWeights = 0;
    for (JsonNode w : q.get("weights")) {
      if ("weight".equals(w.get("role").asText())) {
        assertEquals("int8", w.get("dtype").asText());
        assertTrue(w.get("scale").size() == w.get("zero_point").size());
        if (!w.get("axis").isNull() && w.get("scale").size() > 1) {
          perChannelWeights++;
        }
      }
    }
    assertEquals(multiChannelWeights(), perChannelWeights);
  }

  /**
   * Per channel c of the input x (and at index 3 over all of it), the smallest ([0]) and largest ([1]) value of the
   * first {@code n} calibration lines, rendered again from their seed.
   */
  private static float[][] inputRange(int n) {
    float[][] r = new float[2][4];
    java.util.Arrays.fill(r[0], Float.POSITIVE_INFINITY);
    java.util.Arrays.fill(r[1], Float.NEGATIVE_INFINITY);
    int plane = TextLines.HEIGHT * TextLines.WIDTH;
    for (int i = 0; i < n; i++) {
      float[] chw = TextLines.render(ExampleData.CALIB_SEED, i).chw();
      for (int k = 0; k < chw.length; k++) {
        for (int c : new int[] {k / plane, 3}) {
          r[0][c] = Math.min(r[0][c], chw[k]);
          r[1][c] = Math.max(r[1][c], chw[k]);
        }
      }
    }
    return r;
  }

  /**
   * The Conv and MatMul weights of the FP32 example (initializers or Constant nodes) with more than one output
   * channel (a Conv's dimension 0, a MatMul's 1): the weights that get a scale per channel.
   */
  private static int multiChannelWeights() throws java.io.IOException {
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(ExampleData.MODEL));
    Map<String, TensorProto> values = new HashMap<>();
    m.getGraph().getInitializerList().forEach(t -> values.put(t.getName(), t));
    m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Constant"))
        .forEach(n -> values.put(n.getOutput(0), n.getAttribute(0).getT()));
    int count = 0;
    for (NodeProto n : m.getGraph().getNodeList()) {
      TensorProto w = n.getInputCount() > 1 ? values.get(n.getInput(1)) : null;
      if (w != null && (n.getOpType().equals("Conv") && w.getDims(0) > 1
          || n.getOpType().equals("MatMul") && w.getDims(1) > 1)) {
        count++;
      }
    }
    return count;
  }

  @Test
  void persistedStatisticsMatchTheParameters() throws Exception {
    JsonNode q = new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
    JsonNode manifest = new ObjectMapper().readTree(out.resolve("stats/stats.json").toFile());
    assertEquals("qcal.stats", manifest.get("format").asText());
    assertEquals(q.get("model").get("sha256").asText(), manifest.get("model_sha256").asText());
    dev.qcal.stats.StatsSet stats;
    try (var in = Files.newInputStream(out.resolve("stats/stats.bin"))) {
      stats = dev.qcal.stats.StatsCodec.read(in);
    }
    assertEquals(256, stats.samples());
    assertEquals(q.get("activations").size(), stats.tensors().size());
    for (dev.qcal.stats.TensorStats t : stats.tensors().values()) {
      JsonNode a = q.get("activations").get(t.tensor());
      assertEquals(a.get("min").floatValue(), t.min(), t.tensor());
      assertEquals(a.get("max").floatValue(), t.max(), t.tensor());
      assertEquals(a.get("count").asLong(), t.count(), t.tensor());
      assertEquals(t.count(), t.histogram().total(), t.tensor());
      assertTrue(t.histogram().bins() >= 2049 || t.min() == t.max(), t.tensor() + " bins " + t.histogram().bins());
    }
    dev.qcal.stats.TensorStats x = stats.get("x");
    assertEquals(1, x.axis());
    assertEquals(3, x.channels());
    long perChannel = 0;
    float[][] range = inputRange(256);
    for (int c = 0; c < 3; c++) {
      assertEquals(256L * TextLines.HEIGHT * TextLines.WIDTH, x.channelCount(c), "channel " + c);
      perChannel += x.channelCount(c);
      assertEquals(range[0][c], x.channelMin(c), "channel " + c);
      assertEquals(range[1][c], x.channelMax(c), "channel " + c);
    }
    assertEquals(x.count(), perChannel);
  }

  @Test
  void quantizedModelHasInt8PerChannelWeightsAndFusesConvs() throws Exception {
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(out.resolve("quantized.onnx")));
    Map<String, TensorProto> inits = new HashMap<>();
    for (TensorProto t : m.getGraph().getInitializerList()) {
      inits.put(t.getName(), t);
    }
    int convs = 0;
    int int8PerChannel = 0;
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getOpType().equals("Conv")) {
        convs++;
      }
      if (n.getOpType().equals("DequantizeLinear") && inits.containsKey(n.getInput(0))
          && inits.get(n.getInput(0)).getDataType() == TensorProto.DataType.INT8_VALUE
          && n.getAttributeList().stream().anyMatch(a -> a.getName().equals("axis"))
          && inits.get(n.getInput(1)).getDimsCount() == 1 && inits.get(n.getInput(1)).getDims(0) > 1) {
        int8PerChannel++;
      }
    }
    assertEquals(53, convs);
    assertEquals(multiChannelWeights(), int8PerChannel, "int8 per-channel weight DQs");

    Path optimized = tmp.resolve("quantized-optimized.onnx");
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      opts.setOptimizedModelFilePath(optimized.toString());
      OrtEnvironment.getEnvironment().createSession(out.resolve("quantized.onnx").toString(), opts).close();
    }
    ModelProto opt = ModelProto.parseFrom(Files.readAllBytes(optimized));
    long fused = opt.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("QLinearConv")).count();
    System.out.println("QLinearConv after ORT full optimization: " + fused + " of 53 Convs");
    assertTrue(fused >= 27, "fused " + fused + " of 53 Convs into QLinearConv");
  }

  @Test
  void quantizedModelAgreesWithFp32OnOtherLines() throws Exception {
    double[] r = evaluate(out.resolve("quantized.onnx"));
    System.out.printf("eval %d lines: FP32 accuracy %.4f, quantized accuracy %.4f, top-1 agreement %.4f%n",
        EVAL, r[1], r[2], r[0]);
    assertTrue(r[0] >= 0.97, "agreement " + r[0]);
    assertTrue(r[1] - r[2] <= 0.02, "accuracy FP32 " + r[1] + " vs quantized " + r[2]);
  }

  @Test
  void everyRangeMethodFromTheSavedStatisticsGivesAModelThatAgrees() throws Exception {
    StringBuilder table = new StringBuilder("method      agreement  accuracy (FP32 ");
    for (String method : new String[] {"minmax", "percentile", "entropy", "mse"}) {
      Path q = tmp.resolve("quantize-" + method);
      dev.qcal.testing.Cli r = dev.qcal.testing.Cli.run("quantize", "--model", ExampleData.MODEL.toString(),
          "--stats", out.toString(), "--method", method, "--out", q.toString());
      assertEquals(0, r.code(), r.err());
      double[] e = evaluate(q.resolve("quantized.onnx"));
      if (method.equals("minmax")) {
        table.append(String.format("%.4f)%n", e[1]));
      }
      table.append(String.format("%-11s %.4f     %.4f%n", method, e[0], e[2]));
      assertTrue(e[0] >= 0.95, method + " agreement " + e[0]);
      assertTrue(e[1] - e[2] <= 0.03, method + " accuracy FP32 " + e[1] + " vs " + e[2]);
    }
    System.out.print(table);
  }

  @Test
  void everyRuleAndDepthwiseExclusionAgreeAndAreTimed() throws Exception {
    Path wide = tmp.resolve("wide");
    String all = String.join(",", dev.qcal.model.plan.PlanOptions.knownOpTypes());
    StringWriter e = new StringWriter();
    int code = Main.execute(new String[] {"calibrate", "--model", ExampleData.MODEL.toString(),
        "--data", ExampleData.calibration().resolve("x").toString(), "--out", wide.toString(), "--op-types", all},
        new PrintWriter(new StringWriter(), true), new PrintWriter(e, true));
    assertEquals(0, code, "stderr: " + e);
    Path noDw = tmp.resolve("no-depthwise");
    dev.qcal.testing.Cli r = dev.qcal.testing.Cli.run("quantize", "--model", ExampleData.MODEL.toString(),
        "--stats", out.toString(), "--exclude-depthwise", "--out", noDw.toString());
    assertEquals(0, r.code(), r.err());
    StringBuilder table = new StringBuilder(String.format("%-22s %-9s %-8s %-9s %s%n",
        "model", "agreement", "accuracy", "ms/batch32", "bytes"));
    table.append(String.format("%-22s %-9s %-8s %-9.1f %d%n", "FP32", "-", "-", msPerBatch(ExampleData.MODEL),
        Files.size(ExampleData.MODEL)));
    Map<String, Path> models = new java.util.LinkedHashMap<>();
    models.put("int8 Conv,Gemm,MatMul", out.resolve("quantized.onnx"));
    models.put("int8 no depthwise", noDw.resolve("quantized.onnx"));
    models.put("int8 every rule", wide.resolve("quantized.onnx"));
    for (Map.Entry<String, Path> m : models.entrySet()) {
      double[] ev = evaluate(m.getValue());
      table.append(String.format("%-22s %.4f    %.4f   %-9.1f %d%n", m.getKey(), ev[0], ev[2], msPerBatch(m.getValue()),
          Files.size(m.getValue())));
      assertTrue(ev[0] >= 0.95, m.getKey() + " agreement " + ev[0]);
    }
    System.out.print(table);
  }

  /** Median wall time of one batch of 32 lines at ORT's full optimization level (5 warm-up runs, 15 timed). */
  private static double msPerBatch(Path model) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    int batch = 32;
    int per = 3 * 48 * 192;
    float[] data = new float[batch * per];
    for (int i = 0; i < batch; i++) {
      System.arraycopy(TextLines.render(ExampleData.EVAL_SEED, i).chw(), 0, data, i * per, per);
    }
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession s = env.createSession(model.toString(), opts)) {
        double[] t = new double[15];
        for (int k = -5; k < t.length; k++) {
          long t0 = System.nanoTime();
          top1(env, s, data, batch);
          if (k >= 0) {
            t[k] = (System.nanoTime() - t0) / 1e6;
          }
        }
        java.util.Arrays.sort(t);
        return t[t.length / 2];
      }
    }
  }

  static double[] evaluate(Path quantized) throws Exception {
    return dev.qcal.testing.ExampleEval.evaluate(quantized);
  }

  private static int[] top1(OrtEnvironment env, OrtSession s, float[] data, int batch) throws Exception {
    return dev.qcal.testing.ExampleEval.top1(env, s, data, batch);
  }
}
