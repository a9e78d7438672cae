package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.data.Entry;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Sample;
import dev.qcal.data.SampleSelection;
import dev.qcal.data.SourceFormat;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;

/**
 * Turns {@code --data} (or {@code --table}, {@code --query}) into an RDD of samples bound to the model's
 * inputs: the one entry point. {@link InputBinding} binds paths to inputs, {@link SourceFormat} tells the
 * format, {@link NpySource}, {@link TableSource} and {@link ImageSource} read, {@link SampleSelector} selects.
 */
final class DataSources {
  private DataSources() {}

  /**
   * The samples a run uses; under {@code --on-bad-record skip}, how many records were skipped per
   * reason (null under {@code fail}); with {@code --max-samples}, how many samples are selected (else null).
   */
  record Opened(JavaRDD<Sample> samples, Map<String, Long> skipped, Long selected) {}

  static JavaRDD<Sample> open(
      SparkSession spark, List<String> data, List<InputSpec> inputs, Map<String, long[]> sampleShapes) {
    return open(spark, data, inputs, sampleShapes, DataOptions.DEFAULT).samples();
  }

  /** Opens the data and selects samples (see {@link SampleSelector}). */
  static Opened open(SparkSession spark, List<String> data, List<InputSpec> inputs,
      Map<String, long[]> sampleShapes, DataOptions d) {
    InputBinding.checkNames(inputs, sampleShapes, d.columns());
    SampleSelection selection = new SampleSelection(d.seed(), d.fraction(), null);
    TableSource tables = new TableSource(spark, inputs, d, sampleShapes, selection);
    JavaRDD<Entry> entries;
    if (d.table() != null || d.query() != null) {
      String label = d.describe(data).get(0);
      requireImagesForPreprocess(d, label, null);
      entries = tables.catalog(label);
    } else {
      entries = files(spark, data, inputs, d, tables, selection);
    }
    return SampleSelector.select(spark.sparkContext(), entries, selection, d);
  }

  /** The entries of {@code --data} paths, all of one format (given, else detected). */
  private static JavaRDD<Entry> files(SparkSession spark, List<String> data, List<InputSpec> inputs, DataOptions d,
      TableSource tables, SampleSelection selection) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Map<String, String> byInput = InputBinding.bind(data, inputs);
    for (String p : new LinkedHashSet<>(byInput.values())) {
      requireRegularFiles(p, conf);
    }
    String first = byInput.values().iterator().next();
    SourceFormat format = d.format() != null ? SourceFormat.parse(d.format()) : SourceFormat.detect(first, conf);
    if (d.format() == null) {
      for (String p : byInput.values()) {
        if (SourceFormat.detect(p, conf) != format) {
          throw new DataException("all --data paths must have the same format: " + first + " is " + format
              + " but " + p + " is not");
        }
      }
    }
    requireImagesForPreprocess(d, first, format);
    return switch (format) {
      case NPY -> NpySource.read(spark, byInput, InputBinding.unnamed(data, inputs), inputs, conf, selection);
      case IMAGES -> ImageSource.read(spark, TableSource.oneTable(byInput, format), inputs, d.preprocess(), selection);
      default -> tables.files(byInput, format);
    };
  }

  /** The first non-blank line of {@code e}'s message (Spark's parse errors start with a line break). */
  static String firstLine(Throwable e) {
    return String.valueOf(e.getMessage()).lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("");
  }

  /** {@code --preprocess} configures image decoding: with any other data it would be silently ignored. */
  private static void requireImagesForPreprocess(DataOptions d, String data, SourceFormat format) {
    if (d.preprocess() != null && format != SourceFormat.IMAGES) {
      throw new DataException("--preprocess applies to image data only; " + data + " is "
          + (format == null ? "a table or query" : format.name().toLowerCase(java.util.Locale.ROOT) + " data"));
    }
  }

  /**
   * Refuses a FIFO, socket or device at or under a local data path: reading one blocks or never ends.
   * Only the local file system has them; symbolic links are followed.
   */
  static void requireRegularFiles(String path, Configuration conf) {
    java.nio.file.Path root;
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      if (!"file".equals(fs.getUri().getScheme())) {
        return;
      }
      root = java.nio.file.Path.of(fs.makeQualified(p).toUri());
    } catch (IOException | RuntimeException e) {
      return; // not a path java.nio can walk: reading it reports what is wrong
    }
    if (!java.nio.file.Files.exists(root)) {
      return; // reported as "data not found" where the path is read
    }
    try (java.util.stream.Stream<java.nio.file.Path> all = java.nio.file.Files.walk(root)) {
      all.filter(DataSources::special).findFirst().ifPresent(f -> {
        throw new DataException(f + ": not a regular file (a FIFO, socket or device); qcal reads data from"
            + " regular files only");
      });
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new DataException(path + ": cannot list data: " + e.getMessage(), e);
    }
  }

  private static boolean special(java.nio.file.Path p) {
    try {
      return java.nio.file.Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class).isOther();
    } catch (IOException e) {
      return false; // a dangling link: reading it fails with its own message
    }
  }

  /** The class {@code --format delta} needs: Delta Lake's Spark session extension. */
  static final String DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension";
  static final String DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog";

  /** Fails with how to add Delta Lake when its classes are not on {@code loader}'s classpath. */
  static void requireDelta(ClassLoader loader, String path) {
    try {
      Class.forName(DELTA_EXTENSION, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new DataException(path + ": --format delta needs io.delta:delta-spark_2.13 on the classpath"
          + " (spark-submit --packages io.delta:delta-spark_2.13:4.4.0; for scripts/qcal, its jars in"
          + " QCAL_EXTRA_CLASSPATH)");
    }
  }

  /** The data root as a URI path, to name files relative to it (the same data elsewhere selects the same samples). */
  static String rootPath(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      return p.getFileSystem(conf).makeQualified(p).toUri().getPath();
    } catch (IOException e) {
      throw new DataException(path + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** {@code file}'s path under {@code root} (its name when it is the root), else {@code file}. */
  static String relative(String file, String root) {
    String p;
    try {
      p = new java.net.URI(file).getPath();
    } catch (java.net.URISyntaxException e) {
      p = file;
    }
    if (p != null && p.startsWith(root)) {
      String r = p.substring(root.length());
      return r.startsWith("/") ? r.substring(1) : r.isEmpty() ? new Path(p).getName() : r;
    }
    return file;
  }
}
