package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.ExternalModels;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate}, {@code quantize} and {@code evaluate} on a model whose weights are in external data:
 * the same parameters and quantized weights as for the same model with embedded weights, the output
 * written as {@code quantized.onnx} plus {@code quantized.onnx.data}; refused locations exit 2 with
 * nothing written.
 */
@ExtendWith(SharedSpark.class)
class ExternalDataCommandsTest {
  @TempDir static Path shared;
  static Path embedded;
  static Path external;
  static Path data;
  static Path outEmbedded;
  static Path outExternal;
  @TempDir Path tmp;

  @BeforeAll
  static void calibrateBoth(SparkSession spark) throws IOException {
    // W [64, 48] and B [40, 48] are over ONNX Runtime's 1 KiB threshold, so they stay external after preparation
    ModelProto m = ExternalModels.mlp(64, 48, 40);
    embedded = ExternalModels.write(m, shared.resolve("embedded/m.onnx"));
    external = ExternalModels.write(ExternalModels.externalize(m, shared.resolve("external"), "weights/m.bin", 100),
        shared.resolve("external/m.onnx"));
    data = shared.resolve("x.npy");
    Npy.writeFloat32(data, TestGraphs.randomFloats(24 * 64, 17), new long[] {24, 64});
    outEmbedded = shared.resolve("out-embedded");
    outExternal = shared.resolve("out-external");
    for (Path[] run : new Path[][] {{embedded, outEmbedded}, {external, outExternal}}) {
      Cli r = Cli.run("calibrate", "--model", run[0].toString(), "--data", data.toString(), "--out", run[1].toString(),
          "--batch-size", "5", "--master", "local[2]");
      assertEquals(0, r.code(), r.err());
    }
  }

  private static JsonNode qparams(Path out) throws IOException {
    return new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
  }

  @Test
  void calibrateGivesTheEmbeddedModelsParamsAndWritesADataFile() throws IOException {
    JsonNode e = qparams(outEmbedded);
    JsonNode x = qparams(outExternal);
    assertEquals(e.get("activations"), x.get("activations"));
    assertEquals(e.get("weights"), x.get("weights"));
    assertEquals(List.of("W", "B", "C"), List.copyOf(iterable(x.get("weights").fieldNames())));
    assertArrayEquals(Files.readAllBytes(outEmbedded.resolve("stats/stats.bin")),
        Files.readAllBytes(outExternal.resolve("stats/stats.bin")));
    assertFalse(Files.exists(outEmbedded.resolve("quantized.onnx.data")));
    assertTrue(Files.isRegularFile(outExternal.resolve("quantized.onnx.data")));
    assertTrue(Files.exists(outExternal.resolve("_SUCCESS")));
    ModelProto q = OnnxModels.load(outExternal.resolve("quantized.onnx"));
    assertEquals(List.of("quantized.onnx.data"), List.copyOf(ExternalData.locations(q)));
    List<String> externalTypes = q.getGraph().getInitializerList().stream().filter(ExternalData::isExternal)
        .map(t -> TensorProto.DataType.forNumber(t.getDataType()).name()).toList();
    assertEquals(List.of("INT8", "INT8"), externalTypes);
    assertSameOutputs(outEmbedded.resolve("quantized.onnx"), outExternal.resolve("quantized.onnx"));
  }

