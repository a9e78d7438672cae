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
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate} of a model whose initializers several Convs read (a weight, and a bias as legacy
 * PyTorch exports share identical folded BatchNorm biases): exit 0, one qparams.json entry per quantized
 * copy. It failed with exit 3 after the data pass ("quantized weight 'dN' is not an initializer").
 */
@ExtendWith(SharedSpark.class)
class CalibrateSharedInitializersTest {
  @TempDir Path tmp;

  /** x[N,4,8,8] -> Conv(w, b) -> Relu -> Conv(w, b) -> Relu -> Conv(w2, b) -> y: w read twice, b three times. */
  private Path model() {
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("Conv", "convA", List.of("x", "w", "b"), List.of("a"), TestGraphs.ints("pads", 1, 1, 1, 1)),
            TestGraphs.node("Relu", "reluA", List.of("a"), List.of("ra")),
            TestGraphs.node("Conv", "convB", List.of("ra", "w", "b"), List.of("c"), TestGraphs.ints("pads", 1, 1, 1, 1)),
            TestGraphs.node("Relu", "reluB", List.of("c"), List.of("rc")),
            TestGraphs.node("Conv", "convC", List.of("rc", "w2", "b"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 4, 8, 8)),
        List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w", new long[] {4, 4, 3, 3}, TestGraphs.randomFloats(144, 1)),
            TestGraphs.floatTensor("w2", new long[] {4, 4, 1, 1}, TestGraphs.randomFloats(16, 2)),
            TestGraphs.floatTensor("b", new long[] {4}, TestGraphs.randomFloats(4, 3))));
    Path f = tmp.resolve("shared.onnx");
    OnnxModels.save(m, f);
    return f;
  }

  @Test
  void calibratesAModelWithSharedWeightsAndBiases(SparkSession spark) throws Exception {
    Path model = model();
    Files.createDirectories(tmp.resolve("data"));
    Npy.writeFloat32(tmp.resolve("data/0.npy"), TestGraphs.randomFloats(6 * 256, 4), new long[] {6, 4, 8, 8});
    Path out = tmp.resolve("out");

    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", tmp.resolve("data").toString(),
        "--out", out.toString(), "--batch-size", "2");

    assertEquals(0, r.code(), r.err());
    JsonNode weights = new ObjectMapper().readTree(out.resolve("qparams.json").toFile()).get("weights");
    java.util.Set<String> names = new java.util.TreeSet<>();
    weights.fieldNames().forEachRemaining(names::add);
    // w once (convA and convB agree), w2 once, b once per distinct input x weight scale (three Convs)
    assertEquals(Set.of("w", "w2", "b", "b@convB", "b@convC"), names);
    assertEquals("bias", weights.get("b@convC").get("role").asText());
    ModelProto q = OnnxModels.load(out.resolve("quantized.onnx"));
    long int32 = q.getGraph().getInitializerList().stream().filter(t -> t.getDataType() == 6).count();
    assertEquals(3, int32, "three int32 copies of b");
    assertTrue(Files.isRegularFile(out.resolve("report.html")));
    String notes = new ObjectMapper().readTree(out.resolve("run.json").toFile()).findValue("weight_notes").toString();
    assertTrue(notes.contains("'b@convB' in qparams.json") && notes.contains("'b@convC' in qparams.json"), notes);
  }
}
