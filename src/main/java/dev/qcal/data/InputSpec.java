package dev.qcal.data;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A model input as the data must fit it: its name, its dimensions after the batch dimension
 * ({@code -1} where the model leaves a dimension dynamic), its element type, and whether its samples are
 * padded ({@code --pad}): then a sample may be shorter than a fixed dimension on its {@link #padAxes()}.
 */
public record InputSpec(String name, long[] dims, ElemType type, boolean padded) implements Serializable {

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
    return new InputSpec(name, dims, type, pad);
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
   * The input's sample shape as ONNX declares it, e.g. {@code [N,3,?,?]} for {@code [N,3,H,W]}, with the
   * element type when it is not float32 ({@code int64[N,?]}).
   */
  public String describe() {
    StringBuilder b = new StringBuilder(type == ElemType.FLOAT32 ? "" : type.toString()).append("[N");
    for (long d : dims) {
      b.append(',').append(d < 0 ? "?" : Long.toString(d));
    }
    return b.append(']').toString();
  }

  /** Throws a {@link BadRecordException} naming {@code source} when {@code sampleShape} does not fit. */
  public void check(long[] sampleShape, String source) {
    boolean ok = sampleShape.length == dims.length;
    boolean[] shorter = new boolean[dims.length];
    for (int a : padAxes()) {
      shorter[a] = true;
    }
    for (int i = 0; ok && i < dims.length; i++) {
      ok = sampleShape[i] > 0 && (dims[i] < 0 || dims[i] == sampleShape[i] || shorter[i] && sampleShape[i] < dims[i]);
    }
    if (!ok) {
      throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, source + ": sample shape "
          + Arrays.toString(sampleShape)
          + " does not fit input '" + name + "' " + describe());
    }
  }

  /**
   * The sample shape of a flat array of {@code length} values: {@code declared} when given, else the
   * model's dimensions with at most one dynamic dimension inferred from the length.
   */
  public long[] shapeOfFlat(int length, long[] declared, String source) {
    long[] shape;
    if (declared != null) {
      shape = declared;
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
        && padded == s.padded;
  }

  @Override
  public int hashCode() {
    return ((name.hashCode() * 31 + Arrays.hashCode(dims)) * 31 + type.hashCode()) * 31 + Boolean.hashCode(padded);
  }

  @Override
  public String toString() {
    return name + describe();
  }
}
