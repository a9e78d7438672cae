package dev.qcal.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The token-input zoo end to end: the BERT-style encoder (three int64 inputs, true lengths 5 to 16 padded
 * with mask 0) and the GPT-2-style decoder (int64 ids, causal mask inside) calibrated with minmax from int64
 * .npy files, evaluated against FP32 on held-out rows and run by ONNX Runtime; and the README's NLP example
 * from Parquet {@code array<long>} columns bound with {@code --input}. SQNR floors: the figure measured when
 * the test was written, less a margin, and never under ONNX Runtime's quantize_static on the same rows.
 */
class ZooTransformersTest {
  @TempDir static Path tmp;

  @BeforeAll
  static void spark() {
    SharedSpark.session();
  }

  /** qcal minmax measured 27.86 dB; ONNX Runtime quantize_static (minmax, QDQ, per-channel) 6.44 dB. */
  @Test
  void bertQuantizesFromInt64Npy() throws Exception {
    ZooRun r = ZooRun.of(Zoo.BERT, tmp);
    System.out.printf("zoo BERT: logits SQNR %.2f dB, %d nodes quantized%n", r.sqnrDb(), r.quantizedNodes().size());
    assertEquals(64, r.run().get("samples").asLong());
    assertTrue(r.sqnrDb() >= 24, "BERT: " + r.sqnrDb() + " dB");
    r.assertOrtRunsQuantized(4);
  }

  /** qcal minmax measured 32.56 dB; ONNX Runtime quantize_static 9.87 dB. */
  @Test
  void gptQuantizesFromInt64Npy() throws Exception {
    ZooRun r = ZooRun.of(Zoo.GPT, tmp);
    System.out.printf("zoo GPT: logits SQNR %.2f dB, %d nodes quantized%n", r.sqnrDb(), r.quantizedNodes().size());
    assertTrue(r.sqnrDb() >= 28, "GPT: " + r.sqnrDb() + " dB");
    r.assertOrtRunsQuantized(4);
  }

  /**
   * The README's commands: example-data --kind bert, calibrate from Parquet with --input bindings, evaluate.
   * Measured 29.28 dB (64 calibration rows, 32 evaluation rows of length 32), eval.json's figure checked against
   * both models run here.
   */
  @Test
  void nlpExampleRunsFromParquet() throws Exception {
    Path dir = tmp.resolve("nlp");
    Cli d = Cli.run("example-data", "--kind", "bert", "--out", dir.toString(), "--count", "64", "--eval-count", "32");
    assertEquals(0, d.code(), d.err());
    Cli c = Cli.run("calibrate", "--model", dir.resolve("model.onnx").toString(), "--data",
        dir.resolve("tokens.parquet").toString(), "--input", "input_ids=input_ids", "--input",
        "attention_mask=attention_mask", "--input", "token_type_ids=token_type_ids", "--mask", "attention_mask",
        "--out", dir.resolve("calibrated").toString());
    assertEquals(0, c.code(), c.err());
    Cli e = Cli.run("evaluate", "--fp32", dir.resolve("model.onnx").toString(), "--quantized",
        dir.resolve("calibrated/quantized.onnx").toString(), "--data", dir.resolve("eval.parquet").toString(), "--out",
        dir.resolve("eval").toString(), "--sensitivity-samples", "0");
    assertEquals(0, e.code(), e.err());
    JsonNode out = new ObjectMapper().readTree(dir.resolve("eval/eval.json").toFile()).get("outputs").get("logits");
    System.out.println("NLP example: " + out);
    assertEquals(32, out.get("rows").asLong());
    // the SQNR of both models run here on the 32 evaluation rows generated again (example-data's defaults: seed
    // 1 + 1, length 32)
    java.util.Map<String, float[]> in = new java.util.HashMap<>();
    java.util.Map<String, long[]> shapes = new java.util.HashMap<>();
    for (String input : dev.qcal.examples.TinyBert.INPUTS) {
      in.put(input, new float[32 * 32]);
      shapes.put(input, new long[] {32, 32});
    }
    for (int k = 0; k < 32; k++) {
      dev.qcal.examples.Tokens.Pair p = dev.qcal.examples.Tokens.bert(2, k, 32, dev.qcal.examples.TinyBert.VOCAB);
      for (int j = 0; j < 32; j++) {
        in.get("input_ids")[k * 32 + j] = p.inputIds()[j];
        in.get("attention_mask")[k * 32 + j] = p.attentionMask()[j];
        in.get("token_type_ids")[k * 32 + j] = p.tokenTypeIds()[j];
      }
    }
    float[] fp32 = Ort.run(dir.resolve("model.onnx"), in, shapes).get("logits");
    float[] quant = Ort.run(dir.resolve("calibrated/quantized.onnx"), in, shapes).get("logits");
    double signal = 0;
    double noise = 0;
    for (int i = 0; i < fp32.length; i++) {
      signal += (double) fp32[i] * fp32[i];
      noise += ((double) quant[i] - fp32[i]) * ((double) quant[i] - fp32[i]);
    }
    assertEquals(10 * Math.log10(signal / noise), out.get("sqnr_db").asDouble(), 1e-6, out.toString());
    assertTrue(out.get("sqnr_db").asDouble() >= 26, out.toString());
  }
}
