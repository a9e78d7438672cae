package dev.qcal.jobs;

import dev.qcal.io.RunReport;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * What every stage of one command shares: the Spark session, a scratch directory, the CPUs of a task,
 * the progress line and the test fault hooks. {@link #stage} runs one stage: it names the Spark job group
 * (what the UI and the status tracker show), tells the progress line and times the stage into
 * {@link #report()}. Closing it ends the progress, clears the job group and deletes the scratch directory.
 */
final class JobContext implements AutoCloseable {
  /** The stages of qcal's commands: the progress line's name, the job group and the key of its timing. */
  enum Stage {
    PREPARE("prepare", "prepare"),
    OBSERVE("observe", "observe_and_reduce"),
    CHOOSE_RANGES("choose ranges", "choose_ranges_and_quantize"),
    FALLBACK("fallback", "fallback"),
    EVALUATE("evaluate", "evaluate"),
    SENSITIVITY("sensitivity", "sensitivity"),
    WRITE("write", "write");

    private final String display;
    private final String timing;

    Stage(String display, String timing) {
      this.display = display;
      this.timing = timing;
    }

    /** The key of this stage's time in {@code run.json}'s {@code stage_seconds}. */
    String timing() {
      return timing;
    }

    /** The Spark job group id of this stage's jobs. */
    String group() {
      return "qcal-" + display.replace(' ', '-');
    }
  }

  private final SparkSession spark;
  private final JavaSparkContext jsc;
  private final WorkDir workDir;
  private final JobProgress progress;
  private final RunReport report = new RunReport();
  private final long startNanos = System.nanoTime();
  private Stage current;
  private long stageStartNanos;
  private boolean timed;

  private JobContext(SparkSession spark, WorkDir workDir, JobProgress progress) {
    this.spark = spark;
    this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    this.workDir = workDir;
    this.progress = progress;
  }

  /** A context with a new scratch directory named {@code workPrefix...}. */
  static JobContext open(SparkSession spark, String workPrefix, JobProgress progress) {
    return new JobContext(spark, WorkDir.create(workPrefix), progress);
  }

  /**
   * Runs one stage: sets its job group with {@code description}, tells the progress line, and records its
   * wall time in {@link #report()} when {@code work} returns (unless {@link #stageTimed} did already).
   */
  <T> T stage(Stage stage, String description, Supplier<T> work) {
    current = stage;
    stageStartNanos = System.nanoTime();
    timed = false;
    progress.stage(stage.display);
    describe(description);
    T result = work.get();
    stageTimed();
    return result;
  }

  /** Re-describes the running stage's Spark jobs (a stage that runs several kinds of jobs). */
  void describe(String description) {
    describe(jsc, current, description);
  }

  /** Names the Spark jobs {@code jsc} runs next as {@code stage}'s, with {@code description}. */
  static void describe(JavaSparkContext jsc, Stage stage, String description) {
    jsc.setJobGroup(stage.group(), description, false);
  }

  /** Records the running stage's wall time now: for a stage that writes its own time (run.json). */
  void stageTimed() {
    if (!timed) {
      report.stage(current.timing, System.nanoTime() - stageStartNanos);
      timed = true;
    }
  }

  /** Seconds since the context was opened. */
  double wallSeconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /** The stage timings recorded so far, and whatever the command adds for its {@code run.json}. */
  RunReport report() {
    return report;
  }

  SparkSession spark() {
    return spark;
  }

  JavaSparkContext jsc() {
    return jsc;
  }

  Configuration hadoopConf() {
    return spark.sparkContext().hadoopConfiguration();
  }

  /** The scratch directory, deleted on close. */
  Path work() {
    return workDir.path();
  }

  /** {@code spark.task.cpus}: the threads one ONNX Runtime session may use. */
  int taskCpus() {
    return spark.sparkContext().conf().getInt("spark.task.cpus", 1);
  }

  JobProgress progress() {
    return progress;
  }

  /** The test fault hooks this session's configuration sets. */
  FaultHooks faults() {
    return new FaultHooks(spark.sparkContext().conf());
  }

  @Override
  public void close() {
    progress.finished();
    jsc.clearJobGroup();
    workDir.close();
  }
}
