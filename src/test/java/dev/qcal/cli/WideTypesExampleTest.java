package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example with 16-bit activations and 4-bit, blocked and per-tensor weights, from statistics
 * calibrated at opset 13 (uint8): each model is prepared at opset 21, written, loaded and run by ONNX
 * Runtime (all optimizations) on 256 other lines; top-1 agreement with FP32 and accuracy are reported.
 */
@ExtendWith(SharedSpark.class)
class WideTypesExampleTest {
  private static final String MODEL = ExampleData.MODEL.toString();
  @TempDir static Path shared;
  static Path calibrated;
  @TempDir Path tmp;

  @BeforeAll
  static void calibrate(SparkSession spark) {
    calibrated = shared.resolve("calibrated");
    Cli r = Cli.run("calibrate", "--model", MODEL, "--data", ExampleData.calibration().resolve("x").toString(),
        "--out", calibrated.toString());
    assertEquals(0, r.code(), r.err());
  }

  private Path quantize(String name, String... extra) {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("quantize", "--model", MODEL, "--stats", calibrated.toString(),
        "--out", out.toString()));
    args.addAll(Arrays.asList(extra));
    Cli r = Cli.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return out;
  }

  private static JsonNode json(Path f) throws Exception {
    return new ObjectMapper().readTree(f.toFile());
  }

  private static ModelProto load(Path dir) throws Exception {
    return ModelProto.parseFrom(Files.readAllBytes(dir.resolve("quantized.onnx")));
  }

  private static Map<String, TensorProto> initializers(ModelProto m) {
    Map<String, TensorProto> out = new HashMap<>();
    m.getGraph().getInitializerList().forEach(t -> out.put(t.getName(), t));
    return out;
  }

  /** The quantized initializer behind the DequantizeLinear feeding input {@code index} of {@code n}. */
  private static TensorProto weightOf(ModelProto m, NodeProto n, int index) {
    NodeProto dq = m.getGraph().getNodeList().stream()
        .filter(d -> d.getOpType().equals("DequantizeLinear") && d.getOutput(0).equals(n.getInput(index)))
        .findFirst().orElseThrow(() -> new AssertionError(n.getOpType() + " input " + index + " not dequantized"));
    return initializers(m).get(dq.getInput(0));
  }

  @Test
  void sixteenBitActivationsFromOpset13StatisticsAgreeAtLeastAsWellAsUint8(TestReporter reporter) throws Exception {
    assertEquals(13, json(calibrated.resolve("stats/stats.json")).get("prepared_opset").asInt());
    double[] u8 = evaluate(calibrated.resolve("quantized.onnx"));
    StringBuilder table = new StringBuilder(String.format("%-28s %-9s %-8s %s%n", "model", "agreement", "accuracy",
        "bytes"));
    table.append(String.format("%-28s %-9s %.4f   %d%n", "FP32", "-", u8[1], Files.size(ExampleData.MODEL)));
    table.append(String.format("%-28s %.4f    %.4f   %d%n", "uint8 act, int8 weights", u8[0], u8[2],
        Files.size(calibrated.resolve("quantized.onnx"))));
    for (String variant : List.of("uint16", "int16", "int16 symmetric")) {
      String type = variant.split(" ")[0];
      boolean symmetric = variant.endsWith("symmetric");
      Path out = symmetric ? quantize("int16-sym", "--activation-type", type, "--symmetric-activations")
          : quantize(type, "--activation-type", type);
      JsonNode q = json(out.resolve("qparams.json"));
      assertEquals(21, q.get("model").get("prepared_opset").asInt());
      for (JsonNode a : q.get("activations")) {
        assertEquals(type, a.get("dtype").asText());
      }
      ModelProto m = load(out);
      assertEquals(21, OnnxModels.opset(m));
      Map<String, TensorProto> inits = initializers(m);
      int expected = type.equals("uint16") ? 4 : 5;
      long quantizers = 0;
      for (NodeProto n : m.getGraph().getNodeList()) {
        if (n.getOpType().equals("QuantizeLinear")) {
          quantizers++;
          assertEquals(expected, inits.get(n.getInput(2)).getDataType(), n.getInput(0));
        }
      }
      assertEquals(q.get("activations").size(), quantizers);
      if (symmetric) {
        // symmetric int16 (ORT's rule): zero point 0, scale absmax / 32767 (range [-32767, 32767])
        for (JsonNode a : q.get("activations")) {
          assertEquals(0, a.get("zero_point").get(0).asLong(), a.toString());
          float absmax = Math.max(Math.abs(Math.min(0f, a.get("range_min").floatValue())),
              Math.abs(Math.max(0f, a.get("range_max").floatValue())));
          assertEquals((float) ((double) (absmax + absmax) / 65534.0), a.get("scale").get(0).floatValue(), a.toString());
        }
      }
      // per tensor, the quantize-dequantize SQNR estimated from the histogram: 8 more bits, about 48 dB more
      JsonNode a8 = json(calibrated.resolve("qparams.json")).get("activations");
      double minGain = Double.POSITIVE_INFINITY;
      for (var it = q.get("activations").fields(); it.hasNext(); ) {
        var t = it.next();
        JsonNode s8 = a8.get(t.getKey()).get("sqnr_db");
        JsonNode s16 = t.getValue().get("sqnr_db");
        if (!s8.isNull() && !s16.isNull()) {
          minGain = Math.min(minGain, s16.asDouble() - s8.asDouble());
        }
      }
      assertTrue(minGain >= 30, variant + ": smallest per-tensor SQNR gain " + minGain + " dB");
      double[] e = evaluate(out.resolve("quantized.onnx"));
      table.append(String.format("%-28s %.4f    %.4f   %d%n", variant + " act, int8 weights", e[0], e[2],
          Files.size(out.resolve("quantized.onnx"))));
      table.append(String.format("  (per-tensor SQNR gain over uint8: at least %.1f dB)%n", minGain));
      assertTrue(e[0] >= u8[0], variant + " agreement " + e[0] + " < uint8's " + u8[0]);
    }
    reporter.publishEntry("example-16bit", table.toString());
    System.out.print(table);
  }

  @Test
  void fourBitWeightsApplyToTheGemmAndConvWeightsStayInt8(TestReporter reporter) throws Exception {
    double[] u8 = evaluate(calibrated.resolve("quantized.onnx"));
    StringBuilder table = new StringBuilder();
    for (String[] option : List.of(new String[] {"int4"}, new String[] {"uint4"}, new String[] {"int4", "32"})) {
      String name = option[0] + (option.length > 1 ? "-block" + option[1] : "");
      List<String> args = new ArrayList<>(List.of("--weight-type", option[0]));
      if (option.length > 1) {
        args.addAll(List.of("--weight-block-size", option[1]));
      }
      Path out = quantize(name, args.toArray(new String[0]));
      ModelProto m = load(out);
      assertEquals(21, OnnxModels.opset(m));
      int fourBit = option[0].equals("int4") ? 22 : 21;
      for (NodeProto n : m.getGraph().getNodeList()) {
        if (n.getOpType().equals("Gemm")) {
          assertEquals(fourBit, weightOf(m, n, 1).getDataType(), name + " Gemm weight");
        }
        if (n.getOpType().equals("Conv")) {
          assertEquals(TensorProto.DataType.INT8_VALUE, weightOf(m, n, 1).getDataType(), name + " Conv weight");
        }
      }
      JsonNode run = json(out.resolve("run.json"));
      assertEquals(53, countMatching(run.get("weight_notes"), "ONNX Runtime has no 4-bit Conv kernels"),
          run.get("weight_notes").toString());
      JsonNode weights = json(out.resolve("qparams.json")).get("weights");
      long fourBitEntries = 0;
      for (JsonNode w : weights) {
        if (w.get("dtype").asText().equals(option[0])) {
          fourBitEntries++;
          if (option.length > 1) {
            assertEquals(Integer.parseInt(option[1]), w.get("block_size").asInt());
          }
        }
      }
      assertEquals(1, fourBitEntries, "the Gemm weight");
      double[] e = evaluate(out.resolve("quantized.onnx"));
      table.append(String.format("%-14s agreement %.4f accuracy %.4f bytes %d%n", name + " weights", e[0], e[2],
          Files.size(out.resolve("quantized.onnx"))));
      // only the classifier's Gemm is 4-bit: the int8 model's agreement minus a little
      assertTrue(e[0] >= u8[0] - 0.03, name + " agreement " + e[0] + " vs int8 " + u8[0]);
    }
    reporter.publishEntry("example-4bit", table.toString());
    System.out.print(table);
  }

  private static int countMatching(JsonNode array, String fragment) {
    int n = 0;
    for (JsonNode s : array) {
      n += s.asText().contains(fragment) ? 1 : 0;
    }
    return n;
  }

  @Test
  void perTensorWeightsHaveOneScalePerWeight(TestReporter reporter) throws Exception {
    Path out = quantize("per-tensor", "--per-channel=false");
    ModelProto m = load(out);
    assertEquals(13, OnnxModels.opset(m), "8-bit types stay at opset 13");
    Map<String, TensorProto> inits = initializers(m);
    long weightDqs = 0;
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getOpType().equals("DequantizeLinear") && inits.containsKey(n.getInput(0))) {
        weightDqs++;
        assertEquals(0, inits.get(n.getInput(1)).getDimsCount(), "scalar scale of " + n.getInput(0));
        assertTrue(n.getAttributeList().stream().noneMatch(a -> a.getName().equals("axis")));
      }
    }
    assertTrue(weightDqs >= 54, "weight and bias DQs: " + weightDqs);
    for (JsonNode w : json(out.resolve("qparams.json")).get("weights")) {
      assertTrue(w.get("axis").isNull(), w.toString());
      assertEquals(1, w.get("scale").size());
    }
    double[] e = evaluate(out.resolve("quantized.onnx"));
    String figure = String.format("per-tensor int8 weights: agreement %.4f accuracy %.4f", e[0], e[2]);
    reporter.publishEntry("example-per-tensor", figure);
    System.out.println(figure);
    // one scale per weight is coarser than per channel (depthwise channels differ by orders of magnitude):
    // measured 0.984 agreement against per channel's 1.000; hold it above 0.9
    assertTrue(e[0] >= 0.9, figure);
  }

  @Test
  void calibrateWithInt16PreparesAtOpset21AndUint8FromThoseStatisticsWorks() throws Exception {
    Path out = tmp.resolve("c16");
    Cli r = Cli.run("calibrate", "--model", MODEL, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out.toString(), "--activation-type", "int16", "--weight-type", "int4", "--weight-block-size", "16");
    assertEquals(0, r.code(), r.err());
    assertEquals(21, json(out.resolve("stats/stats.json")).get("prepared_opset").asInt());
    assertEquals(21, json(out.resolve("qparams.json")).get("model").get("prepared_opset").asInt());
    Path back = tmp.resolve("u8");
    Cli q = Cli.run("quantize", "--model", MODEL, "--stats", out.toString(), "--out", back.toString());
    assertEquals(0, q.code(), q.err());
    assertEquals(13, OnnxModels.opset(load(back)));
    assertTrue(evaluate(back.resolve("quantized.onnx"))[0] >= 0.95);
    Cli inspect = Cli.run("inspect", "--model", MODEL, "--quantized", out.resolve("quantized.onnx").toString(),
        "--input-shape", "x=1,3,48,192");
    assertEquals(0, inspect.code(), inspect.err());
    assertTrue(inspect.out().contains("quantized model: opset 21"), inspect.out());
    assertTrue(inspect.out().lines().anyMatch(l -> l.matches("  Gemm '.*': .*\\[int16, int4 axis \\d block 16.*")),
        inspect.out());
    assertTrue(inspect.out().lines().anyMatch(l -> l.matches(
        "  Conv '.*': .*int8 axis 0.*; weight int8, not int4: ONNX Runtime has no 4-bit Conv kernels")), inspect.out());
  }

  @Test
  void aSixteenBitDtypeInTheConfigFilePreparesAtOpset21() throws Exception {
    Path config = tmp.resolve("c.json");
    Files.writeString(config, "{\"tensors\": {\"relu_0.tmp_0\": {\"dtype\": \"uint16\"}}}");
    Path out = quantize("cfg16", "--config", config.toString());
    JsonNode a = json(out.resolve("qparams.json")).get("activations");
    assertEquals("uint16", a.get("relu_0.tmp_0").get("dtype").asText());
    assertEquals("uint8", a.get("x").get("dtype").asText());
    assertEquals(21, OnnxModels.opset(load(out)));
    assertTrue(evaluate(out.resolve("quantized.onnx"))[0] >= 0.97);
    Files.writeString(config, "{\"tensors\": {\"relu_0.tmp_0\": {\"dtype\": \"int4\"}}}");
    Path bad = tmp.resolve("cfg4");
    Cli.run("quantize", "--model", MODEL, "--stats", calibrated.toString(), "--out", bad.toString(),
        "--config", config.toString())
        .assertBadInput(bad, "'relu_0.tmp_0'", "dtype must be uint8, int8, uint16 or int16, got int4");
  }

  @Test
  void badTypesAndBlockSizesAreNamed() {
    Path out = tmp.resolve("bad");
    for (String command : List.of("quantize", "calibrate")) {
      List<String> base = command.equals("quantize")
          ? List.of("quantize", "--model", MODEL, "--stats", calibrated.toString(), "--out", out.toString())
          : List.of("calibrate", "--model", MODEL, "--data", ExampleData.small().resolve("x").toString(), "--out",
              out.toString());
      run(base, "--weight-type", "int5").assertBadInput(out, "--weight-type 'int5'", "int8, uint8, int4, uint4");
      run(base, "--weight-block-size", "3").assertBadInput(out, "--weight-block-size 3", "power of two >= 16");
      run(base, "--weight-block-size", "48").assertBadInput(out, "--weight-block-size 48");
      run(base, "--activation-type", "int4").assertBadInput(out, "--activation-type must be uint8, int8, uint16 or"
          + " int16, got int4");
      run(base, "--activation-type", "int16", "--reduce-range").assertBadInput(out, "--reduce-range",
          "8-bit activations only");
    }
  }

  private static Cli run(List<String> base, String... extra) {
    List<String> args = new ArrayList<>(base);
    args.addAll(Arrays.asList(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  static double[] evaluate(Path quantized) throws Exception {
    return dev.qcal.testing.ExampleEval.evaluate(quantized);
  }
}
