package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.examples.TextLines;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code qcal evaluate}: FP32 vs quantized outputs and accuracy on the example, and bad input. */
@ExtendWith(SharedSpark.class)
class EvaluateCommandTest {
  static Path quantized;
  static final String MODEL = ExampleData.MODEL.toString();
  @TempDir Path tmp;

  @BeforeAll
  static void calibrate(SparkSession spark) {
    quantized = ExampleData.calibratedSmall().resolve("quantized.onnx");
  }

  private static Cli evaluate(String q, Path out, String labels) {
    return labels == null
        ? Cli.run("evaluate", "--fp32", MODEL, "--quantized", q, "--data", ExampleData.small().resolve("x").toString(),
            "--out", out.toString(), "--batch-size", "7", "--sensitivity-samples", "0")
        : Cli.run("evaluate", "--fp32", MODEL, "--quantized", q, "--data", ExampleData.small().resolve("x").toString(),
            "--labels", labels, "--out", out.toString(), "--batch-size", "7", "--sensitivity-samples", "6");
  }

  private static JsonNode onlyOutput(Path out) throws Exception {
    JsonNode eval = new ObjectMapper().readTree(out.resolve("eval.json").toFile());
    assertEquals("qcal.eval", eval.get("format").asText());
    assertEquals(40, eval.get("samples").asLong());
    assertEquals(1, eval.get("outputs").size(), eval.toString());
    return eval.get("outputs").elements().next();
  }

