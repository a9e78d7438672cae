package dev.qcal.jobs;

import dev.qcal.data.DataException;
import java.util.Iterator;
import org.apache.spark.sql.Row;

/** Names a file that is not Parquet as bad input, whether schema inference or a task finds it. */
final class ParquetErrors {
  private ParquetErrors() {}

  /**
   * The rows, with a file that turns out not to be Parquet while they are read (schema inference
   * reads one footer only) reported as bad input naming it, not as a task failure.
   */
  static Iterator<Row> namingFilesThatAreNotParquet(Iterator<Row> it) {
    return new Iterator<Row>() {
      @Override
      public boolean hasNext() {
        return naming(it::hasNext);
      }

      @Override
      public Row next() {
        return naming(it::next);
      }
    };
  }

  private static <T> T naming(java.util.function.Supplier<T> read) {
    try {
      return read.get();
    } catch (Exception e) { // Spark's SparkException, checked in Java, is thrown undeclared
      throw rethrow(e);
    }
  }

  private static RuntimeException rethrow(Exception e) {
    DataException d = notParquet(e, null);
    if (d != null) {
      return d;
    }
    return ParquetErrors.<RuntimeException>sneaky(e);
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
      java.util.regex.Matcher f = java.util.regex.Pattern.compile("reading file (.+?)\\.(\\s|$)")
          .matcher(DataSources.firstLine(c));
      if (f.find()) {
        file = f.group(1);
      }
    }
    return notParquet && file != null
        ? new DataException(file + ": not a Parquet file (" + DataSources.firstLine(root) + ")", e) : null;
  }
}
