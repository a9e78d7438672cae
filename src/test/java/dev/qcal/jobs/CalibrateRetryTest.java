package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A task that fails on its first attempt and is retried gives the same bytes as a clean run. */
class CalibrateRetryTest {
  @TempDir Path tmp;

  private Path calibrate(String name) {
    Path out = tmp.resolve(name);
    Cli r = Cli.run("calibrate", "--model", ExampleData.MODEL.toString(),
        "--data", ExampleData.small().resolve("x").toString(), "--out", out.toString(), "--partitions", "3");
    assertEquals(0, r.code(), r.err());
    return out;
  }

  @Test
  void retriedTaskGivesIdenticalOutputs() throws Exception {
    SharedSpark.session();
    Path clean = calibrate("clean");
    SharedSpark.stop();
    SparkSession retrying = SparkSession.builder().master("local[2,3]").appName("qcal-retry-test")
        .config("spark.ui.enabled", "false").config(FaultHooks.FAIL_FIRST_ATTEMPT, "1").getOrCreate();
    try {
      Path retried = calibrate("retried");
      var tracker = retrying.sparkContext().statusTracker();
      int[] jobs = tracker.getJobIdsForGroup("qcal-observe");
      assertEquals(1, jobs.length);
      int failedTasks = 0;
      for (int stage : tracker.getJobInfo(jobs[0]).get().stageIds()) {
        failedTasks += tracker.getStageInfo(stage).get().numFailedTasks();
      }
      assertEquals(1, failedTasks, "the injected failure happened once and was retried");
      assertArrayEquals(Files.readAllBytes(clean.resolve("qparams.json")),
          Files.readAllBytes(retried.resolve("qparams.json")));
      assertArrayEquals(Files.readAllBytes(clean.resolve("stats/stats.bin")),
          Files.readAllBytes(retried.resolve("stats/stats.bin")));
      assertArrayEquals(Files.readAllBytes(clean.resolve("quantized.onnx")),
          Files.readAllBytes(retried.resolve("quantized.onnx")));
    } finally {
      retrying.stop();
      SparkSession.clearActiveSession();
      SparkSession.clearDefaultSession();
    }
  }

  @Test
  void withoutRetriesTheInjectedFailureFailsTheRun() {
    // proves the injection fires: local[2] allows no retry, so the run must fail with exit code 3
    SharedSpark.stop();
    SparkSession once = SparkSession.builder().master("local[2]").appName("qcal-no-retry-test")
        .config("spark.ui.enabled", "false").config(FaultHooks.FAIL_FIRST_ATTEMPT, "0").getOrCreate();
    try {
      Cli r = Cli.run("calibrate", "--model", ExampleData.MODEL.toString(),
          "--data", ExampleData.small().resolve("x").toString(), "--out", tmp.resolve("o").toString());
      assertEquals(3, r.code(), r.err());
      assertEquals(false, Files.exists(tmp.resolve("o")));
      // one line naming the root cause and a hint, no stack trace without --verbose
      List<String> lines = r.err().lines().filter(l -> l.startsWith("qcal: ") || l.startsWith("(") || l.startsWith("\tat "))
          .toList();
      assertEquals(2, lines.size(), r.err());
      assertTrue(lines.get(0).startsWith("qcal: failed: "), r.err());
      assertEquals("(run with --verbose for the stack trace)", lines.get(1));
    } finally {
      once.stop();
      SparkSession.clearActiveSession();
      SparkSession.clearDefaultSession();
    }
  }
}