  @Test
  void quantizedAgreesWithFp32AndReportsAccuracy() throws Exception {
    Path out = tmp.resolve("eval");
    Cli r = evaluate(quantized.toString(), out, ExampleData.small().resolve("labels.npy").toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(Files.exists(out.resolve("_SUCCESS")));
    JsonNode o = onlyOutput(out);
    System.out.println("evaluate example: " + o);
    assertEquals(40, o.get("rows").asLong());
    assertEquals(80, o.get("elements").asLong());
    Direct d = direct(quantized);
    System.out.println("evaluate example, recomputed: " + d);
    assertEquals(d.agree() / 40.0, o.get("top1_agreement").asDouble());
    assertEquals(10 * Math.log10(d.refSquares() / d.errorSquares()), o.get("sqnr_db").asDouble(), 1e-6);
    assertEquals(d.products() / Math.sqrt(d.refSquares() * d.quantSquares()), o.get("cosine_similarity").asDouble(),
        1e-12);
    assertEquals(d.maxAbs(), o.get("max_abs_error").asDouble());
    assertEquals(d.absErrors() / 80, o.get("mean_abs_error").asDouble(), 1e-12);
    JsonNode acc = o.get("accuracy");
    assertEquals(40, acc.get("labelled").asLong());
    assertEquals(d.fp32Correct() / 40.0, acc.get("fp32").asDouble());
    assertEquals(d.quantCorrect() / 40.0, acc.get("quantized").asDouble());
    JsonNode eval = new ObjectMapper().readTree(out.resolve("eval.json").toFile());
    System.out.println("evaluate example models: fp32 " + eval.get("fp32") + ", quantized " + eval.get("quantized"));
    assertEquals(Files.size(ExampleData.MODEL), eval.get("fp32").get("bytes").asLong());
    assertEquals(Files.size(quantized), eval.get("quantized").get("bytes").asLong());
    assertTrue(eval.get("quantized").get("bytes").asLong() < eval.get("fp32").get("bytes").asLong() / 2);
    for (String m : new String[] {"fp32", "quantized"}) {
      assertTrue(eval.get(m).get("samples_per_second").asDouble() > 0, eval.get(m).toString());
    }
    // every quantized tensor of the example, ranked; every Conv weight is among them
    JsonNode s = eval.get("sensitivity");
    assertEquals(6, s.get("samples").asInt());
    JsonNode tensors = s.get("tensors");
    System.out.println("example sensitivity, top 3: " + tensors.get(0) + " " + tensors.get(1) + " " + tensors.get(2));
    long weights = 0;
    for (int i = 0; i < tensors.size(); i++) {
      JsonNode t = tensors.get(i);
      assertEquals(i + 1, t.get("rank").asInt());
      assertTrue(t.get("kind").asText().equals("weight") || t.get("kind").asText().equals("activation"), t.toString());
      weights += t.get("kind").asText().equals("weight") ? 1 : 0;
      if (i > 0 && !t.get("output_sqnr_db").isNull()) {
        assertTrue(t.get("output_sqnr_db").asDouble() >= tensors.get(i - 1).get("output_sqnr_db").asDouble(),
            "lowest SQNR first");
      }
    }
    JsonNode run = new ObjectMapper().readTree(quantized.resolveSibling("run.json").toFile());
    assertEquals(run.get("quantized_weights").asLong(), weights + countBiases(quantized),
        "one entry per quantized weight (biases are not ranked)");
  }

  /** A 16-bit model is at opset 21: the ranking prepares the FP32 model to the same opset to transplant its Q/DQ. */
  @Test
  void sensitivityOfAnOpset21ModelIsRanked() throws Exception {
    Path q16 = tmp.resolve("q16");
    Cli q = Cli.run("quantize", "--model", MODEL, "--stats", quantized.getParent().toString(), "--out", q16.toString(),
        "--activation-type", "uint16");
    assertEquals(0, q.code(), q.err());
    Path model16 = q16.resolve("quantized.onnx");
    assertEquals(21, dev.qcal.model.onnx.OnnxModels.opset(dev.qcal.model.onnx.OnnxModels.load(model16)));
    Path out = tmp.resolve("eval16");
    Cli r = evaluate(model16.toString(), out, ExampleData.small().resolve("labels.npy").toString());
    assertEquals(0, r.code(), r.err());
    JsonNode tensors = new ObjectMapper().readTree(out.resolve("eval.json").toFile()).get("sensitivity").get("tensors");
    assertTrue(tensors.size() > 90, tensors.size() + " ranked");
    assertTrue(onlyOutput(out).get("top1_agreement").asDouble() >= 0.95);
  }

  /** eval.json's sums and counts over the 40 lines, recomputed here one line at a time in ONNX Runtime. */
  private record Direct(double refSquares, double quantSquares, double products, double errorSquares,
      double absErrors, double maxAbs, int agree, int fp32Correct, int quantCorrect) {}

  /**
   * Each line of {@link ExampleData#small()}, rendered again from its seed, through the FP32 model and {@code q}
   * alone (all optimizations, as evaluate runs them); labels from the renderer, not from labels.npy.
   */
  private static Direct direct(Path q) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    double rr = 0;
    double qq = 0;
    double rq = 0;
    double dd = 0;
    double ad = 0;
    double max = 0;
    int agree = 0;
    int[] correct = new int[2];
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession fp32 = env.createSession(MODEL, opts); OrtSession quant = env.createSession(q.toString(), opts)) {
        for (int i = 0; i < 40; i++) {
          TextLines.Sample s = TextLines.render(ExampleData.SMALL_SEED, i);
          float[] r = logits(env, fp32, s.chw());
          float[] v = logits(env, quant, s.chw());
          for (int k = 0; k < r.length; k++) {
            double e = (double) v[k] - r[k];
            rr += (double) r[k] * r[k];
            qq += (double) v[k] * v[k];
            rq += (double) r[k] * v[k];
            dd += e * e;
            ad += Math.abs(e);
            max = Math.max(max, Math.abs(e));
          }
          int rTop = r[1] > r[0] ? 1 : 0;
          int qTop = v[1] > v[0] ? 1 : 0;
          agree += rTop == qTop ? 1 : 0;
          correct[0] += rTop == s.label() ? 1 : 0;
          correct[1] += qTop == s.label() ? 1 : 0;
        }
      }
    }
    return new Direct(rr, qq, rq, dd, ad, max, agree, correct[0], correct[1]);
  }

  private static float[] logits(OrtEnvironment env, OrtSession s, float[] chw) throws Exception {
    try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(chw), new long[] {1, 3, 48, 192});
        OrtSession.Result r = s.run(Map.of("x", t))) {
      return ((float[][]) r.get(0).getValue())[0];
    }
  }

  private static long countBiases(Path q) {
    ai.onnx.proto.OnnxMl.ModelProto m = dev.qcal.model.onnx.OnnxModels.load(q);
    return m.getGraph().getInitializerList().stream()
        .filter(t -> t.getDataType() == ai.onnx.proto.OnnxMl.TensorProto.DataType.INT32_VALUE && t.getName().startsWith("q"))
        .count();
  }

  @Test
  void fallbackWithAnAccuracyTargetOnTheExampleReportsItsOutcome() throws Exception {
    Path out = tmp.resolve("fallback");
    Cli r = Cli.run("calibrate", "--model", MODEL, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out.toString(), "--max-accuracy-drop", "0.5",
        "--eval-labels", ExampleData.small().resolve("labels.npy").toString(), "--sensitivity-samples", "6");
    assertEquals(0, r.code(), r.err());
    JsonNode fb = new ObjectMapper().readTree(out.resolve("run.json").toFile()).get("fallback");
    System.out.println("example fallback: " + fb);
    assertEquals(0.5, fb.get("target").get("max_accuracy_drop_points").asDouble());
    assertEquals(40, fb.get("eval_samples").asLong());
    JsonNode steps = fb.get("steps");
    assertTrue(steps.size() >= 1);
    assertEquals(0, steps.get(0).get("excluded_nodes").size());
    java.util.List<String> all = new java.util.ArrayList<>();
    for (int i = 0; i < steps.size(); i++) {
      JsonNode s = steps.get(i);
      assertEquals(i, s.get("step").asInt());
      assertEquals(s.get("accuracy_drop_points").asDouble() <= 0.5, s.get("met").asBoolean(), s.toString());
      assertEquals(i < steps.size() - 1 ? false : s.get("met").asBoolean(), s.get("met").asBoolean(),
          "only the last step may meet the target");
      s.get("excluded_nodes").forEach(n -> all.add(n.asText()));
      if (i > 0) {
        assertTrue(s.get("excluded_nodes").size() >= 1 && !s.get("tensor").isNull(), s.toString());
      }
    }
    java.util.List<String> total = new java.util.ArrayList<>();
    fb.get("excluded_nodes").forEach(n -> total.add(n.asText()));
    assertEquals(all, total);
    boolean met = steps.get(steps.size() - 1).get("met").asBoolean();
    assertEquals(met ? "met" : "not_met", fb.get("status").asText());
    assertEquals(met, fb.get("reason").isNull(), fb.toString());
    assertEquals(met && steps.size() == 1, fb.get("sensitivity").isNull(), "ranked only when the first model misses");
    JsonNode qparams = new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
    assertTrue(qparams.get("activations").size() > 0);
  }

  @Test
  void fp32AgainstItselfAgreesFullyWithInfiniteSqnr() throws Exception {
    Path out = tmp.resolve("self");
    Cli r = evaluate(MODEL, out, null);
    assertEquals(0, r.code(), r.err());
    JsonNode o = onlyOutput(out);
    assertEquals(1.0, o.get("top1_agreement").asDouble());
    assertTrue(o.get("sqnr_db").isNull(), o.toString());
    assertEquals(0.0, o.get("max_abs_error").asDouble());
    assertFalse(o.has("accuracy"));
  }

  @Test
  void badInputExitsTwoWritingNothing() throws Exception {
    Path out = tmp.resolve("bad");
    Cli missing = evaluate(tmp.resolve("nope.onnx").toString(), out, null);
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.errorLine().contains("model not found"), missing.errorLine());
    assertFalse(Files.exists(out));

    Path labels = tmp.resolve("labels39.npy");
    Npy.writeInt64(labels, new long[39], new long[] {39});
    Cli mismatch = evaluate(quantized.toString(), out, labels.toString());
    assertEquals(2, mismatch.code(), mismatch.err());
    assertTrue(mismatch.errorLine().contains("holds 39 labels but"), mismatch.errorLine());
    assertFalse(Files.exists(out));
    try (var s = Files.list(tmp)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".bad")), "no temporary sibling");
    }
  }
}
