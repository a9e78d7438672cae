package dev.qcal.jobs;

import dev.qcal.data.Sample;
import dev.qcal.io.AtomicOutput;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;

/**
 * Fault injection for tests, set as {@code spark.qcal.test.*} session settings: each hook makes a run
 * fail or slow down where a real fault would, and never changes a result. Unset, every hook does nothing.
 */
public final class FaultHooks {
  /**
   * The first attempt of this partition's observe task fails after it has done all its work, so Spark
   * retries it. Results must not change.
   */
  public static final String FAIL_FIRST_ATTEMPT = "spark.qcal.test.failFirstAttemptOfPartition";
  /**
   * The write fails right after this file was copied into the output's temporary sibling (e.g.
   * {@code qparams.json}), as a crash mid-write would.
   */
  public static final String FAIL_WRITE_AFTER = "spark.qcal.test.failWriteAfter";
  /**
   * Observe tasks sleep this many milliseconds per sample, so a test can kill an executor JVM while its
   * tasks run. Changes timing only, never a statistic.
   */
  public static final String SLOW_SAMPLE_MILLIS = "spark.qcal.test.slowSampleMillis";

  private final SparkConf conf;

  FaultHooks(SparkConf conf) {
    this.conf = conf;
  }

  /** The partition whose first observe attempt fails ({@link #FAIL_FIRST_ATTEMPT}), -1 for none. */
  int failFirstAttemptOf() {
    return conf.getInt(FAIL_FIRST_ATTEMPT, -1);
  }

  /** Fails the running task if it is the first attempt of partition {@code failFirstAttemptOf}. */
  static void failFirstAttempt(int failFirstAttemptOf) {
    TaskContext task = TaskContext.get();
    if (task.partitionId() == failFirstAttemptOf && task.attemptNumber() == 0) {
      throw new IllegalStateException("qcal: injected failure of the first attempt of partition "
          + failFirstAttemptOf + " (" + FAIL_FIRST_ATTEMPT + ")");
    }
  }

  /** The {@link #SLOW_SAMPLE_MILLIS} hook: the same samples, each delayed. */
  JavaRDD<Sample> slowDown(JavaRDD<Sample> samples) {
    int millis = conf.getInt(SLOW_SAMPLE_MILLIS, 0);
    return millis <= 0 ? samples : samples.map(s -> {
      Thread.sleep(millis);
      return s;
    });
  }

  /** The {@link #FAIL_WRITE_AFTER} hook: {@code out} fails right after copying that file. */
  void arm(AtomicOutput out) {
    String failAfter = conf.get(FAIL_WRITE_AFTER, null);
    if (failAfter != null) {
      out.onStep(step -> {
        if (step.equals("copied:" + failAfter)) {
          throw new IllegalStateException("qcal: injected failure after writing " + failAfter
              + " (" + FAIL_WRITE_AFTER + ")");
        }
      });
    }
  }
}
