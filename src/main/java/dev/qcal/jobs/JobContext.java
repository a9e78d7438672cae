package dev.qcal.jobs;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * What every stage of one command shares: the Spark session, a scratch directory, the CPUs of a task,
 * the progress line and the test fault hooks. {@link #stage} runs one stage: it names the Spark job group
 * (what the UI and the status tracker show), tells the progress line and times the stage into
 * {@link #stageSeconds()}. Closing it ends the progress, clears the job group and deletes the scratch
 * directory. A command that runs Spark only for some stages ({@code quantize}) opens it without a session.
 */
final class JobContext implements AutoCloseable {
  /** The stages of qcal's commands: the progress line's name, the job group and the key of its timing. */
  enum Stage {
    READ_STATS("read stats", "read_stats"),
    PREPARE("prepare", "prepare"),
    SMOOTH("smooth quant", "smooth_quant"),
    OBSERVE("observe", "observe_and_reduce"),
    HESSIAN("gptq hessian", "gptq_hessian"),
    CHOOSE_RANGES("choose ranges", "choose_ranges_and_quantize"),
    BIAS_CORRECTION("bias correction", "bias_correction"),
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
  private final Configuration conf;
  private final WorkDir workDir;
  private final JobProgress progress;
  private final Map<String, Double> stageSeconds = new LinkedHashMap<>();
  private final long startNanos = System.nanoTime();
  private Stage current;
  private long stageStartNanos;
  private boolean timed;

  private JobContext(SparkSession spark, Configuration conf, WorkDir workDir, JobProgress progress) {
    this.spark = spark;
    this.jsc = spark == null ? null : JavaSparkContext.fromSparkContext(spark.sparkContext());
    this.conf = conf;
    this.workDir = workDir;
    this.progress = progress;
  }

  /** A context with a new scratch directory named {@code workPrefix...}. */
  static JobContext open(SparkSession spark, String workPrefix, JobProgress progress) {
    return new JobContext(spark, spark.sparkContext().hadoopConfiguration(), WorkDir.create(workPrefix), progress);
  }

  /**
   * A context reading through {@code conf}, with a new scratch directory named {@code workPrefix...} and no
   * progress line; {@code spark} may be null (no stage runs Spark jobs, and none are named).
   */
  static JobContext open(Configuration conf, SparkSession spark, String workPrefix) {
    return new JobContext(spark, conf, WorkDir.create(workPrefix), JobProgress.none());
  }

  /**
   * Runs one stage: sets its job group with {@code description}, tells the progress line, and records its
   * wall time in {@link #stageSeconds()} when {@code work} returns (unless {@link #stageTimed} did already).
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
    if (jsc != null) {
      describe(jsc, current, description);
    }
  }

  /** Names the Spark jobs {@code jsc} runs next as {@code stage}'s, with {@code description}. */
  static void describe(JavaSparkContext jsc, Stage stage, String description) {
    jsc.setJobGroup(stage.group(), description, false);
  }

  /** Records the running stage's wall time now: for a stage that writes its own time (run.json). */
  void stageTimed() {
    if (!timed) {
      stageSeconds.put(current.timing, (System.nanoTime() - stageStartNanos) / 1e9);
      timed = true;
    }
  }

  /**
   * The run's timings so far: wall seconds, {@code samples} over the observe stage's seconds (null when
   * {@code samples} is null or the stage took none), each stage's seconds and the session's start-up.
   */
  RunRecord.Timings timings(Long samples) {
    double observe = seconds(Stage.OBSERVE);
    return new RunRecord.Timings(wallSeconds(), samples != null && observe > 0 ? samples / observe : null,
        stageSeconds, spark == null ? Map.of() : SparkSessions.startupSeconds(spark.sparkContext()));
  }

  /** Seconds since the context was opened. */
  double wallSeconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /** The seconds of each stage timed so far, in the order they ran ({@code run.json}'s {@code stage_seconds}). */
  Map<String, Double> stageSeconds() {
    return Collections.unmodifiableMap(stageSeconds);
  }

  /** The seconds {@code stage} took, 0 when it has not been timed. */
  double seconds(Stage stage) {
    return stageSeconds.getOrDefault(stage.timing, 0.0);
  }

  SparkSession spark() {
    return spark;
  }

  JavaSparkContext jsc() {
    return jsc;
  }

  Configuration hadoopConf() {
    return conf;
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
    if (jsc != null) {
      jsc.clearJobGroup();
    }
    workDir.close();
  }
}
