package dev.qcal.jobs;

import dev.qcal.data.InputSpec;
import dev.qcal.data.NpyFiles;
import dev.qcal.data.Sample;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;

/**
 * What a running job is doing, for a console progress line: the stage and, while observing, how
 * many samples went through the model of how many. For display only: results never depend on it.
 *
 * <p>Samples are counted as the observe tasks read them, in a JVM-wide counter. Only in a local
 * master do tasks run in the driver's JVM, so only there are samples counted; on a cluster the
 * line shows tasks done from Spark's status tracker instead.
 */
public class JobProgress {
  private static final Map<String, LongAdder> COUNTERS = new ConcurrentHashMap<>();
  private static final JobProgress NONE = new JobProgress();

  private volatile String stage = "starting";
  private volatile long stageStartNanos = System.nanoTime();
  private volatile long total = -1;
  private volatile boolean estimated;
  private volatile LongSupplier done;
  private volatile String key;

  /** Progress nobody looks at: nothing is counted. */
  public static JobProgress none() {
    return NONE;
  }

  /** Whether anyone displays this progress (counting costs a little per sample). */
  public boolean wanted() {
    return this != NONE;
  }

  public void stage(String name) {
    if (this != NONE) {
      stageStartNanos = System.nanoTime();
      stage = name;
    }
  }

  /** The job ended (or failed): drop the counter. */
  public void finished() {
    if (key != null) {
      COUNTERS.remove(key);
      key = null;
    }
  }

  /**
   * Current stage, seconds in it, samples observed so far and the total (-1 when unknown; an
   * estimate when {@code estimated}).
   */
  public record Snapshot(String stage, double stageSeconds, long done, long total, boolean estimated) {}

  public Snapshot snapshot() {
    LongSupplier d = done;
    return new Snapshot(stage, (System.nanoTime() - stageStartNanos) / 1e9, d == null ? -1 : d.getAsLong(), total,
        estimated);
  }

  /** How many samples the observe stage will see: exact, an estimate, or unknown ({@code samples} -1). */
  public record Total(long samples, boolean estimated) {
    static final Total UNKNOWN = new Total(-1, false);

    static Total exact(long n) {
      return new Total(n, false);
    }
  }

  /** Above this many {@code .npy}/{@code .npz} files, the total is extrapolated from this many headers. */
  static final int HEADER_LIMIT = 1000;

  /**
   * Enters the observe stage: in a local master returns {@code samples} counting each sample an
   * observe task reads (same partitions, no extra stage); elsewhere returns them unchanged. The
   * total is computed only when someone displays it.
   */
  static JavaRDD<Sample> observing(JobProgress p, JavaRDD<Sample> samples, SparkSession spark,
      java.util.function.Supplier<Total> total) {
    p.stage("observe");
    if (!p.wanted() || !spark.sparkContext().isLocal()) {
      return samples;
    }
    String k = UUID.randomUUID().toString();
    LongAdder counter = new LongAdder();
    COUNTERS.put(k, counter);
    p.key = k;
    Total t = total.get();
    p.total = t.samples();
    p.estimated = t.estimated();
    p.done = counter::sum;
    return samples.mapPartitions(it -> {
      LongAdder c = COUNTERS.getOrDefault(k, new LongAdder());
      return dev.qcal.data.Samples.peek(it, s -> c.increment());
    }, true);
  }

  /**
   * The samples a calibrate run observes: exact with {@code --max-samples} (the first pass counted
   * them), from {@code .npy}/{@code .npz} headers or Parquet footers; an estimate ({@code ~}) under a
   * sample fraction ({@code F} times the data), after skipped records, or from a sample of
   * {@value #HEADER_LIMIT} headers of a larger directory; unknown for other sources.
   */
  static Total total(SparkSession spark, List<String> data, DataOptions d, List<InputSpec> inputs, Long selected,
      Map<String, Long> skipped) {
    if (selected != null) {
      return Total.exact(selected);
    }
    if (d.table() != null || d.query() != null || data.isEmpty()) {
      return Total.UNKNOWN;
    }
    Total all = totalSamples(spark, data, inputs);
    if (all.samples() < 0 || (d.fraction() >= 1.0 && skipped == null)) {
      return all;
    }
    long n = Math.round(all.samples() * d.fraction());
    if (skipped != null) {
      n = Math.max(0, n - skipped.values().stream().mapToLong(Long::longValue).sum());
    }
    return new Total(n, true);
  }

  /** Samples in the data set from {@code .npy}/{@code .npz} headers or Parquet footers; unknown when that is not cheap to know. */
  static Total totalSamples(SparkSession spark, List<String> data, List<InputSpec> inputs) {
    String path = data.get(0);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    if (!exists(path, conf) && path.indexOf('=') > 0) {
      String name = path.substring(0, path.indexOf('='));
      path = path.substring(path.indexOf('=') + 1); // NAME=PATH: every input has the same count
      inputs = inputs.stream().filter(i -> i.name().equals(name)).toList();
      if (inputs.isEmpty()) {
        return Total.UNKNOWN; // the run names the bad binding
      }
    }
    List<String> files;
    try {
      files = NpyFiles.list(path, conf);
    } catch (RuntimeException notNpy) {
      files = List.of();
    }
    if (!files.isEmpty() && files.stream().allMatch(f -> f.endsWith(".npy") || f.endsWith(".npz"))) {
      return npyTotal(files, conf, inputs);
    }
    try {
      if (dev.qcal.data.SourceFormat.detect(path, conf) == dev.qcal.data.SourceFormat.PARQUET) {
        return Total.exact(spark.read().parquet(path).count()); // from the footers
      }
    } catch (Exception e) { // Spark throws SparkException (checked) undeclared; an unreadable path fails later, named
      return Total.UNKNOWN;
    }
    return Total.UNKNOWN;
  }

  /**
   * The samples in {@code files} from their headers: each file's exactly up to {@link #HEADER_LIMIT}
   * files, else an evenly spaced {@value #HEADER_LIMIT} of them scaled up (an estimate). A file
   * whose header cannot be read (it is a bad record) counts nothing and makes the total an estimate.
   */
  static Total npyTotal(List<String> files, Configuration conf, List<InputSpec> inputs) {
    int read = Math.min(files.size(), HEADER_LIMIT);
    boolean estimated = read < files.size();
    long n = 0;
    for (int i = 0; i < read; i++) {
      String f = files.get((int) ((long) i * files.size() / read));
      try {
        n += NpyFiles.samples(f, conf, inputs);
      } catch (IOException | RuntimeException unreadable) {
        estimated = true;
      }
    }
    return new Total(read < files.size() ? Math.round((double) n * files.size() / read) : n, estimated);
  }

  private static boolean exists(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      return fs.exists(p);
    } catch (IOException | IllegalArgumentException e) {
      return false;
    }
  }
}
