package dev.qcal.jobs;

import dev.qcal.data.BadRecordException;
import dev.qcal.data.ElemType;
import dev.qcal.data.Elements;
import dev.qcal.data.InputSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.IntegralType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StringType;

/**
 * One column value of a table row as the flat values of a sample, in the input's type: numeric or
 * boolean arrays (nested arrays flattened in row-major order), arrays of numeric strings, numeric
 * scalars (one value), strings listing numbers (separated by spaces, commas or semicolons, optionally in
 * brackets: a CSV cell), or {@code binary} holding little-endian values of the input's type. Values
 * convert exactly or not at all ({@link Elements}): integer columns feed any input, float columns feed
 * float inputs only.
 */
final class RowValues {
  private RowValues() {}

  /** Whether a column of this type can hold samples of a float32 input. */
  public static boolean accepts(DataType t) {
    return accepts(t, ElemType.FLOAT32);
  }

  /** Whether a column of this type can hold samples of an input of type {@code type}. */
  public static boolean accepts(DataType t, ElemType type) {
    if (t instanceof BinaryType || t instanceof StringType || t instanceof BooleanType || t instanceof IntegralType) {
      return true; // a numeric scalar is a sample of one value; a string lists numbers (CSV)
    }
    if (t instanceof NumericType) {
      return type.isFloat(); // float, double, decimal
    }
    if (t instanceof ArrayType a) {
      DataType e = a.elementType();
      return !(e instanceof BinaryType) && accepts(e, type);
    }
    return false;
  }

  /** The element type a column of type {@code t} holds, for messages: {@code double} of {@code array<double>}. */
  static String leaf(DataType t) {
    return t instanceof ArrayType a ? leaf(a.elementType()) : t.simpleString();
  }

  /**
   * The flat values of column {@code i} for {@code input}: a {@code float[]} for a float32 input (see
   * {@link #floats}), else an array of the input's type; a bad or misfitting value throws a
   * {@link BadRecordException} naming {@code source}, the column and the input.
   */
  public static Object values(Row row, int i, String column, InputSpec input, String source) {
    ElemType type = input.type();
    if (type == ElemType.FLOAT32) {
      return floats(row, i, column, source);
    }
    if (row.isNullAt(i)) {
      throw new BadRecordException(BadRecordException.NULL_VALUE, source + ": column '" + column + "' is null");
    }
    Object v = row.get(i);
    String where = source + ": column '" + column + "' for input '" + input.name() + "' (" + type + ")";
    if (v instanceof byte[] bytes) {
      if (bytes.length % type.bytes() != 0) {
        throw new BadRecordException(BadRecordException.WRONG_ELEMENT_COUNT, where + " holds " + bytes.length
            + " bytes, not a whole number of little-endian " + type + " values");
      }
      int n = bytes.length / type.bytes();
      Object out = type.newArray(n);
      String why = Elements.convert(ByteBuffer.wrap(bytes), type, n, type, out, 0);
      if (why != null) {
        throw new BadRecordException(BadRecordException.DOES_NOT_FIT, where + ": " + why);
      }
      return out;
    }
    TypedList out = new TypedList(type, where);
    if (v instanceof String text) {
      for (String part : cell(text)) {
        out.add(part);
      }
    } else {
      out.addAll(v);
    }
    return out.toArray();
  }

  /** The numbers a CSV cell lists: {@code "0.5 1 -2"}, {@code "0.5,1,-2"} or {@code "[0.5, 1, -2]"}. */
  private static List<String> cell(String text) {
    String inner = text.strip();
    if (inner.startsWith("[") && inner.endsWith("]")) {
      inner = inner.substring(1, inner.length() - 1);
    }
    return java.util.Arrays.stream(inner.split("[\\s,;]+")).filter(p -> !p.isEmpty()).toList();
  }

  /** Values of one type appended with exact-fit checks; a misfit names the element. */
  private static final class TypedList {
    private final ElemType type;
    private final String where;
    private Object a;
    private int size;

    TypedList(ElemType type, String where) {
      this.type = type;
      this.where = where;
      this.a = type.newArray(64);
    }

