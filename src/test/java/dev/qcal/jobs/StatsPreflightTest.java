package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.data.DataException;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsMemory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** Who holds statistics states at once, and the channel counts and axes from one sample's shapes. */
class StatsPreflightTest {
  @Test
  void localMastersHoldEverythingInTheDriver() {
    SparkConf conf = new SparkConf(false);
    assertEquals(List.of(new StatsMemory.Holder("driver (local[3]: 3 task slots x 2, and 2 for the final merge)", 100, 8)),
        StatsPreflight.holders("local[3]", conf, 100, 16));
    assertEquals(34, StatsPreflight.holders("local[*]", conf, 100, 16).get(0).copies());
    assertEquals(4, StatsPreflight.holders("local", conf, 100, 16).get(0).copies());
    assertEquals(6, StatsPreflight.holders("local[4,2]", conf.clone().set("spark.task.cpus", "2"), 100, 16).get(0).copies());
  }

  @Test
  void clustersHoldTwoPerExecutorSlotAndTwoInTheDriver() {
    SparkConf conf = new SparkConf(false).set("spark.executor.memory", "2g").set("spark.executor.cores", "4");
    assertEquals(List.of(new StatsMemory.Holder("executor (spark.executor.memory; 4 task slots x 2)", 2L << 30, 8),
        new StatsMemory.Holder("driver (the final merge)", 100, 2)), StatsPreflight.holders("yarn", conf, 100, 16));
    // Spark's defaults: 1g executors of one core
    assertEquals(new StatsMemory.Holder("executor (spark.executor.memory; 1 task slots x 2)", 1L << 30, 2),
        StatsPreflight.holders("spark://h:7077", new SparkConf(false), 100, 16).get(0));
  }

  @Test
  void shapesComeFromOneInferenceAtTheModelsFixedBatchSize(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    // x [4, 3] (batch fixed at 4) -> Relu -> y: a batch of 1 would not run
    var m = dev.qcal.model.TestGraphs.model(13,
        List.of(dev.qcal.model.TestGraphs.node("Relu", "relu", List.of("x"), List.of("y"))),
        List.of(dev.qcal.model.TestGraphs.floatInfo("x", 4, 3)), List.of(dev.qcal.model.TestGraphs.floatInfo("y", 4, 3)),
        List.of());
    java.nio.file.Path file = tmp.resolve("fixed.onnx");
    java.nio.file.Files.write(file, m.toByteArray());
    assertEquals(4, dev.qcal.model.prepare.FixedBatch.of(m, "fixed.onnx"));
    var dynamic = dev.qcal.model.TestGraphs.model(13, m.getGraph().getNodeList(),
        List.of(dev.qcal.model.TestGraphs.batchInput("x", 3)), List.of(dev.qcal.model.TestGraphs.floatInfo("y")), List.of());
    assertEquals(0, dev.qcal.model.prepare.FixedBatch.of(dynamic, "dynamic.onnx"));
    var sample = new dev.qcal.data.Sample(new float[][] {{1f, -2f, 3f}}, new long[][] {{3}}, "s");
    Map<String, long[]> shapes = PaddedBatches.shapes(dev.qcal.runtime.SessionCache.get(
        "preflight-fixed-" + dev.qcal.model.onnx.OnnxModels.sha256(file), file, 1), List.of("x"), sample, List.of("x", "y"),
        4, "fixed.onnx");
    assertEquals(List.of("x", "y"), List.copyOf(shapes.keySet()));
    assertEquals("[4, 3]", java.util.Arrays.toString(shapes.get("x")));
    assertEquals("[4, 3]", java.util.Arrays.toString(shapes.get("y")));
  }

  @Test
  void channelsFollowTheAxesAndAnAxisBeyondTheRankIsRefused() {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("conv", new long[] {1, 8, 4, 4});
    shapes.put("fc", new long[] {1, 10});
    assertEquals(Map.of("conv", 8, "fc", 0), StatsPreflight.channels(StatsConfig.defaults(), shapes));
    assertEquals(Map.of("conv", 8, "fc", 10), StatsPreflight.channels(StatsConfig.defaults().withAxis("fc", 1), shapes));
    DataException e = assertThrows(DataException.class,
        () -> StatsPreflight.channels(StatsConfig.defaults().withAxis("fc", 2), shapes));
    assertEquals("--channel-axis fc=2: tensor 'fc' has rank 2 (shape [1, 10] for one sample), so AXIS must be in [-1, 1]",
        e.getMessage());
    DataException missing = assertThrows(DataException.class,
        () -> StatsPreflight.checkAxisNames(StatsConfig.defaults().withAxis("nope", 1), List.of("conv", "fc")));
    assertTrue(missing.getMessage().startsWith("--channel-axis nope=1: the model has no calibrated tensor 'nope'"),
        missing.getMessage());
  }
}