  private static <T> List<T> iterable(java.util.Iterator<T> it) {
    List<T> out = new java.util.ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  private static void assertSameOutputs(Path a, Path b) {
    Map<String, float[]> in = Map.of("x", TestGraphs.randomFloats(6 * 64, 23));
    Map<String, long[]> shapes = Map.of("x", new long[] {6, 64});
    assertArrayEquals(Ort.run(a, in, shapes).get("y"), Ort.run(b, in, shapes).get("y"));
  }

  @Test
  void quantizeFromSavedStatsAndEvaluate() throws IOException {
    Path out = tmp.resolve("q");
    Cli r = Cli.run("quantize", "--model", external.toString(), "--stats", outExternal.toString(), "--out",
        out.toString(), "--method", "percentile");
    assertEquals(0, r.code(), r.err());
    Path ref = tmp.resolve("q-embedded");
    r = Cli.run("quantize", "--model", embedded.toString(), "--stats", outEmbedded.toString(), "--out",
        ref.toString(), "--method", "percentile");
    assertEquals(0, r.code(), r.err());
    assertEquals(qparams(ref).get("weights"), qparams(out).get("weights"));
    assertEquals(qparams(ref).get("activations"), qparams(out).get("activations"));
    assertTrue(Files.isRegularFile(out.resolve("quantized.onnx.data")));
    assertSameOutputs(ref.resolve("quantized.onnx"), out.resolve("quantized.onnx"));

    // evaluate ships both models with their data files to the executors
    Path eval = tmp.resolve("eval");
    r = Cli.run("evaluate", "--fp32", external.toString(), "--quantized", out.resolve("quantized.onnx").toString(),
        "--data", data.toString(), "--out", eval.toString(), "--master", "local[2]");
    assertEquals(0, r.code(), r.err());
    JsonNode y = new ObjectMapper().readTree(eval.resolve("eval.json").toFile()).get("outputs").get("y");
    assertTrue(y.get("sqnr_db").asDouble() > 25, y.toString());
    // the SQNR of both models run here, with their external data, on the same 24 rows
    Map<String, float[]> in = Map.of("x", TestGraphs.randomFloats(24 * 64, 17));
    Map<String, long[]> shapes = Map.of("x", new long[] {24, 64});
    float[] fp32 = Ort.run(external, in, shapes).get("y");
    float[] quant = Ort.run(out.resolve("quantized.onnx"), in, shapes).get("y");
    double signal = 0;
    double noise = 0;
    for (int i = 0; i < fp32.length; i++) {
      signal += (double) fp32[i] * fp32[i];
      noise += ((double) quant[i] - fp32[i]) * ((double) quant[i] - fp32[i]);
    }
    assertEquals(10 * Math.log10(signal / noise), y.get("sqnr_db").asDouble(), 1e-6, y.toString());
  }

  /**
   * h13's sensitivity ranking and FP32 fallback on external data: the fallback re-quantizes from the
   * prepared model's folder, ships both models with their data files and ranks tensors with variants
   * written next to the shipped data; every figure equals the embedded model's.
   */
  @Test
  void fallbackAndSensitivityOnExternalDataEqualTheEmbeddedModels() throws IOException {
    ObjectMapper json = new ObjectMapper();
    JsonNode[] fallback = new JsonNode[2];
    Path[] outs = {tmp.resolve("fb-embedded"), tmp.resolve("fb-external")};
    Path[] models = {embedded, external};
    for (int i = 0; i < 2; i++) {
      Cli r = Cli.run("calibrate", "--model", models[i].toString(), "--data", data.toString(), "--out",
          outs[i].toString(), "--batch-size", "5", "--master", "local[2]", "--min-sqnr", "200",
          "--sensitivity-samples", "8");
      assertEquals(0, r.code(), r.err());
      fallback[i] = json.readTree(outs[i].resolve("run.json").toFile()).get("fallback");
    }
    assertTrue(fallback[1].get("steps").size() >= 2, fallback[1].toString());
    assertTrue(fallback[1].get("sensitivity").get("tensors").size() >= 4, fallback[1].toString());
    for (String field : new String[] {"steps", "excluded_nodes", "status", "sensitivity"}) {
      assertEquals(fallback[0].get(field), fallback[1].get(field), field);
    }
    assertEquals(qparams(outs[0]).get("weights"), qparams(outs[1]).get("weights"));
    assertSameOutputs(outs[0].resolve("quantized.onnx"), outs[1].resolve("quantized.onnx"));

    // evaluate's ranking: the external FP32 model prepared again, the quantized one with its data file
    JsonNode[] sensitivity = new JsonNode[2];
    Path[] quantized = {outEmbedded, outExternal};
    for (int i = 0; i < 2; i++) {
      Path eval = tmp.resolve("eval-" + i);
      Cli r = Cli.run("evaluate", "--fp32", models[i].toString(), "--quantized",
          quantized[i].resolve("quantized.onnx").toString(), "--data", data.toString(), "--out", eval.toString(),
          "--master", "local[2]", "--sensitivity-samples", "8");
      assertEquals(0, r.code(), r.err());
      sensitivity[i] = json.readTree(eval.resolve("eval.json").toFile()).get("sensitivity");
    }
    assertTrue(sensitivity[1].get("tensors").size() >= 4, sensitivity[1].toString());
    assertEquals(sensitivity[0], sensitivity[1]);
  }

  @Test
  void refusedLocationsExitTwoAndWriteNothing() throws IOException {
    // the model's own bytes name '../m.bin'
    Path dir = tmp.resolve("m");
    Files.createDirectories(dir);
    Files.copy(external.resolveSibling("weights/m.bin"), tmp.resolve("m.bin"));
    Path escaping = ExternalModels.write(ExternalData.relocate(OnnxModels.load(external), l -> "../m.bin"),
        dir.resolve("m.onnx"));
    // the same model file as the calibrated one (so its statistics match), its data now a link to outside
    Path linked = tmp.resolve("k/m.onnx");
    Files.createDirectories(linked.resolveSibling("weights"));
    Files.copy(external, linked);
    Files.createSymbolicLink(linked.resolveSibling("weights/m.bin"), tmp.resolve("m.bin"));
    String escapes = escaping + ": tensor 'W': external data location '../m.bin' escapes the model's directory "
        + dir.toAbsolutePath();
    String outside = linked + ": tensor 'W': external data location 'weights/m.bin': "
        + linked.toAbsolutePath().resolveSibling("weights/m.bin") + " resolves to " + tmp.resolve("m.bin").toRealPath()
        + ", outside the model's directory";
    Path out = tmp.resolve("out");
    Map<List<String>, String> cases = new java.util.LinkedHashMap<>();
    cases.put(List.of("calibrate", "--model", escaping.toString(), "--data", data.toString(), "--out", out.toString()),
        escapes);
    cases.put(List.of("inspect", "--model", escaping.toString()), escapes);
    cases.put(List.of("calibrate", "--model", linked.toString(), "--data", data.toString(), "--out", out.toString()),
        outside);
    cases.put(List.of("quantize", "--model", linked.toString(), "--stats", outExternal.toString(), "--out",
        out.toString()), outside);
    cases.forEach((args, expected) -> {
      Cli r = Cli.run(args.toArray(String[]::new));
      assertEquals(Main.BAD_INPUT, r.code(), args + ": " + r.err());
      assertTrue(r.errorLine().startsWith("qcal: error: " + expected), r.errorLine());
      assertEquals(1, r.err().lines().count(), r.err());
      assertFalse(Files.exists(out), "nothing written");
      try (Stream<Path> s = Files.list(tmp)) {
        assertTrue(s.noneMatch(p -> p.getFileName().toString().contains("qcal-tmp")));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
  }
}
