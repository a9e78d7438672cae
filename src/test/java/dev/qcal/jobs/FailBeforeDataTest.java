package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What would fail after the data pass fails before any data is read: a model whose Q/DQ rewrite is
 * rejected (a MatMul weight holding NaN: ONNX Runtime runs it, verification matches NaN with NaN, the
 * weight cannot be quantized) is refused during preparation, and {@code inspect} reports the same.
 */
@ExtendWith(SharedSpark.class)
class FailBeforeDataTest {
  @TempDir Path tmp;

  /** y = x @ w, x [N, 4], w [4, 3] with w[0][1] NaN. */
  private Path nanWeightModel() {
    float[] w = TestGraphs.randomFloats(12, 1);
    w[1] = Float.NaN;
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm", List.of("x", "w"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 4)), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w", new long[] {4, 3}, w)));
    Path f = tmp.resolve("nan-weight.onnx");
    OnnxModels.save(m, f);
    return f;
  }

  @Test
  void aRewriteFailureIsFoundBeforeAnyDataIsRead(SparkSession spark) throws Exception {
    Path model = nanWeightModel();
    // data that would itself fail as soon as it is read: a .npy file that is not one
    Path data = tmp.resolve("data");
    Files.createDirectories(data);
    Files.writeString(data.resolve("x.npy"), "not an npy file");
    Path out = tmp.resolve("out");
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data.toString(), "--out", out.toString());
    r.assertBadInput(out, "nan-weight.onnx", "before reading any data", "NaN");
    // and data that does not exist at all
    Cli missing = Cli.run("calibrate", "--model", model.toString(), "--data", tmp.resolve("none").toString(),
        "--out", out.toString());
    missing.assertBadInput(out, "nan-weight.onnx", "before reading any data", "NaN");

    Cli inspect = Cli.run("inspect", "--model", model.toString());
    assertEquals(2, inspect.code(), inspect.err());
    assertTrue(inspect.errorLine().contains("before reading any data") && inspect.errorLine().contains("NaN"),
        inspect.errorLine());
    assertEquals(r.errorLine(), inspect.errorLine(), "inspect reports what calibrate fails on");
  }

  @Test
  void withGoodDataTheRunFailsAsBadInputAndWritesNothing(SparkSession spark) throws Exception {
    Path model = nanWeightModel();
    Path data = tmp.resolve("data");
    Files.createDirectories(data);
    Npy.writeFloat32(data.resolve("x.npy"), TestGraphs.randomFloats(20, 2), new long[] {5, 4});
    Path out = tmp.resolve("out");
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data.toString(), "--out", out.toString());
    r.assertBadInput(out, "nan-weight.onnx", "before reading any data", "NaN");
  }

  @Test
  void aRangeMethodWithoutItsHistogramsFailsBeforeAnyDataIsRead(SparkSession spark) throws Exception {
    Path data = tmp.resolve("data");
    Files.createDirectories(data);
    Files.writeString(data.resolve("x.npy"), "not an npy file");
    Path out = tmp.resolve("out");
    Cli r = Cli.run("calibrate", "--model", dev.qcal.testing.ExampleData.MODEL.toString(), "--data", data.toString(),
        "--out", out.toString(), "--method", "entropy", "--histogram-bins", "0");
    r.assertBadInput(out, "'entropy' needs a histogram", "before reading any data");
  }

  /** No false alarm: every method and activation type rehearses cleanly on the example model. */
  @Test
  void theRehearsalPassesWhereTheRunWould() throws Exception {
    try (WorkDir work = WorkDir.create("qcal-rehearsal-test-")) {
      dev.qcal.model.prepare.ModelPreparer.Unverified u = dev.qcal.model.prepare.ModelPreparer.transform(
          dev.qcal.testing.ExampleData.MODEL, work.path(), dev.qcal.model.prepare.ModelPreparer.TARGET_OPSET);
      RangeOptions d = RangeOptions.defaults();
      dev.qcal.model.plan.CalibrationPlan plan = dev.qcal.model.plan.CalibrationPlan.of(u.model(), d.plan());
      for (String method : dev.qcal.calib.Calibrators.METHODS) {
        for (dev.qcal.quant.QuantType type : List.of(dev.qcal.quant.QuantType.UINT8, dev.qcal.quant.QuantType.INT8)) {
          for (boolean symmetric : new boolean[] {false, true}) {
            RangeOptions o = new RangeOptions(method, 99.99, type, symmetric, false, false, d.weights(), null,
                d.tensorRtVersion(), d.plan());
            Rehearsal.run(u.model(), work.path(), plan, o, dev.qcal.stats.StatsConfig.defaults(), java.util.Map.of(),
                "example");
          }
        }
      }
      try (var left = Files.list(work.path())) {
        assertEquals(List.of(), left.map(p -> p.getFileName().toString()).filter(n -> n.contains("rehearsal")
            || n.startsWith("qcal-quantized-")).toList(), "the rehearsal leaves nothing behind");
      }
    }
  }
}