    void addAll(Object v) {
      if (v == null) {
        throw new BadRecordException(BadRecordException.NULL_VALUE, where + " has a null at element " + size);
      }
      if (v instanceof List<?> list) {
        for (Object o : list) {
          addAll(o);
        }
      } else if (v instanceof scala.collection.Seq<?> seq) {
        for (int k = 0; k < seq.length(); k++) {
          addAll(seq.apply(k));
        }
      } else if (v instanceof String s) {
        add(s.strip());
      } else if (v instanceof Boolean b) {
        put(Elements.putLong(grow(), type, size, b ? 1 : 0));
      } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
        put(Elements.putLong(grow(), type, size, ((Number) v).longValue()));
      } else if (v instanceof Number n && type.isFloat()) {
        put(Elements.putDouble(grow(), type, size, n.doubleValue()));
      } else if (v instanceof java.math.BigDecimal d) {
        try {
          put(Elements.putLong(grow(), type, size, d.longValueExact()));
        } catch (ArithmeticException e) {
          put(d + " is not an integer");
        }
      } else if (v instanceof Number n) {
        put(n + " is a " + v.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT)
            + "; float data does not feed an integer or bool input");
      } else {
        throw new BadRecordException(BadRecordException.NON_NUMERIC, where + " has a " + v.getClass().getSimpleName()
            + " at element " + size + ", expected a number");
      }
    }

    /** A number written as text: an integer for an integer or bool input (also true/false for bool). */
    void add(String s) {
      if (type.isFloat()) {
        double d;
        try {
          d = Double.parseDouble(s);
        } catch (NumberFormatException e) {
          throw nonNumeric(s);
        }
        put(Elements.putDouble(grow(), type, size, d));
        return;
      }
      if (type == ElemType.BOOL && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
        put(Elements.putLong(grow(), type, size, s.equalsIgnoreCase("true") ? 1 : 0));
        return;
      }
      long v;
      try {
        v = Long.parseLong(s);
      } catch (NumberFormatException e) {
        try {
          Double.parseDouble(s);
        } catch (NumberFormatException notANumber) {
          throw nonNumeric(s);
        }
        put("'" + abbreviate(s) + "' is not an integer");
        return;
      }
      put(Elements.putLong(grow(), type, size, v));
    }

    private BadRecordException nonNumeric(String s) {
      return new BadRecordException(BadRecordException.NON_NUMERIC, where + " has a non-numeric value '"
          + abbreviate(s) + "' at element " + size);
    }

    private Object grow() {
      int n = ElemType.length(a);
      if (size == n) {
        Object b = type.newArray(n * 2);
        System.arraycopy(a, 0, b, 0, n);
        a = b;
      }
      return a;
    }

    /** Counts the value just written, or throws why it did not fit. */
    private void put(String why) {
      if (why != null) {
        throw new BadRecordException(BadRecordException.DOES_NOT_FIT, where + ": element " + size + ": " + why);
      }
      size++;
    }

    Object toArray() {
      Object b = type.newArray(size);
      System.arraycopy(a, 0, b, 0, size);
      return b;
    }
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
    if ((v instanceof Long || v instanceof Integer) && (long) ((Number) v).floatValue() != ((Number) v).longValue()) {
      throw new BadRecordException(BadRecordException.DOES_NOT_FIT, source + ": column '" + column + "': element "
          + out.size + ": " + v + " is not exactly a float32");
    }
    if (v instanceof Number n) {
      out.add(n.floatValue());
    } else if (v instanceof Boolean b) {
      out.add(b ? 1f : 0f);
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

  /**
   * The shape the nesting of column {@code i} gives ({@code [[1,2,3],[4,5,6]]}: {@code [2, 3]}), or null when
   * the value is not an array of arrays (a flat array, a scalar, a string, binary): its shape comes from the
   * model or {@code --sample-shape}. Ragged nesting (siblings of different lengths, or arrays beside numbers)
   * is a bad record naming {@code source}, the column and where the nesting breaks.
   */
  static long[] nestedShape(Row row, int i, String column, String source) {
    Object v = row.isNullAt(i) ? null : row.get(i);
    List<?> top = list(v);
    if (top == null || top.isEmpty() || list(top.get(0)) == null) {
      return null;
    }
    java.util.ArrayList<Long> dims = new java.util.ArrayList<>();
    for (List<?> l = top; l != null; l = l.isEmpty() ? null : list(l.get(0))) {
      dims.add((long) l.size());
    }
    checkNesting(top, dims, 0, "", column, source);
    return dims.stream().mapToLong(Long::longValue).toArray();
  }

  private static void checkNesting(List<?> l, List<Long> dims, int depth, String at, String column, String source) {
    if (l.size() != dims.get(depth)) {
      throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, source + ": column '" + column
          + "' is ragged: element " + (at.isEmpty() ? "[]" : at) + " holds " + l.size() + " values where its first"
          + " sibling holds " + dims.get(depth));
    }
    if (depth + 1 == dims.size()) {
      for (int k = 0; k < l.size(); k++) {
        if (list(l.get(k)) != null) {
          throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, source + ": column '" + column
              + "' is ragged: element " + at + "[" + k + "] is an array where its siblings are numbers");
        }
      }
      return;
    }
    for (int k = 0; k < l.size(); k++) {
      List<?> child = list(l.get(k));
      if (child == null) {
        throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, source + ": column '" + column
            + "' is ragged: element " + at + "[" + k + "] is a number where its siblings are arrays");
      }
      checkNesting(child, dims, depth + 1, at + "[" + k + "]", column, source);
    }
  }

  /** {@code v} as a list when it is an array value (a Java list or a Scala sequence), else null. */
  private static List<?> list(Object v) {
    if (v instanceof List<?> l) {
      return l;
    }
    if (v instanceof scala.collection.Seq<?> seq) {
      return scala.jdk.javaapi.CollectionConverters.asJava(seq);
    }
    return null;
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
