package dev.qcal.jobs;

import dev.qcal.data.BadRecordException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StringType;

/**
 * One column value of a table row as the flat float32 values of a sample: numeric arrays (nested
 * arrays flattened in row-major order), arrays of numeric strings, numeric scalars (one value), strings
 * listing numbers (separated by spaces, commas or semicolons, optionally in brackets: a CSV cell), or
 * {@code binary} holding little-endian float32.
 */
final class RowValues {
  private RowValues() {}

  /** Whether a column of this type can hold samples. */
  public static boolean accepts(DataType t) {
    if (t instanceof BinaryType || t instanceof NumericType || t instanceof StringType) {
      return true; // a numeric scalar is a sample of one value; a string lists numbers (CSV)
    }
    if (t instanceof ArrayType a) {
      DataType e = a.elementType();
      return e instanceof NumericType || e instanceof StringType || (e instanceof ArrayType && accepts(e));
    }
    return false;
  }

  /** The flat values of column {@code i}; a bad value throws a {@link BadRecordException} naming {@code source}. */
  public static float[] floats(Row row, int i, String column, String source) {
    if (row.isNullAt(i)) {
      throw new BadRecordException(BadRecordException.NULL_VALUE, source + ": column '" + column + "' is null");
    }
    Object v = row.get(i);
    if (v instanceof byte[] bytes) {
      if (bytes.length % 4 != 0) {
        throw new BadRecordException(BadRecordException.WRONG_ELEMENT_COUNT, source + ": column '" + column
            + "' holds " + bytes.length + " bytes, not a whole number of float32 values");
      }
      float[] f = new float[bytes.length / 4];
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
      return f;
    }
    FloatList out = new FloatList();
    if (v instanceof String text) { // "0.5 1 -2", "0.5,1,-2" or "[0.5, 1, -2]": a CSV cell
      String inner = text.strip();
      if (inner.startsWith("[") && inner.endsWith("]")) {
        inner = inner.substring(1, inner.length() - 1);
      }
      for (String part : inner.split("[\\s,;]+")) {
        if (!part.isEmpty()) {
          flatten(part, out, column, source);
        }
      }
      return out.toArray();
    }
    flatten(v, out, column, source);
    return out.toArray();
  }

  private static void flatten(Object v, FloatList out, String column, String source) {
    if (v == null) {
      throw new BadRecordException(BadRecordException.NULL_VALUE, source + ": column '" + column
          + "' has a null at element " + out.size);
    }
    if (v instanceof Number n) {
      out.add(n.floatValue());
    } else if (v instanceof String s) {
      try {
        out.add(Float.parseFloat(s.trim()));
      } catch (NumberFormatException e) {
        throw new BadRecordException(BadRecordException.NON_NUMERIC, source + ": column '" + column
            + "' has a non-numeric value '" + abbreviate(s) + "' at element " + out.size);
      }
    } else if (v instanceof List<?> list) {
      for (Object o : list) {
        flatten(o, out, column, source);
      }
    } else if (v instanceof scala.collection.Seq<?> seq) {
      for (int k = 0; k < seq.length(); k++) {
        flatten(seq.apply(k), out, column, source);
      }
    } else {
      throw new BadRecordException(BadRecordException.NON_NUMERIC, source + ": column '" + column
          + "' has a " + v.getClass().getSimpleName() + " at element " + out.size + ", expected a number");
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }

  private static final class FloatList {
    private float[] a = new float[256];
    private int size;

    void add(float f) {
      if (size == a.length) {
        a = java.util.Arrays.copyOf(a, a.length * 2);
      }
      a[size++] = f;
    }

    float[] toArray() {
      return java.util.Arrays.copyOf(a, size);
    }
  }
}
