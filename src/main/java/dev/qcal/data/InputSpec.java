package dev.qcal.data;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A model input as the data must fit it: its name, its dimensions after the batch dimension
 * ({@code -1} where the model leaves a dimension dynamic), its element type, and whether its samples are
 * padded ({@code --pad}): then a sample may be shorter than a fixed dimension on its {@link #padAxes()}.
 *
 * <p>Whole inputs: {@code lead} is the model's fixed first dimension when every input of the model fixes
 * its first dimension (or has none), else 0; such an input's rows may then also carry that dimension
 * (a row of the input's full shape, {@link #wholeRow}: one whole input, run alone). With {@code whole},
 * {@code dims} are the input's full shape and every row is one whole input, fed as it is.
 */
public record InputSpec(String name, long[] dims, ElemType type, boolean padded, long lead, boolean whole)
    implements Serializable {

  /** An input of rows without the leading dimension (whole rows not accepted). */
  public InputSpec(String name, long[] dims, ElemType type, boolean padded) {
    this(name, dims, type, padded, 0, false);
  }

  /** A float32 input. */
  public InputSpec(String name, long[] dims) {
    this(name, dims, ElemType.FLOAT32);
  }

  /** An input whose samples are not padded. */
  public InputSpec(String name, long[] dims, ElemType type) {
    this(name, dims, type, false);
  }

  /** This input with its samples padded (or not). */
  public InputSpec withPadding(boolean pad) {
    return new InputSpec(name, dims, type, pad, lead, whole);
  }

  /** This input fed whole: its dims the full input shape, every row one whole input. */
  public InputSpec asWhole() {
    return whole ? this : new InputSpec(name, fullShape(), type, padded, lead, true);
  }

  /** The input's full shape as the model declares it ({@code -1} where dynamic), given a fixed {@code lead}. */
  public long[] fullShape() {
    if (whole) {
      return dims.clone();
    }
    long[] f = new long[dims.length + 1];
    f[0] = lead > 0 ? lead : -1;
    System.arraycopy(dims, 0, f, 1, dims.length);
    return f;
  }

  /** Whether a row of {@code shape} is one whole input (the full shape, leading dimension included). */
  public boolean wholeRow(long[] shape) {
    if (whole) {
      return true;
    }
    return lead > 0 && shape.length == dims.length + 1 && shape[0] == lead
        && fits(Arrays.copyOfRange(shape, 1, shape.length));
  }

  /**
   * The sample axes (after the batch) a padded input is padded on: its dynamic dimensions, or all its
   * dimensions when the model fixes every one (a token input {@code [N,128]} fed shorter rows); none when
   * not padded.
   */
  public int[] padAxes() {
    if (!padded) {
      return new int[0];
    }
    int[] dynamic = java.util.stream.IntStream.range(0, dims.length).filter(i -> dims[i] < 0).toArray();
    return dynamic.length > 0 ? dynamic : java.util.stream.IntStream.range(0, dims.length).toArray();
  }

  /**
   * The input's sample shape as ONNX declares it, e.g. {@code [N,3,?,?]} for {@code [N,3,H,W]} (its fixed
   * first dimension instead of N where whole rows are possible, {@code [5,5]}), with the element type when
   * it is not float32 ({@code int64[N,?]}).
   */
  public String describe() {
    String first = whole ? "" : lead > 0 ? Long.toString(lead) : "N";
    StringBuilder b = new StringBuilder(type == ElemType.FLOAT32 ? "" : type.toString()).append('[').append(first);
    for (int i = 0; i < dims.length; i++) {
      b.append(i > 0 || !whole ? "," : "").append(dims[i] < 0 ? "?" : Long.toString(dims[i]));
    }
    return b.append(']').toString();
  }

  /**
   * Both forms a row of this input may take when the model fixes its first dimension: the whole input
   * and the row without the leading dimension, e.g. {@code the whole input [5,5] or a row [5]}.
   */
  public String forms() {
    long[] full = fullShape();
    return "the whole input " + shape(full) + (full.length == 0 ? ""
        : " or a row " + shape(Arrays.copyOfRange(full, 1, full.length)) + " without the leading dimension");
  }

  private static String shape(long[] s) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < s.length; i++) {
      b.append(i > 0 ? "," : "").append(s[i] < 0 ? "?" : Long.toString(s[i]));
    }
    return b.append(']').toString();
  }

  /** Throws a {@link BadRecordException} naming {@code source} when {@code sampleShape} does not fit. */
  public void check(long[] sampleShape, String source) {
    if (!whole && wholeRow(sampleShape)) {
      return;
    }
    if (!fits(sampleShape)) {
      throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, source + ": sample shape "
          + Arrays.toString(sampleShape)
          + " does not fit input '" + name + "' " + describe()
          + (whole || lead > 0 ? "; expected " + forms() : ""));
    }
  }

  /** Whether {@code sampleShape} fits {@code dims} (padded axes may be shorter). */
  private boolean fits(long[] sampleShape) {
    boolean ok = sampleShape.length == dims.length;
    boolean[] shorter = new boolean[dims.length];
    for (int a : padAxes()) {
      shorter[a] = true;
    }
    for (int i = 0; ok && i < dims.length; i++) {
      ok = sampleShape[i] > 0 && (dims[i] < 0 || dims[i] == sampleShape[i] || shorter[i] && sampleShape[i] < dims[i]);
    }
    return ok;
  }

  /**
   * The sample shape of a flat array of {@code length} values: {@code declared} when given, else the
   * model's dimensions with at most one dynamic dimension inferred from the length.
   */
  public long[] shapeOfFlat(int length, long[] declared, String source) {
    long[] shape;
    if (declared != null) {
      shape = declared;
    } else if (!whole && lead > 1 && Arrays.stream(dims).allMatch(d -> d >= 0)
        && length == lead * Sample.elements(dims)) {
      shape = fullShape(); // a flat row of the full input's size: one whole input
    } else {
      shape = dims.clone();
      if (padded && dims.length > 0 && java.util.Arrays.stream(dims).allMatch(d -> d >= 0)) {
        shape[dims.length - 1] = -1; // a padded input of fixed dims: its last may be shorter
      }
      int dynamic = -1;
      long known = 1;
      for (int i = 0; i < shape.length; i++) {
        if (shape[i] < 0) {
          if (dynamic >= 0) {
            throw new DataException(source + ": input '" + name + "' " + describe()
                + " has several dynamic dimensions; give the sample shape with --sample-shape "
                + name + "=D1,D2,...");
          }
          dynamic = i;
        } else {
          known *= shape[i];
        }
      }
      if (dynamic >= 0) {
        if (known == 0 || length % known != 0) {
          throw new BadRecordException(BadRecordException.WRONG_ELEMENT_COUNT, source + ": " + length
              + " values do not fit input '" + name + "' " + describe());
        }
        shape[dynamic] = length / known;
      }
    }
    if (Sample.elements(shape) != length) {
      throw new BadRecordException(BadRecordException.WRONG_ELEMENT_COUNT, source + ": " + length
          + " values do not fit input '" + name + "' with sample shape "
          + Arrays.toString(shape) + " (" + Sample.elements(shape) + " values)");
    }
    check(shape, source);
    return shape;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof InputSpec s && name.equals(s.name) && Arrays.equals(dims, s.dims) && type == s.type
        && padded == s.padded && lead == s.lead && whole == s.whole;
  }

  @Override
  public int hashCode() {
    return (((name.hashCode() * 31 + Arrays.hashCode(dims)) * 31 + type.hashCode()) * 31 + Boolean.hashCode(padded))
        * 31 + Long.hashCode(lead) + (whole ? 1 : 0);
  }

  @Override
  public String toString() {
    return name + describe();
  }
}
