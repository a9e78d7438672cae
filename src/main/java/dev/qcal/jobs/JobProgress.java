package dev.qcal.jobs;

import dev.qcal.data.Npy;
import dev.qcal.data.NpyFiles;
import dev.qcal.data.Sample;
import java.io.IOException;
import java.io.InputStream;
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

  /** Current stage, seconds in it, samples observed so far and the total (-1 when unknown). */
  public record Snapshot(String stage, double stageSeconds, long done, long total) {}

  public Snapshot snapshot() {
    LongSupplier d = done;
    return new Snapshot(stage, (System.nanoTime() - stageStartNanos) / 1e9, d == null ? -1 : d.getAsLong(), total);
  }

  /**
   * Enters the observe stage: in a local master returns {@code samples} counting each sample an
   * observe task reads (same partitions, no extra stage); elsewhere returns them unchanged.
   */
  static JavaRDD<Sample> observing(JobProgress p, JavaRDD<Sample> samples, SparkSession spark, List<String> data) {
    return observing(p, samples, spark, () -> totalSamples(spark, data));
  }

  /** As above, with the total given ({@code -1} when unknown, e.g. a sample fraction of a data set). */
  static JavaRDD<Sample> observing(JobProgress p, JavaRDD<Sample> samples, SparkSession spark, LongSupplier total) {
    p.stage("observe");
    if (!p.wanted() || !spark.sparkContext().isLocal()) {
      return samples;
    }
    String k = UUID.randomUUID().toString();
    LongAdder counter = new LongAdder();
    COUNTERS.put(k, counter);
    p.key = k;
    p.total = total.getAsLong();
    p.done = counter::sum;
    return samples.mapPartitions(it -> new java.util.Iterator<Sample>() {
      private final LongAdder c = COUNTERS.getOrDefault(k, new LongAdder());

      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public Sample next() {
        Sample s = it.next();
        c.increment();
        return s;
      }
    }, true);
  }

  /** Samples in the data set from {@code .npy} headers or Parquet metadata; -1 when that is not cheap to know. */
  static long totalSamples(SparkSession spark, List<String> data) {
    String path = data.get(0);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    if (!exists(path, conf) && path.indexOf('=') > 0) {
      path = path.substring(path.indexOf('=') + 1); // NAME=PATH: every input has the same count
    }
    try {
      long n = 0;
      for (String f : NpyFiles.list(path, conf)) {
        Path fp = new Path(f);
        try (InputStream in = fp.getFileSystem(conf).open(fp); Npy.Reader r = Npy.open(in, f)) {
          n += r.rows();
        }
      }
      return n;
    } catch (RuntimeException | IOException notNpy) {
      try {
        return spark.read().parquet(path).count(); // from the footers
      } catch (Exception e) { // Spark throws SparkException (checked) undeclared, e.g. for an undecodable .npy
        return -1;
      }
    }
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
