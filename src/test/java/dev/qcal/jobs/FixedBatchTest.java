package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models exported with a fixed batch dimension ([1,3,8,8], [2,3,8,8]) are fed batches of exactly that
 * size; their statistics and parameters are those of the same graph with a dynamic batch dimension
 * (the oracle) over the same samples, to the byte.
 */
@ExtendWith(SharedSpark.class)
class FixedBatchTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  /** x [B,3,8,8] -> Conv 3x3 (4 channels) -> Relu -> Conv 1x1 (2 channels) -> y. */
  static Path model(Path file, ValueInfoProto input) {
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("Conv", "c1", List.of("x", "w1", "b1"), List.of("h"), TestGraphs.ints("pads", 1, 1, 1, 1)),
            TestGraphs.node("Relu", "r1", List.of("h"), List.of("hr")),
            TestGraphs.node("Conv", "c2", List.of("hr", "w2", "b2"), List.of("y"))),
        List.of(input),
        List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w1", new long[] {4, 3, 3, 3}, TestGraphs.randomFloats(108, 1)),
            TestGraphs.floatTensor("b1", new long[] {4}, TestGraphs.randomFloats(4, 2)),
            TestGraphs.floatTensor("w2", new long[] {2, 4, 1, 1}, TestGraphs.randomFloats(8, 3)),
            TestGraphs.floatTensor("b2", new long[] {2}, TestGraphs.randomFloats(2, 4))));
    OnnxModels.save(m, file);
    return file;
  }

  static Path fixed(Path dir, int n) {
    return model(dir.resolve("fixed" + n + ".onnx"), TestGraphs.floatInfo("x", n, 3, 8, 8));
  }

  static Path dynamic(Path dir) {
    return model(dir.resolve("dynamic.onnx"), TestGraphs.batchInput("x", 3, 8, 8));
  }

  /** {@code rows} samples [3,8,8], in two files so that partitions end with partial batches. */
  static Path data(Path dir, int rows) throws Exception {
    Random r = new Random(7);
    Path d = dir.resolve("data");
    Files.createDirectories(d);
    int first = rows / 2 + 1;
    for (int[] part : new int[][] {{0, first}, {1, rows - first}}) {
      float[] v = new float[part[1] * 192];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) r.nextGaussian();
      }
      Npy.writeFloat32(d.resolve("part-" + part[0] + ".npy"), v, new long[] {part[1], 3, 8, 8});
    }
    return d;
  }

  private Cli calibrate(Path model, Path data, String out, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data", data.toString(),
        "--out", tmp.resolve(out).toString(), "--partitions", "2"));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  /** Same activation and weight parameters and the same statistics, to the byte. */
  private void assertSameResults(String expected, String actual) throws Exception {
    JsonNode e = JSON.readTree(tmp.resolve(expected).resolve("qparams.json").toFile());
    JsonNode a = JSON.readTree(tmp.resolve(actual).resolve("qparams.json").toFile());
    assertEquals(e.get("samples"), a.get("samples"), actual);
    assertEquals(e.get("activations"), a.get("activations"), actual);
    assertEquals(e.get("weights"), a.get("weights"), actual);
    assertArrayEquals(Files.readAllBytes(tmp.resolve(expected).resolve("stats/stats.bin")),
        Files.readAllBytes(tmp.resolve(actual).resolve("stats/stats.bin")), actual);
  }

  @Test
  void batchOfOneCalibratesAsTheDynamicModel(SparkSession spark) throws Exception {
    Path data = data(tmp, 7);
    Cli oracle = calibrate(dynamic(tmp), data, "dynamic");
    assertEquals(0, oracle.code(), oracle.err());
    Path fixed = fixed(tmp, 1);
    Cli byDefault = calibrate(fixed, data, "fixed-default");
    assertEquals(0, byDefault.code(), byDefault.err());
    assertSameResults("dynamic", "fixed-default");
    Cli explicit = calibrate(fixed, data, "fixed-b4", "--batch-size", "4");
    assertEquals(0, explicit.code(), explicit.err());
    assertSameResults("dynamic", "fixed-b4");
    JsonNode run = JSON.readTree(tmp.resolve("fixed-b4/run.json").toFile());
    assertEquals(1, run.get("batch_size").asInt(), "the model's batch size is used");
    assertEquals(7, run.get("batches").asInt());
    // quantize reuses the statistics: the model is prepared again with the recorded shapes
    Cli q = Cli.run("quantize", "--model", fixed.toString(), "--stats", tmp.resolve("fixed-b4").toString(),
        "--out", tmp.resolve("requantized").toString());
    assertEquals(0, q.code(), q.err());
    Cli inspect = Cli.run("inspect", "--model", fixed.toString());
    assertEquals(0, inspect.code(), inspect.err());
    assertTrue(inspect.out().contains("batch: fixed at 1 samples"), inspect.out());
  }

  @Test
  void batchOfTwoPadsPartialBatchesAndObservesOnlyRealSamples(SparkSession spark) throws Exception {
    Path data = data(tmp, 7); // partitions of 4 and 3 samples: the second ends with a padded batch
    Path dynamic = dynamic(tmp);
    Path fixed = fixed(tmp, 2);
    for (String bins : new String[] {"4096", "0"}) { // Java histograms, and min/max reduced inside ONNX Runtime
      Cli oracle = calibrate(dynamic, data, "dynamic-" + bins, "--histogram-bins", bins);
      assertEquals(0, oracle.code(), oracle.err());
      Cli r = calibrate(fixed, data, "fixed2-" + bins, "--histogram-bins", bins, "--batch-size", "3");
      assertEquals(0, r.code(), r.err());
      assertSameResults("dynamic-" + bins, "fixed2-" + bins);
      JsonNode run = JSON.readTree(tmp.resolve("fixed2-" + bins).resolve("run.json").toFile());
      assertEquals(2, run.get("batch_size").asInt());
      assertEquals(7, run.get("samples").asInt());
    }
    // evaluate feeds the fixed batch too, padded rows left out of every comparison
    Cli ev = Cli.run("evaluate", "--fp32", fixed.toString(), "--quantized",
        tmp.resolve("fixed2-4096/quantized.onnx").toString(), "--data", data.toString(), "--out",
        tmp.resolve("eval-fixed").toString(), "--sensitivity-samples", "3");
    assertEquals(0, ev.code(), ev.err());
    Cli evOracle = Cli.run("evaluate", "--fp32", dynamic.toString(), "--quantized",
        tmp.resolve("dynamic-4096/quantized.onnx").toString(), "--data", data.toString(), "--out",
        tmp.resolve("eval-dynamic").toString(), "--sensitivity-samples", "3");
    assertEquals(0, evOracle.code(), evOracle.err());
    JsonNode e = JSON.readTree(tmp.resolve("eval-fixed/eval.json").toFile());
    JsonNode o = JSON.readTree(tmp.resolve("eval-dynamic/eval.json").toFile());
    assertEquals(7, e.get("samples").asInt());
    assertEquals(o.get("outputs"), e.get("outputs"));
    assertEquals(o.get("sensitivity").get("samples"), e.get("sensitivity").get("samples"));
    assertEquals(o.get("sensitivity").get("tensors"), e.get("sensitivity").get("tensors"));
    // the FP32 fallback evaluates and ranks with the fixed batch too (an unreachable target runs every step)
    String[] fallback = {"--min-sqnr", "200", "--sensitivity-samples", "3"};
    Cli fb = calibrate(fixed, data, "fixed2-fallback", fallback);
    assertEquals(0, fb.code(), fb.err());
    Cli fbOracle = calibrate(dynamic, data, "dynamic-fallback", fallback);
    assertEquals(0, fbOracle.code(), fbOracle.err());
    JsonNode steps = JSON.readTree(tmp.resolve("fixed2-fallback/run.json").toFile()).get("fallback").get("steps");
    assertTrue(steps.size() > 1, steps.toString());
    assertEquals(JSON.readTree(tmp.resolve("dynamic-fallback/run.json").toFile()).get("fallback").get("steps"), steps);
  }

  /** x [2,2,4,4] transposed to [2 (channels), 2 (batch), 4, 4] before a Conv: the batch is not first. */
  @Test
  void aFixedBatchThatIsNotFirstInEveryTensorIsRefusedBeforeThePass(SparkSession spark) throws Exception {
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("Transpose", "t", List.of("x"), List.of("xt"), TestGraphs.ints("perm", 1, 0, 2, 3)),
            TestGraphs.node("Conv", "c", List.of("xt", "w"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 2, 2, 4, 4)), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w", new long[] {3, 2, 1, 1}, TestGraphs.randomFloats(6, 5))));
    Path model = tmp.resolve("transposed.onnx");
    OnnxModels.save(m, model);
    Random r = new Random(3);
    float[] v = new float[5 * 32];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    Files.createDirectories(tmp.resolve("d"));
    Npy.writeFloat32(tmp.resolve("d/x.npy"), v, new long[] {5, 2, 4, 4});
    Cli c = Cli.run("calibrate", "--model", model.toString(), "--data", tmp.resolve("d").toString(),
        "--out", tmp.resolve("out").toString());
    c.assertBadInput(tmp.resolve("out"), "transposed.onnx", "fixed batch of 2", "tensor 'xt'",
        "rows differ");
  }

  @Test
  void onnxRuntimeShapeErrorsReachTheUserWhole() throws Exception {
    Path fixed = fixed(tmp, 1);
    dev.qcal.runtime.Ort.Failure f = org.junit.jupiter.api.Assertions.assertThrows(dev.qcal.runtime.Ort.Failure.class,
        () -> dev.qcal.runtime.Ort.run(fixed, java.util.Map.of("x", new float[2 * 192]),
            java.util.Map.of("x", new long[] {2, 3, 8, 8})));
    assertTrue(f.getMessage().contains("index: 0 Got: 2 Expected: 1"), f.getMessage());
    assertFalse(f.getMessage().contains("\n"), f.getMessage());
  }
}
