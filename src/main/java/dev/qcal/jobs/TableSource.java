package dev.qcal.jobs;

import dev.qcal.data.BadRecordException;
import dev.qcal.data.DataException;
import dev.qcal.data.Entry;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Sample;
import dev.qcal.data.SampleSelection;
import dev.qcal.data.SourceFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.StreamSupport;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Reads tables: Parquet, ORC, JSON and CSV files, Delta tables, catalog tables and SQL queries, each
 * input bound to a column by one {@link ColumnBinder}.
 */
record TableSource(SparkSession spark, List<InputSpec> inputs, DataOptions d, Map<String, long[]> sampleShapes,
    SampleSelection selection) {
  /** {@code --table} or {@code --query}, named {@code label} in messages. */
  JavaRDD<Entry> catalog(String label) {
    Dataset<Row> df;
    try {
      df = d.table() != null ? spark.table(d.table()) : spark.sql(d.query());
    } catch (Exception e) { // AnalysisException, ParseException: a bad name or query
      throw new DataException(label + ": " + DataSources.firstLine(e), e);
    }
    return rows(df, label, false);
  }

  /** The table every input's column is in (Parquet, ORC, JSON, CSV or Delta). */
  JavaRDD<Entry> files(Map<String, String> byInput, SourceFormat format) {
    String path = oneTable(byInput, format);
    return switch (format) {
      case PARQUET -> parquet(path);
      case DELTA -> rows(delta(path), path, false);
      case ORC, JSON, CSV -> rows(load(path, format), path, true);
      default -> throw new IllegalArgumentException(format + " is not a table format");
    };
  }

  private Dataset<Row> load(String path, SourceFormat format) {
    try {
      // CSV: a header names the columns; a cell lists a sample's numbers (or is one number)
      return spark.read().format(format.cliName())
          .option("header", format == SourceFormat.CSV ? "true" : "false").load(path);
    } catch (Exception e) {
      throw new DataException(path + ": cannot read as " + format + ": " + DataSources.firstLine(e), e);
    }
  }

  static String oneTable(Map<String, String> byInput, SourceFormat format) {
    String path = byInput.values().iterator().next();
    for (String p : byInput.values()) {
      if (!p.equals(path)) {
        throw new DataException(format + " data feeds every input from one table's columns; got " + path + " and " + p);
      }
    }
    return path;
  }

  /** Parquet rows, keyed by file and row index (stable however the data is split). */
  private JavaRDD<Entry> parquet(String path) {
    Dataset<Row> df;
    try {
      df = spark.read().parquet(path);
    } catch (Exception e) { // schema inference reads a footer: a file that is not Parquet fails here
      DataException bad = ParquetErrors.notParquet(e, path);
      throw bad != null ? bad : new DataException(path + ": cannot read as Parquet: " + DataSources.firstLine(e), e);
    }
    ColumnBinder binder = new ColumnBinder(df, path, inputs, d, sampleShapes);
    String root = DataSources.rootPath(path, spark.sparkContext().hadoopConfiguration());
    SampleSelection selection = this.selection; // the lambda ships this, not the session
    return df.select(binder.select("_metadata.file_path", "_metadata.row_index")).javaRDD()
        .mapPartitions(ParquetErrors::namingFilesThatAreNotParquet, true)
        .map(row -> entry(row, binder, root, selection));
  }

  private static Entry entry(Row row, ColumnBinder binder, String root, SampleSelection selection) {
    int n = binder.size();
    String file = row.getString(n);
    long index = row.getLong(n + 1);
    SampleSelection.Key key = selection.key(DataSources.relative(file, root) + "#" + index);
    if (!selection.inFraction(key)) {
      return Entry.good(key, null);
    }
    String source = file + " row " + index;
    try {
      return Entry.good(key, binder.decode(row, source));
    } catch (BadRecordException e) {
      return Entry.bad(key, e);
    }
  }

  /** A Delta table directory, read through its transaction log ({@code spark.read().format("delta")}). */
  private Dataset<Row> delta(String path) {
    ClassLoader loader = Thread.currentThread().getContextClassLoader();
    DataSources.requireDelta(loader != null ? loader : DataSources.class.getClassLoader(), path);
    try {
      return spark.read().format("delta").load(path);
    } catch (Exception e) { // DeltaAnalysisException, AnalysisException: not a Delta table, a session without Delta
      String m = String.valueOf(e.getMessage());
      if (m.contains("DELTA_CONFIGURE_SPARK_SESSION_WITH_EXTENSION_AND_CATALOG")) {
        throw new DataException(path + ": reading Delta needs a session with --conf spark.sql.extensions="
            + DataSources.DELTA_EXTENSION + " --conf spark.sql.catalog.spark_catalog=" + DataSources.DELTA_CATALOG
            + " (qcal sets both when it starts the session and they are unset)", e);
      }
      throw new DataException(path + ": cannot read as a Delta table: " + m.lines().findFirst().orElse(""), e);
    }
  }

  /**
   * Rows of a table, query, Delta table, ORC, JSON or CSV data set: a row has no stable position
   * there (a query's row order may change with the partitioning), so its key is the hash of its
   * file (when known) and the values bound to the model inputs. Copies of a row share their key;
   * {@link SampleSelection.TopN} counts them so a maximum still takes exactly N.
   */
  private JavaRDD<Entry> rows(Dataset<Row> df, String label, boolean files) {
    ColumnBinder binder = new ColumnBinder(df, label, inputs, d, sampleShapes);
    String root = files ? DataSources.rootPath(label, df.sparkSession().sparkContext().hadoopConfiguration()) : "";
    Dataset<Row> bound = df.select(files ? binder.select("_metadata.file_path") : binder.select());
    SampleSelection selection = this.selection; // the lambda ships this, not the session
    return bound.javaRDD().mapPartitionsWithIndex(
        (p, it) -> entries(it, p, binder, files ? root : null, label, selection), true);
  }

  /** Entries of one partition's rows, keyed by content (and file, when {@code root} is not null). */
  private static Iterator<Entry> entries(Iterator<Row> it, int partition, ColumnBinder binder, String root,
      String label, SampleSelection selection) {
    long[] ordinal = {0}; // rows are numbered in the order they are read
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED), false)
        .map(row -> {
          String file = root != null ? row.getString(binder.size()) : null;
          String id = file != null ? DataSources.relative(file, root) : "";
          String source = (file != null ? file : label) + " (partition " + partition + ", row " + ordinal[0]++ + ")";
          try {
            Sample sample = binder.decode(row, source);
            SampleSelection.Key key = selection.contentKey(id, sample.values());
            return Entry.good(key, selection.inFraction(key) ? sample : null);
          } catch (BadRecordException e) {
            return Entry.bad(selection.textKey(id, row.toString()), e);
          }
        }).iterator();
  }
}
