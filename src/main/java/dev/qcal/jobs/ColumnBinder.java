package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.data.ElemType;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Padding;
import dev.qcal.data.Sample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;

/**
 * Binds each model input to a table column (named like the input, or by {@code --input NAME=COLUMN}),
 * checked against the input's type, and decodes a row's bound columns as one sample through
 * {@link RowValues}. Shipped to executors with the rows it decodes.
 */
final class ColumnBinder implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  private final List<InputSpec> specs;
  private final String[] columns;
  private final int mask;
  private final long[][] declared;

  ColumnBinder(Dataset<Row> df, String label, List<InputSpec> inputs, DataOptions d,
      Map<String, long[]> sampleShapes) {
    specs = List.copyOf(inputs);
    columns = new String[specs.size()];
    declared = new long[specs.size()][];
    for (int i = 0; i < columns.length; i++) {
      InputSpec in = specs.get(i);
      StructField f = field(df, d.column(in.name()), in.name(), label);
      checkColumn(f, in, label);
      columns[i] = f.name();
      declared[i] = sampleShapes.get(in.name());
    }
    mask = maskIndex(specs, d);
  }

  /** How many inputs (the bound columns come first in a row). */
  int size() {
    return specs.size();
  }

  /** The bound columns, quoted, then {@code extra}. */
  Column[] select(String... extra) {
    List<Column> cols = new ArrayList<>();
    for (String c : columns) {
      cols.add(functions.col("`" + c.replace("`", "``") + "`"));
    }
    for (String c : extra) {
      cols.add(functions.col(c));
    }
    return cols.toArray(new Column[0]);
  }

  /**
   * The first {@link #size()} columns of {@code row} as one sample; bad values (and with {@code --mask},
   * a mask not ones then zeros) throw a BadRecordException.
   */
  Sample decode(Row row, String source) {
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
      Padding.maskLength(specs, mask, values, shapes, source); // ones then zeros, else a bad record
    } else {
      Padding.trueLengths(specs, shapes, source); // padded inputs of one length, else a bad record
    }
    return new Sample(values, shapes, source);
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
}
