package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models whose graphs depend on a fixed first dimension ([5,5] against [5,5] constants, [1,8,6,6]
 * reshaped to [8,36], a Squeeze of axis 0, [3,7]): rows of the input's full shape are whole inputs,
 * fed as they are. The statistics equal a brute-force oracle (ONNX Runtime running the FP32 graph on
 * each sample alone, every activation a graph output), for any partitioning.
 */
@ExtendWith(SharedSpark.class)
class WholeInputsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private static TensorProto int64s(String name, long... v) {
    return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(v.length)
        .addAllInt64Data(Arrays.stream(v).boxed().toList()).build();
  }

  /**
   * The model (outputs {@code outputs}) saved as {@code name}, and its oracle (every tensor in
   * {@code activations} a graph output) as {@code oracle-name}.
   */
  private Path model(String name, List<NodeProto> nodes, ValueInfoProto input, List<String> outputs,
      List<TensorProto> inits, List<String> activations) {
    ModelProto m = TestGraphs.model(13, nodes, List.of(input),
        outputs.stream().map(o -> TestGraphs.floatInfo(o)).toList(), inits);
    OnnxModels.save(m, tmp.resolve(name));
    ModelProto oracle = TestGraphs.model(13, nodes, List.of(input),
        activations.stream().map(o -> TestGraphs.floatInfo(o)).toList(), inits);
    OnnxModels.save(oracle, tmp.resolve("oracle-" + name));
    return tmp.resolve(name);
  }

  /** x [5,5] -> MatMul [5,5] -> Add a [5,5] constant -> Relu. */
  private Path matMulAddRelu() {
    return model("mm55.onnx",
        List.of(TestGraphs.node("MatMul", "mm", List.of("x", "w"), List.of("m")),
            TestGraphs.node("Add", "add", List.of("m", "c"), List.of("a")),
            TestGraphs.node("Relu", "relu", List.of("a"), List.of("y"))),
        TestGraphs.floatInfo("x", 5, 5), List.of("y"),
        List.of(TestGraphs.floatTensor("w", new long[] {5, 5}, TestGraphs.randomFloats(25, 1)),
            TestGraphs.floatTensor("c", new long[] {5, 5}, TestGraphs.randomFloats(25, 2))),
        List.of("m", "a", "y"));
  }

  private static float[] gaussians(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }

  /** Per activation of the oracle model, {min, max} over every value of every sample run alone. */
  private static Map<String, float[]> oracle(Path oracle, String input, float[] all, long[] sampleShape, int samples) {
    int per = all.length / samples;
    Map<String, float[]> range = new LinkedHashMap<>();
    for (int s = 0; s < samples; s++) {
      float[] x = Arrays.copyOfRange(all, s * per, (s + 1) * per);
      Map<String, float[]> out = new LinkedHashMap<>(Ort.run(oracle, Map.of(input, x), Map.of(input, sampleShape)));
      out.put(input, x);
      for (Map.Entry<String, float[]> e : out.entrySet()) {
        float[] r = range.computeIfAbsent(e.getKey(), k -> new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
        for (float v : e.getValue()) {
          r[0] = Math.min(r[0], v);
          r[1] = Math.max(r[1], v);
        }
      }
    }
    return range;
  }

  private Cli calibrate(Path model, Path data, String out, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data", data.toString(),
        "--out", tmp.resolve(out).toString()));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  /** Every calibrated activation's min and max are the oracle's; at least {@code expected} are checked. */
  private void assertOracle(String out, Map<String, float[]> oracle, List<String> expected) throws Exception {
    JsonNode acts = JSON.readTree(tmp.resolve(out).resolve("qparams.json").toFile()).get("activations");
    List<String> checked = new ArrayList<>();
    for (var it = acts.fields(); it.hasNext();) {
      var e = it.next();
      float[] r = oracle.get(e.getKey());
      if (r == null) {
        continue; // a tensor of the prepared graph the oracle has no name for
      }
      assertEquals(r[0], e.getValue().get("min").floatValue(), 0f, e.getKey() + " min");
      assertEquals(r[1], e.getValue().get("max").floatValue(), 0f, e.getKey() + " max");
      checked.add(e.getKey());
    }
    assertTrue(checked.containsAll(expected), checked + " should hold " + expected);
  }

  private void assertSameStats(String a, String b) throws Exception {
    assertEquals(JSON.readTree(tmp.resolve(a).resolve("qparams.json").toFile()).get("activations"),
        JSON.readTree(tmp.resolve(b).resolve("qparams.json").toFile()).get("activations"));
    assertArrayEquals(Files.readAllBytes(tmp.resolve(a).resolve("stats/stats.bin")),
        Files.readAllBytes(tmp.resolve(b).resolve("stats/stats.bin")), b);
  }

  @Test
  void fullShapedRowsAreWholeInputsAsTheOracleRunsThem(SparkSession spark) throws Exception {
    Path model = matMulAddRelu();
    float[] x = gaussians(7 * 25, 3);
    Path data = tmp.resolve("x.npy");
    Npy.writeFloat32(data, x, new long[] {7, 5, 5});
    Cli one = calibrate(model, data, "p1", "--partitions", "1");
    assertEquals(0, one.code(), one.err());
    Cli three = calibrate(model, data, "p3", "--partitions", "3", "--batch-size", "4");
    assertEquals(0, three.code(), three.err());
    assertSameStats("p1", "p3");
    Map<String, float[]> oracle = oracle(tmp.resolve("oracle-mm55.onnx"), "x", x, new long[] {5, 5}, 7);
    assertOracle("p1", oracle, List.of("x", "y"));
    // JSON rows of 25 numbers (the full input's count) are whole inputs too: the same statistics
    StringBuilder lines = new StringBuilder();
    for (int k = 0; k < 7; k++) {
      StringBuilder row = new StringBuilder();
      for (int j = 0; j < 25; j++) {
        row.append(j > 0 ? "," : "").append(x[k * 25 + j]);
      }
      lines.append("{\"x\": [").append(row).append("]}\n");
    }
    Path json = tmp.resolve("json-data");
    Files.createDirectories(json);
    Files.writeString(json.resolve("x.json"), lines);
    Cli fromJson = calibrate(model, json, "json", "--partitions", "3");
    assertEquals(0, fromJson.code(), fromJson.err());
    assertSameStats("p1", "json");
    // min/max only: reduced inside ONNX Runtime, on whole inputs too
    Cli reduced = calibrate(model, data, "reduced", "--partitions", "2", "--histogram-bins", "0");
    assertEquals(0, reduced.code(), reduced.err());
    assertOracle("reduced", oracle, List.of("x", "y"));
    assertEquals("reduced_in_onnxruntime",
        JSON.readTree(tmp.resolve("reduced/run.json").toFile()).get("observe").get("mode").asText());
    JsonNode run = JSON.readTree(tmp.resolve("p3/run.json").toFile());
    assertEquals("whole", run.get("feed").asText());
    assertEquals(7, run.get("samples").asInt());
    assertEquals(7, run.get("batches").asInt());
    Cli inspect = Cli.run("inspect", "--model", model.toString());
    assertEquals(0, inspect.code(), inspect.err());
    assertTrue(inspect.out().contains("batch: none (whole inputs [5,5], run one at a time)"), inspect.out());

    // evaluate: each whole input through both models; SQNR as ONNX Runtime's outputs give it, sample by sample
    Path quantized = tmp.resolve("p1/quantized.onnx");
    Cli ev = Cli.run("evaluate", "--fp32", model.toString(), "--quantized", quantized.toString(), "--data",
        data.toString(), "--out", tmp.resolve("eval").toString(), "--sensitivity-samples", "3");
    assertEquals(0, ev.code(), ev.err());
    double signal = 0;
    double noise = 0;
    for (int s = 0; s < 7; s++) {
      float[] in = Arrays.copyOfRange(x, s * 25, (s + 1) * 25);
      float[] ref = Ort.run(model, Map.of("x", in), Map.of("x", new long[] {5, 5})).get("y");
      float[] q = Ort.run(quantized, Map.of("x", in), Map.of("x", new long[] {5, 5})).get("y");
      for (int k = 0; k < ref.length; k++) {
        signal += (double) ref[k] * ref[k];
        noise += ((double) ref[k] - q[k]) * ((double) ref[k] - q[k]);
      }
    }
    JsonNode eval = JSON.readTree(tmp.resolve("eval/eval.json").toFile());
    assertEquals(7, eval.get("samples").asInt());
    assertEquals(10 * Math.log10(signal / noise), eval.get("outputs").get("y").get("sqnr_db").asDouble(), 1e-3);
    assertEquals(3, eval.get("sensitivity").get("samples").asInt());

    // the FP32 fallback evaluates and ranks whole inputs too (an unreachable target runs every step)
    Cli fb = calibrate(model, data, "fallback", "--min-sqnr", "200", "--sensitivity-samples", "3");
    assertEquals(0, fb.code(), fb.err());
    JsonNode steps = JSON.readTree(tmp.resolve("fallback/run.json").toFile()).get("fallback").get("steps");
    assertTrue(steps.size() > 1, steps.toString());
    // quantize from the statistics, with the fallback on whole inputs of its own evaluation data
    Cli q = Cli.run("quantize", "--model", model.toString(), "--stats", tmp.resolve("p1").toString(), "--out",
        tmp.resolve("requantized").toString(), "--min-sqnr", "200", "--eval-data", data.toString(),
        "--sensitivity-samples", "3");
    assertEquals(0, q.code(), q.err());
    assertEquals(steps, JSON.readTree(tmp.resolve("requantized/run.json").toFile()).get("fallback").get("steps"));
  }

  @Test
  void reshapeToAConstantTargetAndSqueezeOfAxisZero(SparkSession spark) throws Exception {
    // x [1,8,6,6] -> Reshape [8,36] -> MatMul [36,4] -> Reshape [1,8,2,2]
    Path reshape = model("reshape.onnx",
        List.of(TestGraphs.node("Reshape", "r1", List.of("x", "s1"), List.of("r")),
            TestGraphs.node("MatMul", "mm", List.of("r", "w"), List.of("m")),
            TestGraphs.node("Reshape", "r2", List.of("m", "s2"), List.of("y"))),
        TestGraphs.floatInfo("x", 1, 8, 6, 6), List.of("y"),
        List.of(int64s("s1", 8, 36), int64s("s2", 1, 8, 2, 2),
            TestGraphs.floatTensor("w", new long[] {36, 4}, TestGraphs.randomFloats(144, 5))),
        List.of("r", "m", "y"));
    float[] x = gaussians(5 * 288, 6);
    Path data = tmp.resolve("x1.npy");
    Npy.writeFloat32(data, x, new long[] {5, 1, 8, 6, 6});
    Cli one = calibrate(reshape, data, "r1", "--partitions", "1");
    assertEquals(0, one.code(), one.err());
    Cli three = calibrate(reshape, data, "r3", "--partitions", "3");
    assertEquals(0, three.code(), three.err());
    assertSameStats("r1", "r3");
    assertOracle("r1", oracle(tmp.resolve("oracle-reshape.onnx"), "x", x, new long[] {1, 8, 6, 6}, 5),
        List.of("r", "m"));

    // x [1,4,3] -> Squeeze(axis 0) -> MatMul [3,2]
    Path squeeze = model("squeeze.onnx",
        List.of(TestGraphs.node("Squeeze", "sq", List.of("x", "axes"), List.of("s")),
            TestGraphs.node("MatMul", "mm", List.of("s", "w"), List.of("y"))),
        TestGraphs.floatInfo("x", 1, 4, 3), List.of("y"),
        List.of(int64s("axes", 0), TestGraphs.floatTensor("w", new long[] {3, 2}, TestGraphs.randomFloats(6, 7))),
        List.of("s", "y"));
    float[] xs = gaussians(6 * 12, 8);
    Path sqData = tmp.resolve("xs.npy");
    Npy.writeFloat32(sqData, xs, new long[] {6, 1, 4, 3});
    Cli sq1 = calibrate(squeeze, sqData, "s1", "--partitions", "1");
    assertEquals(0, sq1.code(), sq1.err());
    Cli sq3 = calibrate(squeeze, sqData, "s3", "--partitions", "3");
    assertEquals(0, sq3.code(), sq3.err());
    assertSameStats("s1", "s3");
    assertOracle("s1", oracle(tmp.resolve("oracle-squeeze.onnx"), "x", xs, new long[] {1, 4, 3}, 6), List.of("s", "y"));
  }

  @Test
  void oneWholeInputPerFile(SparkSession spark) throws Exception {
    // x [3,7] -> Add a [3,7] constant -> MatMul [7,2]
    Path model = model("x37.onnx",
        List.of(TestGraphs.node("Add", "add", List.of("x", "c"), List.of("a")),
            TestGraphs.node("MatMul", "mm", List.of("a", "w"), List.of("y"))),
        TestGraphs.floatInfo("x", 3, 7), List.of("y"),
        List.of(TestGraphs.floatTensor("c", new long[] {3, 7}, TestGraphs.randomFloats(21, 9)),
            TestGraphs.floatTensor("w", new long[] {7, 2}, TestGraphs.randomFloats(14, 10))),
        List.of("a", "y"));
    float[] x = gaussians(5 * 21, 11);
    Path dir = tmp.resolve("files");
    Files.createDirectories(dir);
    for (int f = 0; f < 5; f++) {
      Npy.writeFloat32(dir.resolve("s" + f + ".npy"), Arrays.copyOfRange(x, f * 21, (f + 1) * 21), new long[] {3, 7});
    }
    Cli one = calibrate(model, dir, "f1", "--partitions", "1");
    assertEquals(0, one.code(), one.err());
    Cli three = calibrate(model, dir, "f3", "--partitions", "3");
    assertEquals(0, three.code(), three.err());
    assertSameStats("f1", "f3");
    assertOracle("f1", oracle(tmp.resolve("oracle-x37.onnx"), "x", x, new long[] {3, 7}, 5), List.of("a", "y"));
    assertEquals(5, JSON.readTree(tmp.resolve("f1/run.json").toFile()).get("samples").asInt());
  }

  @Test
  void aScalarInputMakesTheRunWhole(SparkSession spark) throws Exception {
    // x [5,5] -> MatMul [5,5] -> Mul by the scalar input s []
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm", List.of("x", "w"), List.of("m")),
            TestGraphs.node("Mul", "mul", List.of("m", "s"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 5, 5), scalar("s")), List.of(TestGraphs.floatInfo("y"), TestGraphs.floatInfo("m")),
        List.of(TestGraphs.floatTensor("w", new long[] {5, 5}, TestGraphs.randomFloats(25, 12))));
    Path model = tmp.resolve("scalar.onnx");
    OnnxModels.save(m, model);
    float[] x = gaussians(4 * 25, 13);
    float[] s = gaussians(4, 14);
    Npy.writeFloat32(tmp.resolve("xs.npy"), x, new long[] {4, 5, 5});
    Npy.writeFloat32(tmp.resolve("ss.npy"), s, new long[] {4});
    Cli c = Cli.run("calibrate", "--model", model.toString(), "--data", "x=" + tmp.resolve("xs.npy"),
        "--data", "s=" + tmp.resolve("ss.npy"), "--out", tmp.resolve("out").toString(), "--partitions", "2");
    assertEquals(0, c.code(), c.err());
    Map<String, float[]> range = new LinkedHashMap<>();
    for (int k = 0; k < 4; k++) {
      float[] xk = Arrays.copyOfRange(x, k * 25, (k + 1) * 25);
      Map<String, float[]> out = new LinkedHashMap<>(Ort.run(model, Map.of("x", xk, "s", new float[] {s[k]}),
          Map.of("x", new long[] {5, 5}, "s", new long[0])));
      out.put("x", xk);
      out.put("s", new float[] {s[k]});
      out.forEach((name, v) -> {
        float[] r = range.computeIfAbsent(name, n -> new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
        for (float f : v) {
          r[0] = Math.min(r[0], f);
          r[1] = Math.max(r[1], f);
        }
      });
    }
    assertOracle("out", range, List.of("x", "m"));
    assertEquals("whole", JSON.readTree(tmp.resolve("out/run.json").toFile()).get("feed").asText());
    Cli inspect = Cli.run("inspect", "--model", model.toString());
    assertEquals(0, inspect.code(), inspect.err());
    assertTrue(inspect.out().contains("batch: none (whole inputs [5,5], [], run one at a time)"), inspect.out());
  }

  private static ValueInfoProto scalar(String name) {
    ValueInfoProto f = TestGraphs.floatInfo(name, 1);
    return f.toBuilder().setType(f.getType().toBuilder().setTensorType(f.getType().getTensorType().toBuilder()
        .setShape(ai.onnx.proto.OnnxMl.TensorShapeProto.getDefaultInstance()))).build();
  }

  @Test
  void rowsTakeTheRunsForm() {
    dev.qcal.data.InputSpec x2 = new dev.qcal.data.InputSpec("x", new long[] {3}, dev.qcal.data.ElemType.FLOAT32,
        false, 2, false);
    dev.qcal.data.InputSpec x1 = new dev.qcal.data.InputSpec("y", new long[] {3}, dev.qcal.data.ElemType.FLOAT32,
        false, 1, false);
    // a whole input [2,3] in a run of rows: its two rows, in order
    dev.qcal.data.Sample whole = new dev.qcal.data.Sample(new Object[] {new float[] {1, 2, 3, 4, 5, 6}},
        new long[][] {{2, 3}}, "f.npy");
    List<dev.qcal.data.Sample> rows = WholeInputs.normalize(whole, List.of(x2), false);
    assertEquals(2, rows.size());
    assertArrayEquals(new float[] {1, 2, 3}, (float[]) rows.get(0).values()[0]);
    assertArrayEquals(new float[] {4, 5, 6}, (float[]) rows.get(1).values()[0]);
    assertArrayEquals(new long[] {3}, rows.get(1).shapes()[0]);
    // a leading dimension of 1: added in a whole run, cut in a run of rows; the values as they are
    dev.qcal.data.Sample row = new dev.qcal.data.Sample(new Object[] {new float[] {7, 8, 9}}, new long[][] {{3}}, "r");
    assertArrayEquals(new long[] {1, 3}, WholeInputs.normalize(row, List.of(x1), true).get(0).shapes()[0]);
    dev.qcal.data.Sample full = new dev.qcal.data.Sample(new Object[] {new float[] {7, 8, 9}}, new long[][] {{1, 3}},
        "r");
    assertArrayEquals(new long[] {3}, WholeInputs.normalize(full, List.of(x1), false).get(0).shapes()[0]);
    // a row without the leading dimension in a whole run of a first dimension 2: refused naming both shapes
    dev.qcal.data.Sample short2 = new dev.qcal.data.Sample(new Object[] {new float[] {1, 2, 3}}, new long[][] {{3}},
        "g.npy row 4");
    dev.qcal.data.BadRecordException e = org.junit.jupiter.api.Assertions.assertThrows(
        dev.qcal.data.BadRecordException.class, () -> WholeInputs.normalize(short2, List.of(x2), true));
    assertTrue(e.getMessage().startsWith("g.npy row 4: input 'x' row shape [3]"), e.getMessage());
    assertTrue(e.getMessage().contains("the whole input [2,3] or a row [3] without the leading dimension"),
        e.getMessage());
  }

  @Test
  void rowsOfNeitherShapeAndMixedFormsAreRefused(SparkSession spark) throws Exception {
    Path model = matMulAddRelu();
    Path bad = tmp.resolve("bad.npy");
    Npy.writeFloat32(bad, gaussians(3 * 16, 1), new long[] {3, 4, 4});
    Cli c = calibrate(model, bad, "out-bad");
    c.assertBadInput(tmp.resolve("out-bad"), "bad.npy", "[5,5]", "[5]");
    // a run of whole inputs (its first file) meets a file of rows without the leading dimension
    Path dir = tmp.resolve("two-forms");
    Files.createDirectories(dir);
    Npy.writeFloat32(dir.resolve("a.npy"), gaussians(2 * 25, 4), new long[] {2, 5, 5});
    Npy.writeFloat32(dir.resolve("b.npy"), gaussians(3 * 5, 5), new long[] {3, 5});
    Cli rows = calibrate(model, dir, "out-rows");
    rows.assertBadInput(tmp.resolve("out-rows"), "b.npy", "row shape [5]", "[5,5]", "one form for every row");
    // whole inputs are fed as they are: nothing to pad
    Path good = tmp.resolve("good.npy");
    Npy.writeFloat32(good, gaussians(2 * 25, 6), new long[] {2, 5, 5});
    Cli pad = calibrate(model, good, "out-pad", "--pad", "x=0");
    pad.assertBadInput(tmp.resolve("out-pad"), "--pad", "whole inputs");

    // a [5,5] and b [5,3]: a's rows whole, b's rows without the leading dimension
    ModelProto two = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm", List.of("a", "b"), List.of("y"))),
        List.of(TestGraphs.floatInfo("a", 5, 5), TestGraphs.floatInfo("b", 5, 3)), List.of(TestGraphs.floatInfo("y")),
        List.of());
    Path m2 = tmp.resolve("two.onnx");
    OnnxModels.save(two, m2);
    Npy.writeFloat32(tmp.resolve("a.npy"), gaussians(4 * 25, 2), new long[] {4, 5, 5});
    Npy.writeFloat32(tmp.resolve("b.npy"), gaussians(4 * 3, 3), new long[] {4, 3});
    Cli mixed = Cli.run("calibrate", "--model", m2.toString(), "--data", "a=" + tmp.resolve("a.npy"),
        "--data", "b=" + tmp.resolve("b.npy"), "--out", tmp.resolve("out-mixed").toString());
    mixed.assertBadInput(tmp.resolve("out-mixed"), "input 'a' is a whole input [5, 5]",
        "input 'b' is a row [3] without the leading dimension", "one form");
  }
}
