package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code qcal evaluate}: FP32 vs quantized outputs and accuracy on the example, and bad input. */
@ExtendWith(SharedSpark.class)
class EvaluateCommandTest {
  @TempDir static Path shared;
  static Path quantized;
  static final String MODEL = ExampleData.MODEL.toString();
  @TempDir Path tmp;

  @BeforeAll
  static void calibrate(SparkSession spark) {
    Path calibrated = shared.resolve("calibrated");
    Cli r = Cli.run("calibrate", "--model", MODEL, "--data", ExampleData.small().resolve("x").toString(),
        "--out", calibrated.toString());
    assertEquals(0, r.code(), r.err());
    quantized = calibrated.resolve("quantized.onnx");
  }

  private static Cli evaluate(String q, Path out, String labels) {
    return labels == null
        ? Cli.run("evaluate", "--fp32", MODEL, "--quantized", q, "--data", ExampleData.small().resolve("x").toString(),
            "--out", out.toString(), "--batch-size", "7")
        : Cli.run("evaluate", "--fp32", MODEL, "--quantized", q, "--data", ExampleData.small().resolve("x").toString(),
            "--labels", labels, "--out", out.toString(), "--batch-size", "7");
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
    assertTrue(o.get("top1_agreement").asDouble() >= 0.95, o.toString());
    assertTrue(o.get("sqnr_db").asDouble() > 10, o.toString());
    assertTrue(o.get("cosine_similarity").asDouble() > 0.9, o.toString());
    assertTrue(o.get("max_abs_error").asDouble() >= o.get("mean_abs_error").asDouble());
    JsonNode acc = o.get("accuracy");
    assertEquals(40, acc.get("labelled").asLong());
    for (String m : new String[] {"fp32", "quantized"}) {
      double a = acc.get(m).asDouble();
      assertTrue(acc.get(m).isNumber() && a >= 0 && a <= 1, acc.toString());
    }
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
