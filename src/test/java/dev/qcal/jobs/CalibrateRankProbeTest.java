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

/**
 * An opset-9 model whose upgrade needs a rank no static inference can tell is calibrated: the rank is
 * learned from one run on the shapes of the first sample, read before the data pass.
 */
@ExtendWith(SharedSpark.class)
class CalibrateRankProbeTest {
  @TempDir Path tmp;

  @Test
  void theFirstSampleTellsTheRankTheUpgradeNeeds(SparkSession spark) throws Exception {
    // x [N, 1, 4] reshaped to its own shape picked through NonZero (a length known only at run time), then
    // MatMul and Softmax(axis 2), whose meaning at opset 13 depends on that rank
    ModelProto m = TestGraphs.model(9,
        List.of(TestGraphs.node("Shape", "shape", List.of("x"), List.of("sx")),
            TestGraphs.node("Cast", "to_float", List.of("sx"), List.of("sxf"), TestGraphs.i("to", 1)),
            TestGraphs.node("Greater", "positive", List.of("sxf", "half"), List.of("gt")),
            TestGraphs.node("NonZero", "nonzero", List.of("gt"), List.of("nz")),
            TestGraphs.node("Squeeze", "indices", List.of("nz"), List.of("idx"), TestGraphs.ints("axes", 0)),
            TestGraphs.node("Gather", "pick", List.of("sx", "idx"), List.of("target")),
            TestGraphs.node("Reshape", "same", List.of("x", "target"), List.of("xr")),
            TestGraphs.node("MatMul", "mm", List.of("xr", "w"), List.of("z")),
            TestGraphs.node("Softmax", "sm", List.of("z"), List.of("y"), TestGraphs.i("axis", 2))),
        List.of(TestGraphs.batchInput("x", 1, 4)), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w", new long[] {4, 3}, TestGraphs.randomFloats(12, 1)),
            TestGraphs.floatTensor("half", new long[] {}, 0.5f)));
    Path model = tmp.resolve("nonzero9.onnx");
    OnnxModels.save(m, model);
    Random r = new Random(3);
    float[] x = new float[10 * 4];
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (int k = 0; k < x.length; k++) {
      x[k] = (float) r.nextGaussian();
      min = Math.min(min, x[k]);
      max = Math.max(max, x[k]);
    }
    Path data = tmp.resolve("x.npy");
    Npy.writeFloat32(data, x, new long[] {10, 1, 4});
    Path out = tmp.resolve("out");
    Cli c = Cli.run("calibrate", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
        "--batch-size", "4");
    assertEquals(0, c.code(), c.err());
    JsonNode q = new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
    assertEquals(10, q.get("samples").asLong());
    assertEquals(min, q.get("activations").get("xr").get("min").floatValue());
    assertEquals(max, q.get("activations").get("xr").get("max").floatValue());
    assertTrue(Files.exists(out.resolve("quantized.onnx")));
  }
}
