package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate --bias-correction} as a whole: the same bytes for any partitioning and batch size, a
 * smaller mean output error where weight rounding is biased, composition with the FP32 fallback, and the
 * options it refuses.
 */
@ExtendWith(SharedSpark.class)
class BiasCorrectionRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private Cli calibrate(Path model, Path data, String name, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data", data.toString(),
        "--out", tmp.resolve(name).toString()));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  @Test
  void partitionsAndBatchSizeDoNotChangeAnyByte(SparkSession spark) throws Exception {
    Path data = ExampleData.small().resolve("x");
    String[][] runs = {{"1", "16"}, {"3", "16"}, {"3", "5"}};
    for (String[] r : runs) {
      Cli c = calibrate(ExampleData.MODEL, data, "p" + r[0] + "-b" + r[1], "--bias-correction", "--partitions", r[0],
          "--batch-size", r[1]);
      assertEquals(0, c.code(), c.err());
    }
    JsonNode bc = JSON.readTree(tmp.resolve("p1-b16/run.json").toFile()).get("algorithms").get("bias_correction");
    // every Conv and MatMul weight of the FP32 example is either corrected or skipped with its reason
    long weightNodes = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(Files.readAllBytes(ExampleData.MODEL)).getGraph()
        .getNodeList().stream().filter(n -> n.getOpType().equals("Conv") || n.getOpType().equals("MatMul")).count();
    assertEquals(weightNodes, bc.get("layers_corrected").asInt() + bc.get("skipped").size(), bc.toString());
    assertEquals(bc.get("layers").size(), bc.get("layers_corrected").asInt());
    assertEquals(JSON.readTree("{}"), bc.get("skipped"), "nothing skipped on the example");
    byte[] plain = Files.readAllBytes(tmp.resolve("p1-b16/quantized.onnx"));
    for (String[] r : runs) {
      Path out = tmp.resolve("p" + r[0] + "-b" + r[1]);
      assertArrayEquals(plain, Files.readAllBytes(out.resolve("quantized.onnx")), out.toString());
      assertArrayEquals(Files.readAllBytes(tmp.resolve("p1-b16/qparams.json")),
          Files.readAllBytes(out.resolve("qparams.json")), out.toString());
    }
  }

  /**
   * y = MatMul(Relu(MatMul(x, w1) + b1), w2) + b2 with int4 per-tensor weights: rounding 2048 weights to 15
   * levels leaves a systematic error in each output channel's mean, which the correction removes. Measured
   * on held-out samples against the FP32 model in ONNX Runtime: the mean over channels of |mean error| must
   * at least halve.
   */
  @Test
  void theMeanOutputErrorOfInt4WeightsDrops(SparkSession spark) throws Exception {
    ModelProto m = TestGraphs.model(21, List.of(
            TestGraphs.node("MatMul", "fc1", List.of("x", "w1"), List.of("h")),
            TestGraphs.node("Add", "add1", List.of("h", "b1"), List.of("hb")),
            TestGraphs.node("Relu", "relu", List.of("hb"), List.of("r")),
            TestGraphs.node("MatMul", "fc2", List.of("r", "w2"), List.of("o")),
            TestGraphs.node("Add", "add2", List.of("o", "b2"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 64)), List.of(TestGraphs.floatInfo("y")), List.of(
            TestGraphs.floatTensor("w1", new long[] {64, 32}, TestGraphs.randomFloats(2048, 21)),
            TestGraphs.floatTensor("b1", new long[] {32}, TestGraphs.randomFloats(32, 22)),
            TestGraphs.floatTensor("w2", new long[] {32, 16}, TestGraphs.randomFloats(512, 23)),
            TestGraphs.floatTensor("b2", new long[] {16}, TestGraphs.randomFloats(16, 24))));
    Path model = tmp.resolve("mlp.onnx");
    OnnxModels.save(m, model);
    Path calib = tmp.resolve("calib");
    Files.createDirectories(calib);
    Npy.writeFloat32(calib.resolve("x.npy"), positive(64 * 64, 1), new long[] {64, 64});
    String[] int4 = {"--weight-type", "int4", "--per-channel", "false"};
    Cli plain = calibrate(model, calib, "plain", int4);
    assertEquals(0, plain.code(), plain.err());
    List<String> corrected = new ArrayList<>(List.of(int4));
    corrected.add("--bias-correction");
    Cli bc = calibrate(model, calib, "bc", corrected.toArray(new String[0]));
    assertEquals(0, bc.code(), bc.err());
    float[] x = positive(128 * 64, 2);
    Map<String, long[]> shapes = Map.of("x", new long[] {128, 64});
    float[] y = Ort.run(model, Map.of("x", x), shapes).get("y");
    double before = meanAbsChannelBias(y, Ort.run(tmp.resolve("plain/quantized.onnx"), Map.of("x", x), shapes).get("y"));
    double after = meanAbsChannelBias(y, Ort.run(tmp.resolve("bc/quantized.onnx"), Map.of("x", x), shapes).get("y"));
    assertTrue(after < before / 2, "mean |per-channel mean error| " + before + " -> " + after);
  }

  private static double meanAbsChannelBias(float[] y, float[] yq) {
    int channels = 16;
    double[] sum = new double[channels];
    for (int i = 0; i < y.length; i++) {
      sum[i % channels] += (double) yq[i] - y[i];
    }
    double total = 0;
    for (double s : sum) {
      total += Math.abs(s / (y.length / channels));
    }
    return total / channels;
  }

  private static float[] positive(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextDouble() * 2);
    }
    return v;
  }

  /**
   * With {@code --min-sqnr}, the nodes the fallback leaves in FP32 keep their original bias and the others get
   * exactly the int32 biases of a run with bias correction alone (the same statistics and corrections).
   */
  /** Three Convs with biases, ReLUs between them, x [N, 3, 8, 8]. */
  private Path threeConvs() throws Exception {
    List<NodeProto> nodes = new ArrayList<>();
    List<ai.onnx.proto.OnnxMl.TensorProto> inits = new ArrayList<>();
    String in = "x";
    long channels = 3;
    for (int k = 1; k <= 3; k++) {
      inits.add(TestGraphs.floatTensor("w" + k, new long[] {6, channels, 3, 3},
          TestGraphs.randomFloats((int) (6 * channels * 9), 30 + k)));
      inits.add(TestGraphs.floatTensor("b" + k, new long[] {6}, TestGraphs.randomFloats(6, 40 + k)));
      nodes.add(TestGraphs.node("Conv", "conv" + k, List.of(in, "w" + k, "b" + k), List.of("c" + k),
          TestGraphs.ints("pads", 1, 1, 1, 1)));
      in = "c" + k;
      if (k < 3) {
        nodes.add(TestGraphs.node("Relu", "relu" + k, List.of(in), List.of("r" + k)));
        in = "r" + k;
      }
      channels = 6;
    }
    ModelProto m = TestGraphs.model(13, nodes, List.of(TestGraphs.batchInput("x", 3, 8, 8)),
        List.of(TestGraphs.floatInfo(in)), inits);
    Path model = tmp.resolve("convs.onnx");
    OnnxModels.save(m, model);
    return model;
  }

  /**
   * With {@code --min-sqnr}, the nodes the fallback leaves in FP32 keep their original bias and the others get
   * exactly the int32 biases of a run with bias correction alone (the same statistics and corrections).
   */
  @Test
  void withTheFallbackOnlyQuantizedNodesAreCorrected(SparkSession spark) throws Exception {
    Path model = threeConvs();
    Path data = tmp.resolve("convs-data");
    Files.createDirectories(data);
    Npy.writeFloat32(data.resolve("x.npy"), positive(32 * 192, 3), new long[] {32, 3, 8, 8});
    Cli alone = calibrate(model, data, "alone", "--bias-correction");
    assertEquals(0, alone.code(), alone.err());
    String[] fallback = {"--bias-correction", "--min-sqnr", "200", "--sensitivity-samples", "4"};
    Cli probe = calibrate(model, data, "probe", fallback);
    assertEquals(0, probe.code(), probe.err());
    JsonNode steps = JSON.readTree(tmp.resolve("probe/run.json").toFile()).get("fallback").get("steps");
    // a target just below step 1's SQNR stops after one step, when step 1 is better than step 0
    double s0 = steps.get(0).get("output_sqnr_db").asDouble();
    double s1 = steps.get(1).get("output_sqnr_db").asDouble();
    assertTrue(s1 > s0 + 0.02, steps.toString());
    Cli c = calibrate(model, data, "fb", "--bias-correction", "--min-sqnr", Double.toString(s1 - 0.01),
        "--sensitivity-samples", "4");
    assertEquals(0, c.code(), c.err());
    JsonNode fb = JSON.readTree(tmp.resolve("fb/run.json").toFile()).get("fallback").get("steps");
    assertEquals(2, fb.size(), fb.toString());
    Set<String> fp32 = new HashSet<>();
    fb.get(1).get("excluded_nodes").forEach(n -> fp32.add(n.asText()));
    // the same nodes left FP32 without bias correction: their biases as the prepared FP32 model has them
    Cli excluded = calibrate(model, data, "excluded", "--exclude-nodes", String.join(",", fp32));
    assertEquals(0, excluded.code(), excluded.err());
    ModelProto original = OnnxModels.load(tmp.resolve("excluded/quantized.onnx"));
    ModelProto withFallback = OnnxModels.load(tmp.resolve("fb/quantized.onnx"));
    ModelProto corrected = OnnxModels.load(tmp.resolve("alone/quantized.onnx"));
    int kept = 0;
    int same = 0;
    for (NodeProto n : withFallback.getGraph().getNodeList()) {
      if (!n.getOpType().equals("Conv") || n.getInputCount() < 3) {
        continue;
      }
      NodeProto dq = BiasCorrectionTest.producer(withFallback, n.getInput(2));
      if (fp32.contains(n.getName())) {
        assertEquals(null, dq, n.getName() + " is FP32 but its bias is dequantized");
        assertArrayEquals(BiasCorrectionTest.floats(BiasCorrectionTest.initializer(original, n.getInput(2))),
            BiasCorrectionTest.floats(BiasCorrectionTest.initializer(withFallback, n.getInput(2))), n.getName());
        kept++;
      } else if (dq != null) {
        NodeProto ref = BiasCorrectionTest.node(corrected, n.getName());
        NodeProto refDq = BiasCorrectionTest.producer(corrected, ref.getInput(2));
        assertArrayEquals(BiasCorrectionTest.ints(BiasCorrectionTest.initializer(corrected, refDq.getInput(0))),
            BiasCorrectionTest.ints(BiasCorrectionTest.initializer(withFallback, dq.getInput(0))), n.getName());
        same++;
      }
    }
    assertTrue(kept > 0 && same > 0, kept + " FP32 Convs, " + same + " corrected ones");
  }

  /**
   * A model with a fixed batch of 4 fed 10 samples (the last batch padded with 2 rows) gets the int32 bias of
   * the same model with a dynamic batch: padded rows are not counted in the means.
   */
  @Test
  void aFixedBatchCountsOnlyRealRows(SparkSession spark) throws Exception {
    Path data = tmp.resolve("fixed-data");
    Files.createDirectories(data);
    Npy.writeFloat32(data.resolve("x.npy"), positive(10 * 192, 7), new long[] {10, 3, 8, 8});
    long[][] ints = new long[2][];
    for (int k = 0; k < 2; k++) {
      ai.onnx.proto.OnnxMl.ValueInfoProto input = k == 0 ? TestGraphs.batchInput("x", 3, 8, 8)
          : TestGraphs.floatInfo("x", 4, 3, 8, 8);
      ModelProto m = TestGraphs.model(13, List.of(TestGraphs.node("Conv", "layer", List.of("x", "w", "b"),
              List.of("y"))), List.of(input), List.of(TestGraphs.floatInfo("y")), List.of(
              TestGraphs.floatTensor("w", new long[] {4, 3, 3, 3}, TestGraphs.randomFloats(108, 8)),
              TestGraphs.floatTensor("b", new long[] {4}, TestGraphs.randomFloats(4, 9))));
      Path model = tmp.resolve("batch" + k + ".onnx");
      OnnxModels.save(m, model);
      Cli c = calibrate(model, data, "batch" + k, "--bias-correction", "--batch-size", "4");
      assertEquals(0, c.code(), c.err());
      ModelProto q = OnnxModels.load(tmp.resolve("batch" + k + "/quantized.onnx"));
      NodeProto dq = BiasCorrectionTest.producer(q, BiasCorrectionTest.node(q, "layer").getInput(2));
      ints[k] = BiasCorrectionTest.ints(BiasCorrectionTest.initializer(q, dq.getInput(0)));
    }
    assertArrayEquals(ints[0], ints[1]);
  }

  /** A Gemm whose C is [1, N] is skipped with the reason, recorded in run.json; the other layer is corrected. */
  @Test
  void aGemmBiasThatIsNotOneDimensionalIsSkippedWithTheReason(SparkSession spark) throws Exception {
    ModelProto m = TestGraphs.model(13, List.of(
            TestGraphs.node("Gemm", "g1", List.of("x", "w1", "c1"), List.of("h")),
            TestGraphs.node("Relu", "relu", List.of("h"), List.of("r")),
            TestGraphs.node("Gemm", "g2", List.of("r", "w2", "c2"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 16)), List.of(TestGraphs.floatInfo("y")), List.of(
            TestGraphs.floatTensor("w1", new long[] {16, 8}, TestGraphs.randomFloats(128, 51)),
            TestGraphs.floatTensor("c1", new long[] {1, 8}, TestGraphs.randomFloats(8, 52)),
            TestGraphs.floatTensor("w2", new long[] {8, 4}, TestGraphs.randomFloats(32, 53)),
            TestGraphs.floatTensor("c2", new long[] {4}, TestGraphs.randomFloats(4, 54))));
    Path model = tmp.resolve("gemms.onnx");
    OnnxModels.save(m, model);
    Path data = tmp.resolve("gemm-data");
    Files.createDirectories(data);
    Npy.writeFloat32(data.resolve("x.npy"), positive(16 * 16, 5), new long[] {16, 16});
    Cli c = calibrate(model, data, "gemms", "--bias-correction");
    assertEquals(0, c.code(), c.err());
    JsonNode bc = JSON.readTree(tmp.resolve("gemms/run.json").toFile()).get("algorithms").get("bias_correction");
    assertEquals(1, bc.get("layers_corrected").asInt(), bc.toString());
    assertEquals("g2", bc.get("layers").get(0).get("node").asText(), bc.toString());
    assertEquals("its bias 'c1' is not a float initializer of shape [8]", bc.get("skipped").get("g1").asText());
  }

  @Test
  void padAndMaskAreRefusedInOneLine() throws Exception {
    Path data = ExampleData.small().resolve("x");
    calibrate(ExampleData.MODEL, data, "pad", "--bias-correction", "--pad", "x=0")
        .assertBadInput(tmp.resolve("pad"), "--bias-correction", "--pad or --mask");
    calibrate(ExampleData.MODEL, data, "mask", "--bias-correction", "--mask", "x")
        .assertBadInput(tmp.resolve("mask"), "--bias-correction", "--pad or --mask");
    assertFalse(Files.exists(tmp.resolve("mask")));
  }
}
