package dev.qcal.jobs;

import dev.qcal.data.BadRecordException;
import dev.qcal.data.BadRecords;
import dev.qcal.data.DataException;
import dev.qcal.data.ElemType;
import dev.qcal.data.Elements;
import dev.qcal.data.Entry;
import dev.qcal.data.HadoopConf;
import dev.qcal.data.ImagePipeline;
import dev.qcal.data.InputSpec;
import dev.qcal.data.NpyFiles;
import dev.qcal.data.Sample;
import dev.qcal.data.SampleSelection;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;

/** Turns {@code --data} arguments into an RDD of samples bound to the model's inputs. */
final class DataSources {
  private DataSources() {}

  enum Format { NPY, PARQUET, ORC, JSON, CSV, DELTA, IMAGES;

    static Format parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new DataException("--format '" + s + "': expected npy, parquet, orc, json, csv, delta or images");
      }
    }
  }

  /**
   * The samples a run uses; under {@code --on-bad-record skip}, how many records were skipped per
   * reason (null under {@code fail}); with {@code --max-samples}, how many samples are selected (else null).
   */
  record Opened(JavaRDD<Sample> samples, Map<String, Long> skipped, Long selected) {}

  static JavaRDD<Sample> open(
      SparkSession spark, List<String> data, List<InputSpec> inputs, Map<String, long[]> sampleShapes) {
    return open(spark, data, inputs, sampleShapes, DataOptions.DEFAULT).samples();
  }

  /**
   * Opens the data and selects samples: records outside {@code --sample-fraction} are dropped by
   * their hash; with {@code --max-samples}, or to count skipped records, a first pass reduces (exactly,
   * with {@code treeAggregate}) the smallest keys of good records and the bad-record counts, and the
   * returned samples keep the keys up to the N-th smallest.
   */
  static Opened open(SparkSession spark, List<String> data, List<InputSpec> inputs,
      Map<String, long[]> sampleShapes, DataOptions d) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    for (String name : sampleShapes.keySet()) {
      if (inputs.stream().noneMatch(i -> i.name().equals(name))) {
        throw new DataException("--sample-shape names '" + name + "' but the model's inputs are " + names(inputs));
      }
    }
    for (String name : d.columns().keySet()) {
      if (inputs.stream().noneMatch(i -> i.name().equals(name))) {
        throw new DataException("--input names '" + name + "' but the model's inputs are " + names(inputs));
      }
    }
    SampleSelection selection = new SampleSelection(d.seed(), d.fraction(), null);
    JavaRDD<Entry> entries;
    if (d.table() != null || d.query() != null) {
      String label = d.describe(data).get(0);
      requireImagesForPreprocess(d, label, null);
      Dataset<Row> df;
      try {
        df = d.table() != null ? spark.table(d.table()) : spark.sql(d.query());
      } catch (Exception e) { // AnalysisException, ParseException: a bad name or query
        throw new DataException(label + ": " + firstLine(e), e);
      }
      entries = rows(df, label, false, inputs, d, sampleShapes, selection);
    } else {
      Map<String, String> byInput = bind(data, inputs);
      for (String p : new java.util.LinkedHashSet<>(byInput.values())) {
        requireRegularFiles(p, conf);
      }
      String first = byInput.values().iterator().next();
      Format format = d.format() != null ? Format.parse(d.format()) : detect(first, conf);
      if (d.format() == null) {
        for (String p : byInput.values()) {
          if (detect(p, conf) != format) {
            throw new DataException("all --data paths must have the same format: " + first + " is " + format
                + " but " + p + " is not");
          }
        }
      }
      requireImagesForPreprocess(d, first, format);
      boolean unnamed = data.size() == 1 && !isBinding(data.get(0), inputs);
      entries = switch (format) {
        case NPY -> npy(spark, byInput, unnamed, inputs, conf, selection);
        case PARQUET -> parquet(spark, byInput, inputs, d, sampleShapes, selection);
        case IMAGES -> images(spark, oneTable(byInput, format), inputs, d.preprocess(), selection);
        case DELTA -> {
          String path = oneTable(byInput, format);
          yield rows(delta(spark, path), path, false, inputs, d, sampleShapes, selection);
        }
        case ORC, JSON, CSV -> {
          String path = oneTable(byInput, format);
          Dataset<Row> df;
          try {
            // CSV: a header names the columns; a cell lists a sample's numbers (or is one number)
            df = spark.read().format(format.name().toLowerCase(java.util.Locale.ROOT))
                .option("header", format == Format.CSV ? "true" : "false").load(path);
          } catch (Exception e) {
            throw new DataException(path + ": cannot read as " + format + ": " + firstLine(e), e);
          }
          yield rows(df, path, true, inputs, d, sampleShapes, selection);
        }
      };
    }
    BadRecords.Policy policy = d.onBadRecord();
    Map<String, Long> skipped = null;
    Long selected = null;
    if (d.maxSamples() != null || policy == BadRecords.Policy.SKIP) {
      Long max = d.maxSamples();
      SampleSelection base = selection;
      spark.sparkContext().setJobDescription("qcal select: "
          + (max == null ? "" : "the " + max + " smallest sample hashes (seed " + d.seed() + ")")
          + (max != null && policy == BadRecords.Policy.SKIP ? " and " : "")
          + (policy == BadRecords.Policy.SKIP ? "bad records per reason" : "") + ", treeAggregate");
      Scan scan;
      try {
        scan = entries.mapPartitionsWithIndex((p, it) -> {
          Scan s = new Scan(max == null ? null : new SampleSelection.TopN(Math.toIntExact(max)), new BadRecords.Counts());
          while (it.hasNext()) {
            s.add(it.next(), p, base, policy);
          }
          return List.of(s).iterator();
        }, false).treeAggregate(new Scan(max == null ? null : new SampleSelection.TopN(Math.toIntExact(max)),
            new BadRecords.Counts()), Scan::merge, Scan::merge);
      } finally {
        spark.sparkContext().setJobDescription(null);
      }
      if (policy == BadRecords.Policy.SKIP) {
        skipped = scan.counts().asMap();
      }
      if (scan.top() != null) {
        selection = selection.withCutoff(scan.top());
        selected = scan.top().selected(); // N, or every good sample when there are fewer
      }
    }
    SampleSelection chosen = selection;
    JavaRDD<Sample> samples = entries.mapPartitionsWithIndex(
        (p, it) -> new SelectedSamples(it, chosen.picker(p), chosen, policy), false);
    return new Opened(samples, skipped, selected);
  }

  /**
   * First-pass state: the smallest keys of good records (with a maximum; copies counted per
   * partition) and bad-record counts.
   */
  record Scan(SampleSelection.TopN top, BadRecords.Counts counts) implements java.io.Serializable {
    void add(Entry e, int partition, SampleSelection selection, BadRecords.Policy policy) {
      if (!selection.inFraction(e.key())) {
        return;
      }
      if (e.bad() != null) {
        if (policy == BadRecords.Policy.FAIL) {
          throw e.bad();
        }
        counts.add(e.bad().reason());
      } else if (top != null) {
        top.add(e.key(), partition);
      }
    }

    Scan merge(Scan other) {
      if (top != null) {
        top.merge(other.top);
      }
      counts.merge(other.counts);
      return this;
    }
  }

  /** The samples of selected good entries; a selected bad entry fails under FAIL and is dropped under SKIP. */
  private static final class SelectedSamples implements Iterator<Sample> {
    private final Iterator<Entry> it;
    private final SampleSelection.Picker picker;
    private final SampleSelection selection;
    private final BadRecords.Policy policy;
    private Sample next;
    private boolean finished;

    SelectedSamples(Iterator<Entry> it, SampleSelection.Picker picker, SampleSelection selection,
        BadRecords.Policy policy) {
      this.it = it;
      this.picker = picker;
      this.selection = selection;
      this.policy = policy;
    }

    @Override
    public boolean hasNext() {
      while (next == null && it.hasNext()) {
        Entry e = it.next();
        if (!selection.inFraction(e.key())) {
          continue;
        }
        if (e.bad() != null) {
          if (policy == BadRecords.Policy.FAIL) {
            throw e.bad();
          }
        } else if (picker.selects(e.key())) {
          next = e.sample();
        }
      }
      if (next == null && !finished) {
        finished = true;
        picker.finish();
      }
      return next != null;
    }

    @Override
    public Sample next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      Sample s = next;
      next = null;
      return s;
    }
  }

  /** {@code PATH} alone feeds every input; {@code name=PATH} binds one input. */
  static Map<String, String> bind(List<String> data, List<InputSpec> inputs) {
    Map<String, String> byInput = new LinkedHashMap<>();
    if (data.size() == 1 && !isBinding(data.get(0), inputs)) {
      for (InputSpec in : inputs) {
        byInput.put(in.name(), data.get(0));
      }
      return byInput;
    }
    Map<String, String> given = new LinkedHashMap<>();
    for (String d : data) {
      int eq = d.indexOf('=');
      if (eq <= 0 || !isBinding(d, inputs)) {
        throw new DataException("--data '" + d + "': with several --data options each must be name=PATH for one of "
            + names(inputs));
      }
      given.put(d.substring(0, eq), d.substring(eq + 1));
    }
    for (InputSpec in : inputs) {
      String p = given.get(in.name());
      if (p == null) {
        throw new DataException("no --data for model input '" + in.name() + "' (inputs: " + names(inputs) + ")");
      }
      byInput.put(in.name(), p);
    }
    return byInput;
  }

  private static boolean isBinding(String d, List<InputSpec> inputs) {
    int eq = d.indexOf('=');
    return eq > 0 && inputs.stream().anyMatch(i -> i.name().equals(d.substring(0, eq)));
  }

  private static List<String> names(List<InputSpec> inputs) {
    return inputs.stream().map(InputSpec::name).toList();
  }

  private static String quoted(List<InputSpec> inputs) {
    return String.join(", ", inputs.stream().map(i -> "'" + i.name() + "'").toList());
  }

  /** The first non-blank line of {@code e}'s message (Spark's parse errors start with a line break). */
  static String firstLine(Throwable e) {
    return String.valueOf(e.getMessage()).lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("");
  }

  /** {@code --preprocess} configures image decoding: with any other data it would be silently ignored. */
  private static void requireImagesForPreprocess(DataOptions d, String data, Format format) {
    if (d.preprocess() != null && format != Format.IMAGES) {
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

  static Format detect(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      FileStatus st = NpyFiles.status(fs, p, path);
      if (st.isFile()) {
        if (path.endsWith(".npy") || path.endsWith(".npz")) {
          return Format.NPY;
        }
        if (path.endsWith(".parquet")) {
          return Format.PARQUET;
        }
        if (path.endsWith(".orc")) {
          return Format.ORC;
        }
        if (path.endsWith(".json") || path.endsWith(".jsonl")) {
          return Format.JSON;
        }
        if (path.endsWith(".csv")) {
          return Format.CSV;
        }
        if (isImage(path)) {
          return Format.IMAGES;
        }
      } else {
        java.util.EnumSet<Format> seen = java.util.EnumSet.noneOf(Format.class);
        boolean partitionDirs = false;
        for (FileStatus f : fs.listStatus(p)) {
          String n = f.getPath().getName();
          if (n.equals("_delta_log") && f.isDirectory()) {
            return Format.DELTA; // a Delta table: its Parquet files are read through its log
          }
          if (n.endsWith(".npy") || n.endsWith(".npz")) {
            seen.add(Format.NPY);
          } else if (n.endsWith(".parquet")) {
            seen.add(Format.PARQUET);
          } else if (n.endsWith(".orc")) {
            seen.add(Format.ORC);
          } else if (n.endsWith(".json") || n.endsWith(".jsonl")) {
            seen.add(Format.JSON);
          } else if (n.endsWith(".csv")) {
            seen.add(Format.CSV);
          } else if (isImage(n)) {
            seen.add(Format.IMAGES);
          }
          partitionDirs |= f.isDirectory() && n.contains("=");
        }
        if (seen.isEmpty() && partitionDirs) {
          return Format.PARQUET;
        }
        if (seen.size() == 1) {
          return seen.iterator().next();
        }
      }
      throw new DataException(path + ": cannot tell the data format: expected a .npy file, a directory of .npy"
          + " files, a Parquet, ORC, JSON or CSV file or directory, a Delta table (a _delta_log folder) or an image"
          + " folder; or give --format");
    } catch (IOException e) {
      throw new DataException(path + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * @param unnamed one {@code --data PATH} feeds every input: only {@code .npz} archives (an array per
   *     input) can do that for a model with several inputs
   */
  private static JavaRDD<Entry> npy(SparkSession spark, Map<String, String> byInput, boolean unnamed,
      List<InputSpec> inputs, Configuration conf, SampleSelection selection) {
    List<List<String>> files = new ArrayList<>();
    for (InputSpec in : inputs) {
      files.add(NpyFiles.list(byInput.get(in.name()), conf));
    }
    if (unnamed && inputs.size() > 1 && files.get(0).stream().anyMatch(f -> f.endsWith(".npy"))) {
      StringBuilder each = new StringBuilder();
      for (InputSpec in : inputs) {
        each.append(each.length() == 0 ? "" : " ").append("--data ").append(in.name()).append("=PATH");
      }
      throw new DataException("--data " + byInput.values().iterator().next() + ": .npy files hold one array, but the"
          + " model inputs " + quoted(inputs) + " each need theirs: give " + each
          + " (or .npz archives with an array named like each input)");
    }
    List<NpyFiles.Group> groups = NpyFiles.groups(inputs, files);
    HadoopConf hc = new HadoopConf(conf);
    List<InputSpec> specs = List.copyOf(inputs);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    return jsc.parallelize(groups, groups.size()).flatMap(g -> NpyFiles.entries(g, hc.get(), specs, selection));
  }

  private static JavaRDD<Entry> parquet(SparkSession spark, Map<String, String> byInput, List<InputSpec> inputs,
      DataOptions d, Map<String, long[]> sampleShapes, SampleSelection selection) {
    String path = oneTable(byInput, Format.PARQUET);
    Dataset<Row> df;
    try {
      df = spark.read().parquet(path);
    } catch (Exception e) { // schema inference reads a footer: a file that is not Parquet fails here
      DataException bad = notParquet(e, path);
      throw bad != null ? bad : new DataException(path + ": cannot read as Parquet: " + firstLine(e), e);
    }
    List<org.apache.spark.sql.Column> cols = new ArrayList<>();
    String[] names = new String[inputs.size()];
    for (InputSpec in : inputs) {
      StructField f = field(df, d.column(in.name()), in.name(), path);
      checkColumn(f, in, path);
      names[cols.size()] = f.name();
      cols.add(functions.col("`" + f.name().replace("`", "``") + "`"));
    }
    cols.add(functions.col("_metadata.file_path"));
    cols.add(functions.col("_metadata.row_index"));
    List<InputSpec> specs = List.copyOf(inputs);
    int mask = maskIndex(specs, d);
    long[][] declared = new long[inputs.size()][];
    for (int i = 0; i < declared.length; i++) {
      declared[i] = sampleShapes.get(inputs.get(i).name());
    }
    String root = rootPath(path, spark.sparkContext().hadoopConfiguration());
    return df.select(cols.toArray(new org.apache.spark.sql.Column[0])).javaRDD()
        .mapPartitions(DataSources::namingFilesThatAreNotParquet, true)
        .map(row -> entry(row, specs, mask, names, declared, root, selection));
  }

  /**
   * The rows, with a file that turns out not to be Parquet while they are read (schema inference
   * reads one footer only) reported as bad input naming it, not as a task failure.
   */
  private static Iterator<Row> namingFilesThatAreNotParquet(Iterator<Row> it) {
    return new Iterator<Row>() {
      @Override
      public boolean hasNext() {
        try {
          return it.hasNext();
        } catch (Exception e) { // Spark's SparkException, checked in Java, is thrown undeclared
          throw rethrow(e);
        }
      }

      @Override
      public Row next() {
        try {
          return it.next();
        } catch (Exception e) { // Spark's SparkException, checked in Java, is thrown undeclared
          throw rethrow(e);
        }
      }
    };
  }

  private static RuntimeException rethrow(Exception e) {
    DataException d = notParquet(e, null);
    if (d != null) {
      return d;
    }
    return DataSources.<RuntimeException>sneaky(e);
  }

  @SuppressWarnings("unchecked")
  private static <T extends Exception> T sneaky(Exception e) throws T {
    throw (T) e;
  }

  /**
   * A DataException naming the file (from Spark's message, else {@code path}) when {@code e} says a
   * file's Parquet footer cannot be read, else null.
   */
  static DataException notParquet(Throwable e, String path) {
    Throwable root = e;
    boolean notParquet = false;
    String file = path;
    for (Throwable c = e; c != null; c = c.getCause()) {
      root = c;
      String m = String.valueOf(c.getMessage());
      notParquet |= m.contains("CANNOT_READ_FILE_FOOTER") || m.contains("is not a Parquet file")
          || m.contains("footer is too large");
      java.util.regex.Matcher f = java.util.regex.Pattern.compile("reading file (.+?)\\.(\\s|$)").matcher(firstLine(c));
      if (f.find()) {
        file = f.group(1);
      }
    }
    return notParquet && file != null ? new DataException(file + ": not a Parquet file (" + firstLine(root) + ")", e)
        : null;
  }

  private static final String IMAGE_GLOB = "*.{png,PNG,jpg,JPG,jpeg,JPEG,bmp,BMP}";

  private static boolean isImage(String name) {
    String n = name.toLowerCase(java.util.Locale.ROOT);
    return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".bmp");
  }

  /**
   * An image folder (Spark's {@code binaryFile} source, recursive; PNG, JPEG, BMP) through the
   * {@code --preprocess} pipeline, one sample per file keyed by its path relative to the folder.
   */
  private static JavaRDD<Entry> images(SparkSession spark, String path, List<InputSpec> inputs, String preprocess,
      SampleSelection selection) {
    if (inputs.size() != 1) {
      throw new DataException(path + ": an image folder feeds a model with one input; the model has " + names(inputs));
    }
    if (preprocess == null) {
      throw new DataException(path + ": an image folder needs --preprocess FILE (the JSON preprocessing pipeline;"
          + " jobs/ppocr-cls-preprocess.json is the example's)");
    }
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    String json;
    try {
      Path p = new Path(preprocess);
      try (var in = p.getFileSystem(conf).open(p)) {
        json = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new DataException(preprocess + ": cannot read the preprocessing config: " + e.getMessage(), e);
    }
    ImagePipeline pipeline = ImagePipeline.parse(json, preprocess);
    InputSpec input = inputs.get(0);
    if (!input.type().isFloat()) {
      throw new DataException(path + ": an image folder feeds a float input (the --preprocess pipeline computes"
          + " floats); input '" + input.name() + "' is " + input.type() + ": give its data as .npy or a table");
    }
    String root = rootPath(path, conf);
    Dataset<Row> df = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
        .option("pathGlobFilter", IMAGE_GLOB).load(path).select("path", "content");
    return df.javaRDD().map(row -> {
      String file = row.getString(0);
      SampleSelection.Key key = selection.key(relative(file, root));
      if (!selection.inFraction(key)) {
        return Entry.good(key, null);
      }
      try {
        Sample s = asType(pipeline.apply((byte[]) row.get(1), file), input);
        input.check(s.shapes()[0], file);
        return Entry.good(key, s);
      } catch (BadRecordException e) {
        return Entry.bad(key, e);
      }
    });
  }

  /** A one-input float32 sample in {@code input}'s float type (float16 and float64 round to nearest). */
  private static Sample asType(Sample s, InputSpec input) {
    if (input.type() == ElemType.FLOAT32) {
      return s;
    }
    float[] f = (float[]) s.values()[0];
    Object typed = input.type().newArray(f.length);
    for (int k = 0; k < f.length; k++) {
      String why = Elements.putDouble(typed, input.type(), k, f[k]);
      if (why != null) {
        throw new BadRecordException(BadRecordException.DOES_NOT_FIT, s.source() + ": input '" + input.name() + "' ("
            + input.type() + "): element " + k + ": " + why);
      }
    }
    return new Sample(new Object[] {typed}, s.shapes(), s.source());
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

  /** A Delta table directory, read through its transaction log ({@code spark.read().format("delta")}). */
  private static Dataset<Row> delta(SparkSession spark, String path) {
    ClassLoader loader = Thread.currentThread().getContextClassLoader();
    requireDelta(loader != null ? loader : DataSources.class.getClassLoader(), path);
    try {
      return spark.read().format("delta").load(path);
    } catch (Exception e) { // DeltaAnalysisException, AnalysisException: not a Delta table, a session without Delta
      String m = String.valueOf(e.getMessage());
      if (m.contains("DELTA_CONFIGURE_SPARK_SESSION_WITH_EXTENSION_AND_CATALOG")) {
        throw new DataException(path + ": reading Delta needs a session with --conf spark.sql.extensions="
            + DELTA_EXTENSION + " --conf spark.sql.catalog.spark_catalog=" + DELTA_CATALOG
            + " (qcal sets both when it starts the session and they are unset)", e);
      }
      throw new DataException(path + ": cannot read as a Delta table: " + m.lines().findFirst().orElse(""), e);
    }
  }

  private static String oneTable(Map<String, String> byInput, Format format) {
    String path = byInput.values().iterator().next();
    for (String p : byInput.values()) {
      if (!p.equals(path)) {
        throw new DataException(format + " data feeds every input from one table's columns; got " + path + " and " + p);
      }
    }
    return path;
  }

  /**
   * Rows of a table, query, Delta table, ORC, JSON or CSV data set: a row has no stable position
   * there (a query's row order may change with the partitioning), so its key is the hash of its
   * file (when known) and the values bound to the model inputs. Copies of a row share their key;
   * {@link SampleSelection.TopN} counts them so a maximum still takes exactly N.
   */
  private static JavaRDD<Entry> rows(Dataset<Row> df, String label, boolean files, List<InputSpec> inputs,
      DataOptions d, Map<String, long[]> sampleShapes, SampleSelection selection) {
    List<org.apache.spark.sql.Column> cols = new ArrayList<>();
    String[] names = new String[inputs.size()];
    for (InputSpec in : inputs) {
      StructField f = field(df, d.column(in.name()), in.name(), label);
      checkColumn(f, in, label);
      names[cols.size()] = f.name();
      cols.add(functions.col("`" + f.name().replace("`", "``") + "`"));
    }
    if (files) {
      cols.add(functions.col("_metadata.file_path"));
    }
    List<InputSpec> specs = List.copyOf(inputs);
    int mask = maskIndex(specs, d);
    long[][] declared = new long[inputs.size()][];
    for (int i = 0; i < declared.length; i++) {
      declared[i] = sampleShapes.get(inputs.get(i).name());
    }
    String root = files ? rootPath(label, df.sparkSession().sparkContext().hadoopConfiguration()) : "";
    return df.select(cols.toArray(new org.apache.spark.sql.Column[0])).javaRDD().mapPartitionsWithIndex((p, it) -> {
      int n = specs.size();
      return new Iterator<Entry>() {
        long ordinal;

        @Override
        public boolean hasNext() {
          return it.hasNext();
        }

        @Override
        public Entry next() {
          Row row = it.next();
          String id = files ? relative(row.getString(n), root) : "";
          String source = (files ? row.getString(n) : label) + " (partition " + p + ", row " + ordinal + ")";
          ordinal++;
          try {
            Sample sample = decode(row, specs, mask, names, declared, source);
            SampleSelection.Key key = selection.contentKey(id, sample.values());
            return Entry.good(key, selection.inFraction(key) ? sample : null);
          } catch (BadRecordException e) {
            return Entry.bad(selection.textKey(id, row.toString()), e);
          }
        }
      };
    }, true);
  }

  /** The data root as a URI path, to name files relative to it (the same data elsewhere selects the same samples). */
  private static String rootPath(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      return p.getFileSystem(conf).makeQualified(p).toUri().getPath();
    } catch (IOException e) {
      throw new DataException(path + ": cannot read: " + e.getMessage(), e);
    }
  }

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

  private static StructField field(Dataset<Row> df, String column, String input, String path) {
    for (StructField f : df.schema().fields()) {
      if (f.name().equals(column)) {
        return f;
      }
    }
    throw new DataException(path + ": no column '" + column + "' for model input '" + input + "' (columns: "
        + Arrays.toString(df.schema().fieldNames()) + "; bind one with --input " + input + "=COLUMN)");
  }

  /**
   * Refuses a column that cannot feed {@code in}: not numeric, or float data for an integer or bool input
   * (naming the input, its type and the column's).
   */
  private static void checkColumn(StructField f, InputSpec in, String path) {
    DataType t = f.dataType();
    if (RowValues.accepts(t, in.type())) {
      return;
    }
    if (RowValues.accepts(t)) {
      throw new DataException(path + ": column '" + f.name() + "' is " + t.simpleString() + " but input '" + in.name()
          + "' is " + in.type() + ": float data does not feed an integer or bool input; expected integer or boolean"
          + " values (array<bigint>, array<int>, array<smallint>, array<tinyint>, array<boolean>), numbers as text, or"
          + " binary (little-endian " + in.type() + ") per row");
    }
    throw new DataException(path + ": column '" + f.name() + "' is " + t.simpleString() + ", expected a numeric array"
        + " (array<float>, array<double>, array<bigint>, array<int>, array<boolean>, nested arrays) or binary"
        + " (little-endian " + in.type() + ") per row for input '" + in.name() + "' (" + in.type() + ")");
  }

  /** The index of the {@code --mask} input in {@code specs}, or -1. */
  private static int maskIndex(List<InputSpec> specs, DataOptions d) {
    for (int i = 0; d.mask() != null && i < specs.size(); i++) {
      if (specs.get(i).name().equals(d.mask())) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The first {@code specs.size()} columns of {@code row} as one sample; bad values (and with {@code mask}
   * not -1, a mask not ones then zeros) throw a BadRecordException.
   */
  private static Sample decode(Row row, List<InputSpec> specs, int mask, String[] columns, long[][] declared,
      String source) {
    int n = specs.size();
    Object[] values = new Object[n];
    long[][] shapes = new long[n][];
    for (int i = 0; i < n; i++) {
      values[i] = RowValues.values(row, i, columns[i], specs.get(i), source);
      // nested arrays carry their shape; --sample-shape gives a flat array's
      long[] shape = declared[i] != null ? declared[i] : RowValues.nestedShape(row, i, columns[i], source);
      shapes[i] = specs.get(i).shapeOfFlat(ElemType.length(values[i]), shape, source);
    }
    if (mask >= 0) {
      dev.qcal.data.Padding.maskLength(specs, mask, values, shapes, source); // ones then zeros, else a bad record
    } else {
      dev.qcal.data.Padding.trueLengths(specs, shapes, source); // padded inputs of one length, else a bad record
    }
    return new Sample(values, shapes, source);
  }

  private static Entry entry(Row row, List<InputSpec> specs, int mask, String[] columns, long[][] declared, String root,
      SampleSelection selection) {
    int n = specs.size();
    String file = row.getString(n);
    long index = row.getLong(n + 1);
    SampleSelection.Key key = selection.key(relative(file, root) + "#" + index);
    if (!selection.inFraction(key)) {
      return Entry.good(key, null);
    }
    String source = file + " row " + index;
    try {
      return Entry.good(key, decode(row, specs, mask, columns, declared, source));
    } catch (BadRecordException e) {
      return Entry.bad(key, e);
    }
  }
}
