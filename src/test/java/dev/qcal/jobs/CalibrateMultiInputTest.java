package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A two-input model fed by {@code --data NAME=PATH}: rows are zipped file by file, row by row. */
@ExtendWith(SharedSpark.class)
class CalibrateMultiInputTest {
  @TempDir Path tmp;

  /** out = a @ Wa + b @ Wb, with a, b of shape [N, 4]. */
  private Path model() {
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "ma", List.of("a", "wa"), List.of("ya")),
            TestGraphs.node("MatMul", "mb", List.of("b", "wb"), List.of("yb")),
            TestGraphs.node("Add", "add", List.of("ya", "yb"), List.of("out"))),
        List.of(TestGraphs.batchInput("a", 4), TestGraphs.batchInput("b", 4)),
        List.of(TestGraphs.floatInfo("out")),
        List.of(TestGraphs.floatTensor("wa", new long[] {4, 3}, TestGraphs.randomFloats(12, 1)),
            TestGraphs.floatTensor("wb", new long[] {4, 3}, TestGraphs.randomFloats(12, 2))));
    Path f = tmp.resolve("two-inputs.onnx");
    OnnxModels.save(m, f);
    return f;
  }

  private static float[] write(Path file, int rows, long seed, float scale) throws Exception {
    Random r = new Random(seed);
    float[] v = new float[rows * 4];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian() * scale;
    }
    Files.createDirectories(file.getParent());
    Npy.writeFloat32(file, v, new long[] {rows, 4});
    return v;
  }

  private static float min(float[]... vs) {
    float m = Float.POSITIVE_INFINITY;
    for (float[] v : vs) {
      for (float x : v) {
        m = Math.min(m, x);
      }
    }
    return m;
  }

  private static float max(float[]... vs) {
    float m = Float.NEGATIVE_INFINITY;
    for (float[] v : vs) {
      for (float x : v) {
        m = Math.max(m, x);
      }
    }
    return m;
  }

  @Test
  void bindsEachInputByName(SparkSession spark) throws Exception {
    Path model = model();
    float[] a1 = write(tmp.resolve("a/0.npy"), 7, 1, 1f);
    float[] a2 = write(tmp.resolve("a/1.npy"), 5, 2, 1f);
    float[] b1 = write(tmp.resolve("b/0.npy"), 7, 3, 10f);
    float[] b2 = write(tmp.resolve("b/1.npy"), 5, 4, 10f);
    Path out = tmp.resolve("out");
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", "b=" + tmp.resolve("b"),
        "--data", "a=" + tmp.resolve("a"), "--out", out.toString(), "--batch-size", "3");
    assertEquals(0, r.code(), r.err());
    JsonNode q = new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
    assertEquals(12, q.get("samples").asLong());
    JsonNode acts = q.get("activations");
    assertEquals(min(a1, a2), acts.get("a").get("min").floatValue());
    assertEquals(max(a1, a2), acts.get("a").get("max").floatValue());
    assertEquals(min(b1, b2), acts.get("b").get("min").floatValue());
    assertEquals(max(b1, b2), acts.get("b").get("max").floatValue());
    assertEquals(48, acts.get("a").get("count").asLong());
    assertTrue(q.get("weights").has("wa") && q.get("weights").has("wb"));
  }

  @Test
  void filesWithDifferentRowCountsAreNamed(SparkSession spark) throws Exception {
    Path model = model();
    write(tmp.resolve("a/0.npy"), 7, 1, 1f);
    write(tmp.resolve("b/0.npy"), 6, 3, 1f);
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", "a=" + tmp.resolve("a"),
        "--data", "b=" + tmp.resolve("b"), "--out", tmp.resolve("out").toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.errorLine().contains("0.npy") && r.errorLine().contains("6") && r.errorLine().contains("7"),
        r.errorLine());
    assertTrue(Files.notExists(tmp.resolve("out")));
  }

  @Test
  void aMissingBindingNamesTheInput(SparkSession spark) throws Exception {
    Path model = model();
    write(tmp.resolve("a/0.npy"), 2, 1, 1f);
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", "a=" + tmp.resolve("a"),
        "--out", tmp.resolve("out").toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.errorLine().contains("no --data for model input 'b'"), r.errorLine());
  }
}
