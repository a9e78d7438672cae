package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
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
 * A min/max-only pass reduces the activations inside ONNX Runtime; its statistics must be byte for
 * byte those of exposing every value to Java, including batches with NaN, infinities and signed zeros
 * (which the reduced graph hands back to the exposing one).
 */
@ExtendWith(SharedSpark.class)
class CalibrateReducedTest {
  @TempDir Path tmp;

  private JsonNode calibrate(SparkSession spark, boolean reduce, String name, String... args) throws Exception {
    Path out = tmp.resolve(name);
    List<String> all = new ArrayList<>(List.of("calibrate", "--out", out.toString(), "--histogram-bins", "0",
        "--reduce-in-ort=" + reduce));
    all.addAll(List.of(args));
    Cli r = Cli.run(all.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return new ObjectMapper().readTree(out.resolve("run.json").toFile());
  }

  private void assertSameOutputs(String a, String b) throws Exception {
    for (String f : List.of("qparams.json", "stats/stats.bin", "stats/stats.json")) {
      assertArrayEquals(Files.readAllBytes(tmp.resolve(a).resolve(f)), Files.readAllBytes(tmp.resolve(b).resolve(f)),
          a + " vs " + b + ": " + f);
    }
  }

  @Test
  void exampleStatisticsAreTheSameBytesAsExposingEveryValue(SparkSession spark) throws Exception {
    String data = ExampleData.small().resolve("x").toString();
    String model = ExampleData.MODEL.toString();
    JsonNode exposed = calibrate(spark, false, "exposed", "--model", model, "--data", data, "--partitions", "1");
    JsonNode reduced = calibrate(spark, true, "reduced", "--model", model, "--data", data, "--partitions", "1");
    JsonNode reduced3 = calibrate(spark, true, "reduced-p3", "--model", model, "--data", data, "--partitions", "3",
        "--batch-size", "7");
    assertEquals("exposed", exposed.at("/observe/mode").asText());
    assertEquals("reduced_in_onnxruntime", reduced.at("/observe/mode").asText());
    assertEquals(0, reduced.at("/observe/batches_rerun_exposed").asLong());
    assertEquals(0, reduced3.at("/observe/batches_rerun_exposed").asLong());
    assertSameOutputs("exposed", "reduced");
    assertSameOutputs("exposed", "reduced-p3");
  }

  /**
   * out = Conv(Log(x) - Relu(x)), out2 = Conv(-Relu(-x)) at opset 18 (axes as inputs): Log gives NaN for
   * x &lt; 0 and -Inf for 0; -Relu(-x) is -0.0 for every x &gt; 0, so its maximum is a zero of either sign;
   * some batches are clean, some not.
   */
  @Test
  void nonFiniteValuesAndSignedZerosGiveTheSameBytes(SparkSession spark) throws Exception {
    ModelProto m = TestGraphs.model(18,
        List.of(TestGraphs.node("Log", "log", List.of("x"), List.of("a")),
            TestGraphs.node("Relu", "relu", List.of("x"), List.of("r")),
            TestGraphs.node("Sub", "sub", List.of("a", "r"), List.of("s")),
            TestGraphs.node("Conv", "conv", List.of("s", "w"), List.of("out")),
            TestGraphs.node("Neg", "neg1", List.of("x"), List.of("nx")),
            TestGraphs.node("Relu", "relu2", List.of("nx"), List.of("rn")),
            TestGraphs.node("Neg", "neg2", List.of("rn"), List.of("b")),
            TestGraphs.node("Conv", "conv2", List.of("b", "w"), List.of("out2"))),
        List.of(TestGraphs.batchInput("x", 2, 3, 4)), List.of(TestGraphs.floatInfo("out"), TestGraphs.floatInfo("out2")),
        List.of(TestGraphs.floatTensor("w", new long[] {2, 2, 1, 1}, 0.5f, -1f, 2f, 0.25f)));
    Path model = tmp.resolve("log-mul.onnx");
    OnnxModels.save(m, model);
    Random r = new Random(5);
    int samples = 40;
    float[] x = new float[samples * 2 * 3 * 4];
    for (int i = 0; i < x.length; i++) {
      x[i] = 0.1f + (float) Math.abs(r.nextGaussian());
    }
    x[5 * 24 + 3] = -1f; // NaN in a, -0.0 in b
    x[17 * 24 + 20] = 0f; // -Inf in a, -0.0 in b
    x[30 * 24 + 7] = -0f;
    Path data = tmp.resolve("x/0.npy");
    Files.createDirectories(data.getParent());
    Npy.writeFloat32(data, x, new long[] {samples, 2, 3, 4});

    String[] args = {"--model", model.toString(), "--data", data.getParent().toString(), "--batch-size", "4"};
    JsonNode exposed = calibrate(spark, false, "exposed", args);
    JsonNode reduced = calibrate(spark, true, "reduced", args);
    JsonNode reduced3 = calibrate(spark, true, "reduced-p3", concat(args, "--partitions", "3"));
    assertEquals("reduced_in_onnxruntime", reduced.at("/observe/mode").asText());
    JsonNode qparams = new ObjectMapper().readTree(tmp.resolve("reduced/qparams.json").toFile());
    assertTrue(qparams.toString().contains("\"b\"") && qparams.toString().contains("\"s\""), qparams.toString());
    long rerun = reduced.at("/observe/batches_rerun_exposed").asLong();
    assertEquals(3, rerun, "the three batches holding a non-positive x go through the exposing graph");
    assertTrue(reduced.get("batches").asLong() > rerun);
    assertEquals(3, reduced3.at("/observe/batches_rerun_exposed").asLong(),
        "samples 5, 17 and 30 lie in three batches of 4 however the 40 are split");
    // s is NaN at x = -1 and -Inf at x = 0 and at x = -0.0 (Log); each spreads to both channels of out (1x1 Conv)
    assertEquals(new ObjectMapper().readTree("{\"s\": 3, \"out\": 6}"), exposed.get("non_finite_values"),
        exposed.toString());
    assertEquals(exposed.get("non_finite_values"), reduced.get("non_finite_values"));
    assertSameOutputs("exposed", "reduced");
    assertSameOutputs("exposed", "reduced-p3");
    assertEquals(0.0, qparams.at("/activations/b/max").asDouble());
  }

  private static String[] concat(String[] a, String... b) {
    List<String> l = new ArrayList<>(List.of(a));
    l.addAll(List.of(b));
    return l.toArray(new String[0]);
  }
}
