package dev.qcal.cli;

import dev.qcal.jobs.JobProgress;
import java.io.PrintWriter;
import java.util.Locale;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.SparkStatusTracker;
import org.apache.spark.sql.SparkSession;

/**
 * The console progress line of a running job on standard error: the stage, and while observing
 * samples done / total, rate and ETA (local masters) or tasks done / total (clusters). On a terminal
 * one line is redrawn twice a second; otherwise (a log file, an Airflow task) a line is printed every
 * {@value #LOG_EVERY_SECONDS} seconds while observing.
 */
final class ProgressLine implements AutoCloseable {
  static final int LOG_EVERY_SECONDS = 30;
  private final PrintWriter err;
  private final SparkSession spark;
  private final boolean terminal;
  private final JobProgress job = new JobProgress();
  private final Thread thread;
  private volatile boolean running = true;
  private int width;

  private ProgressLine(PrintWriter err, SparkSession spark, boolean terminal) {
    this.err = err;
    this.spark = spark;
    this.terminal = terminal;
    this.thread = new Thread(this::loop, "qcal-progress");
    thread.setDaemon(true);
  }

  static ProgressLine start(PrintWriter err, SparkSession spark) {
    ProgressLine p = new ProgressLine(err, spark, System.console() != null);
    p.thread.start();
    return p;
  }

  JobProgress job() {
    return job;
  }

  private void loop() {
    long lastLog = System.nanoTime();
    while (running) {
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        return;
      }
      String line = render(job.snapshot());
      synchronized (this) {
        if (!running) {
          return;
        }
        if (terminal) {
          err.print("\r" + line + " ".repeat(Math.max(0, width - line.length())));
          err.flush();
          width = line.length();
        } else if ("observe".equals(job.snapshot().stage())
            && System.nanoTime() - lastLog >= LOG_EVERY_SECONDS * 1_000_000_000L) {
          err.println(line);
          lastLog = System.nanoTime();
        }
      }
    }
  }

  String render(JobProgress.Snapshot s) {
    if (!"observe".equals(s.stage())) {
      return String.format(Locale.ROOT, "qcal: %s (%.0f s)", s.stage(), s.stageSeconds());
    }
    if (s.done() >= 0) {
      return observeLine(s.done(), s.total(), s.estimated(), "samples", s.stageSeconds());
    }
    long[] tasks = observeTasks();
    return tasks == null ? String.format(Locale.ROOT, "qcal: observe (%.0f s)", s.stageSeconds())
        : observeLine(tasks[0], tasks[1], false, "tasks", s.stageSeconds());
  }

  /** The observe line; an {@code estimated} total, its percentage and ETA are marked {@code ~}. */
  static String observeLine(long done, long total, boolean estimated, String unit, double seconds) {
    double rate = seconds > 0 ? done / seconds : 0;
    String about = estimated ? "~" : "";
    StringBuilder b = new StringBuilder("qcal: observe ").append(done);
    if (total > 0) {
      b.append('/').append(about).append(total).append(' ').append(unit)
          .append(String.format(Locale.ROOT, " (%s%d%%)", about, Math.min(100, 100 * done / total)));
    } else {
      b.append(' ').append(unit);
    }
    b.append(String.format(Locale.ROOT, ", %.1f %s/s", rate, unit));
    if (total > 0 && rate > 0) {
      b.append(", ETA ").append(about).append(duration(Math.max(0, total - done) / rate));
    }
    return b.toString();
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }

  /** Tasks done and in all of the observe job's stages so far, or null before it starts. */
  private long[] observeTasks() {
    SparkStatusTracker tracker = spark.sparkContext().statusTracker();
    long done = 0;
    long total = 0;
    for (int jobId : tracker.getJobIdsForGroup("qcal-observe")) {
      var info = tracker.getJobInfo(jobId);
      if (info.isEmpty()) {
        continue;
      }
      for (int stageId : info.get().stageIds()) {
        var st = tracker.getStageInfo(stageId);
        if (st.isDefined()) {
          SparkStageInfo si = st.get();
          done += si.numCompletedTasks();
          total += si.numTasks();
        }
      }
    }
    return total == 0 ? null : new long[] {done, total};
  }

  @Override
  public void close() {
    synchronized (this) {
      running = false;
      if (terminal && width > 0) {
        err.print("\r" + " ".repeat(width) + "\r");
        err.flush();
      }
    }
    thread.interrupt();
    job.finished();
  }
}
