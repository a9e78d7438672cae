package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.model.FragileModel;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-tensor sensitivity and the FP32 fallback on {@link FragileModel}, whose activation {@code a} is
 * known to be destroyed by uint8 quantization; and the fallback options' bad input.
 */
@ExtendWith(SharedSpark.class)
class FallbackCommandTest {
  @TempDir static Path shared;
  static Path model;
  static Path data;
  static Path calibrated;
  @TempDir Path tmp;

  @BeforeAll
  static void calibrate(SparkSession spark) throws Exception {
    model = FragileModel.write(shared);
    data = shared.resolve("data");
    FragileModel.writeData(data, 96, 3);
    calibrated = shared.resolve("calibrated");
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data.resolve("x").toString(),
        "--out", calibrated.toString());
    assertEquals(0, r.code(), r.err());
  }

  private static JsonNode json(Path file) throws Exception {
    return new ObjectMapper().readTree(file.toFile());
  }

  private static List<String> texts(JsonNode array) {
    List<String> l = new ArrayList<>();
    array.forEach(n -> l.add(n.asText()));
    return l;
  }

  @Test
  void evaluateRanksTheFragileActivationFirst() throws Exception {
    Path out = tmp.resolve("eval");
    Cli r = Cli.run("evaluate", "--fp32", model.toString(), "--quantized", calibrated.resolve("quantized.onnx").toString(),
        "--data", data.resolve("x").toString(), "--labels", data.resolve("labels.npy").toString(),
        "--out", out.toString(), "--batch-size", "10", "--sensitivity-samples", "32");
    assertEquals(0, r.code(), r.err());
    JsonNode eval = json(out.resolve("eval.json"));
    JsonNode logits = eval.get("outputs").get("logits");
    assertTrue(logits.get("top1_agreement").asDouble() < 0.6, "quantizing 'a' destroys the classes: " + logits);

    JsonNode s = eval.get("sensitivity");
    assertEquals(32, s.get("samples").asInt());
    assertEquals("output_sqnr_db", s.get("metric").asText());
    JsonNode tensors = s.get("tensors");
    System.out.println("fragile sensitivity: " + tensors);
    // x, x0, a and the three weights: logits, a MatMul's graph output, stays float (QdqRewriter.Outputs.AUTO)
    assertEquals(6, tensors.size(), tensors.toString());
    JsonNode first = tensors.get(0);
    assertEquals(1, first.get("rank").asInt());
    assertEquals(FragileModel.FRAGILE, first.get("tensor").asText());
    assertEquals("activation", first.get("kind").asText());
    assertEquals(List.of("mm2"), texts(first.get("nodes")));
    assertTrue(first.get("output_sqnr_db").asDouble() < 3, first.toString());
    assertTrue(first.get("top1_agreement").asDouble() < 0.6, first.toString());
    double previous = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < tensors.size(); i++) {
      JsonNode t = tensors.get(i);
      assertEquals(i + 1, t.get("rank").asInt());
      double sqnr = t.get("output_sqnr_db").isNull() ? Double.POSITIVE_INFINITY : t.get("output_sqnr_db").asDouble();
      assertTrue(sqnr >= previous, "ranked by SQNR, lowest first: " + tensors);
      previous = sqnr;
      if (t.get("tensor").asText().equals("W2")) {
        // W2 alone leaves mm2's input 'a' float: ONNX Runtime (1.28) fuses DequantizeLinear(W2) + MatMul into
        // MatMulNBits, whose default accuracy level 4 quantizes 'a' to int8 on the fly, as fragile as 'a' itself
        assertTrue(sqnr < 20, "W2 alone makes ONNX Runtime quantize 'a': " + t);
      } else if (i > 0) {
        assertTrue(sqnr > 20, "every other tensor quantizes harmlessly: " + t);
      }
    }
    for (String m : List.of("fp32", "quantized")) {
      JsonNode info = eval.get(m);
      assertTrue(info.get("bytes").asLong() > 0, info.toString());
      assertTrue(info.get("samples_per_second").asDouble() > 0, info.toString());
      assertTrue(info.get("inference_seconds").asDouble() > 0, info.toString());
    }
    assertEquals(Files.size(model), eval.get("fp32").get("bytes").asLong());
    assertEquals(Files.size(calibrated.resolve("quantized.onnx")), eval.get("quantized").get("bytes").asLong());
  }

  /**
   * Runs {@code args} with qcal's log at INFO as conf/log4j2.properties sets it for scripts/qcal (captured
   * here, not on the console), and returns the run with the log lines appended to its stderr.
   */
  private static Cli withQcalLogAtInfo(String... args) {
    var ctx = (org.apache.logging.log4j.core.LoggerContext) org.apache.logging.log4j.LogManager.getContext(false);
    var config = ctx.getConfiguration();
    java.io.StringWriter log = new java.io.StringWriter();
    var appender = org.apache.logging.log4j.core.appender.WriterAppender.newBuilder().setName("qcal-capture")
        .setTarget(log).setLayout(org.apache.logging.log4j.core.layout.PatternLayout.newBuilder()
            .withPattern("%m%n").build()).build();
    appender.start();
    var logger = config.getLoggerConfig("dev.qcal"); // the test configuration's, at warn
    var level = logger.getLevel();
    boolean additive = logger.isAdditive();
    logger.setLevel(org.apache.logging.log4j.Level.INFO);
    logger.setAdditive(false);
    logger.addAppender(appender, null, null);
    ctx.updateLoggers();
    try {
      Cli r = Cli.run(args);
      return new Cli(r.code(), r.out(), r.err() + log);
    } finally {
      logger.removeAppender(appender.getName());
      logger.setLevel(level);
      logger.setAdditive(additive);
      ctx.updateLoggers();
      appender.stop();
    }
  }

  @Test
  void calibrateFallbackLeavesTheFragileNodesInFp32AndMeetsTheTarget() throws Exception {
    Path out = tmp.resolve("fallback");
    Cli r = withQcalLogAtInfo("calibrate", "--model", model.toString(), "--data", data.resolve("x").toString(),
        "--out", out.toString(), "--target-agreement", "0.95", "--sensitivity-samples", "32");
    assertEquals(0, r.code(), r.err());
    // each of the two steps is told once, the command's line (it was also logged at INFO by the job)
    for (int step = 0; step < 2; step++) {
      String prefix = "fallback step " + step;
      assertEquals(1, r.err().lines().filter(l -> l.contains(prefix + ":") || l.contains(prefix + " ")).count(),
          r.err());
    }
    assertTrue(r.err().contains("qcal: fallback step 1: FP32 [mm1, mm2] (tensor a): top-1 agreement "), r.err());
    assertTrue(r.err().contains("warning: the fallback target is evaluated on the calibration data"), r.err());
    assertTrue(r.err().contains("qcal: fallback target met with 2 nodes in FP32: mm1, mm2"), r.err());
    JsonNode fb = json(out.resolve("run.json")).get("fallback");
    System.out.println("fragile fallback: " + fb.get("steps"));
    assertEquals(0.95, fb.get("target").get("top1_agreement").asDouble());
    assertEquals(96, fb.get("eval_samples").asLong());
    JsonNode steps = fb.get("steps");
    assertEquals(2, steps.size(), steps.toString());
    assertEquals(List.of(), texts(steps.get(0).get("excluded_nodes")));
    assertFalse(steps.get(0).get("met").asBoolean());
    assertTrue(steps.get(0).get("top1_agreement").asDouble() < 0.6, steps.toString());
    assertEquals(FragileModel.FRAGILE, steps.get(1).get("tensor").asText());
    assertEquals(List.of("mm1", "mm2"), texts(steps.get(1).get("excluded_nodes")));
    assertTrue(steps.get(1).get("met").asBoolean());
    assertTrue(steps.get(1).get("top1_agreement").asDouble() >= 0.95, steps.toString());
    assertTrue(steps.get(1).get("output_sqnr_db").asDouble() > steps.get(0).get("output_sqnr_db").asDouble() + 20,
        steps.toString());
    assertEquals("met", fb.get("status").asText());
    assertTrue(fb.get("reason").isNull());
    assertEquals(List.of("mm1", "mm2"), texts(fb.get("excluded_nodes")));
    assertEquals(FragileModel.FRAGILE, fb.get("sensitivity").get("tensors").get(0).get("tensor").asText());

    // the written model is the final one: 'a' has no Q/DQ, mm0 is still quantized
    ModelProto q = OnnxModels.load(out.resolve("quantized.onnx"));
    List<String> quantizedInputs = q.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("QuantizeLinear")).map(n -> n.getInput(0)).toList();
    assertEquals(List.of("x", "x0"), quantizedInputs.stream().sorted().toList());
    JsonNode qparams = json(out.resolve("qparams.json"));
    assertFalse(qparams.get("activations").has(FragileModel.FRAGILE), qparams.get("activations").toString());
    assertTrue(qparams.get("weights").has("W0"));
    assertFalse(qparams.get("weights").has("W1"));
  }

  @Test
  void quantizeFallbackReachesAnAccuracyTargetFromSavedStatistics() throws Exception {
    Path out = tmp.resolve("requantized");
    Cli r = Cli.run("quantize", "--model", model.toString(), "--stats", calibrated.toString(), "--out", out.toString(),
        "--max-accuracy-drop", "5", "--eval-data", data.resolve("x").toString(),
        "--eval-labels", data.resolve("labels.npy").toString(), "--sensitivity-samples", "16");
    assertEquals(0, r.code(), r.err());
    JsonNode fb = json(out.resolve("run.json")).get("fallback");
    JsonNode steps = fb.get("steps");
    assertTrue(steps.get(0).get("accuracy_drop_points").asDouble() > 5, steps.toString());
    JsonNode last = steps.get(steps.size() - 1);
    assertEquals("met", fb.get("status").asText(), fb.toString());
    assertTrue(last.get("accuracy_drop_points").asDouble() <= 5, steps.toString());
    assertEquals(List.of("mm1", "mm2"), texts(fb.get("excluded_nodes")));
  }

  @Test
  void evaluateOfAQuantizedModelOfOtherNodesCannotRankAndSaysSo() throws Exception {
    ModelProto q = OnnxModels.load(calibrated.resolve("quantized.onnx"));
    ai.onnx.proto.OnnxMl.GraphProto.Builder g = q.getGraph().toBuilder();
    for (int i = 0; i < g.getNodeCount(); i++) {
      if (g.getNode(i).getName().equals("mm2")) {
        g.setNode(i, g.getNode(i).toBuilder().setName("renamed"));
      }
    }
    Path renamed = tmp.resolve("renamed.onnx");
    Files.write(renamed, q.toBuilder().setGraph(g).build().toByteArray());
    Path out = tmp.resolve("eval-renamed");
    Cli r = Cli.run("evaluate", "--fp32", model.toString(), "--quantized", renamed.toString(),
        "--data", data.resolve("x").toString(), "--out", out.toString(), "--sensitivity-samples", "4");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.errorLine().contains("cannot rank its tensors against") && r.errorLine().contains("'renamed'")
        && r.errorLine().contains("--sensitivity-samples 0"), r.errorLine());
    assertFalse(Files.exists(out));
  }

  @Test
  void badTargetsExitTwoWritingNothing() {
    Path out = tmp.resolve("bad");
    String[][] cases = {
      {"--target-agreement", "1.5"},
      {"--target-agreement", "-0.1"},
      {"--max-accuracy-drop", "0.5"},
      {"--max-accuracy-drop", "-1", "--eval-labels", "labels.npy"},
      {"--min-sqnr", "NaN"},
      {"--target-agreement", "0.9", "--sensitivity-samples", "0"},
      {"--eval-data", "somewhere"},
    };
    String[] expected = {
      "--target-agreement must be in [0, 1], got 1.5",
      "--target-agreement must be in [0, 1], got -0.1",
      "--max-accuracy-drop needs labels: give --eval-labels FILE.npy",
      "--max-accuracy-drop must be in [0, 100] percentage points, got -1.0",
      "--min-sqnr must be a finite number of dB, got NaN",
      "--sensitivity-samples must be >= 1 with a fallback target, got 0",
      "--eval-data and --eval-labels apply with a fallback target",
    };
    for (int i = 0; i < cases.length; i++) {
      List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data",
          data.resolve("x").toString(), "--out", out.toString()));
      args.addAll(List.of(cases[i]));
      Cli r = Cli.run(args.toArray(String[]::new));
      assertEquals(2, r.code(), String.join(" ", cases[i]) + ": " + r.err());
      assertTrue(r.errorLine().contains(expected[i]), r.errorLine());
      assertFalse(Files.exists(out));
    }
    Cli noData = Cli.run("quantize", "--model", model.toString(), "--stats", calibrated.toString(), "--out",
        out.toString(), "--target-agreement", "0.9");
    assertEquals(2, noData.code(), noData.err());
    assertTrue(noData.errorLine().contains("a fallback target needs --eval-data PATH"), noData.errorLine());
    assertFalse(Files.exists(out));
  }
}
