package dev.qcal.data;

import java.io.Serializable;

/**
 * One calibration sample: a value array and shape (without the batch dimension) per model input, in
 * the model's input order, and where it came from ({@code file:row}) for error messages. Each value
 * array is a primitive array of the input's type ({@link ElemType#arrayClass()}: {@code float[]} for
 * float32, {@code long[]} for int64, ...), so samples travel through Spark without boxing.
 */
public record Sample(Object[] values, long[][] shapes, String source) implements Serializable {

  public Sample {
    if (values.length != shapes.length) {
      throw new IllegalArgumentException(source + ": " + values.length + " values for " + shapes.length + " shapes");
    }
    for (int i = 0; i < values.length; i++) {
      if (!Elements.isValueArray(values[i])) {
        throw new IllegalArgumentException(source + ": input " + i + " holds " + Elements.className(values[i])
            + ", not a primitive value array");
      }
      long n = elements(shapes[i]);
      int length = ElemType.length(values[i]);
      if (n != length) {
        throw new BadRecordException(BadRecordException.WRONG_ELEMENT_COUNT, source + ": input " + i + " has " + length
            + " values but shape " + java.util.Arrays.toString(shapes[i]) + " needs " + n);
      }
    }
  }

  /** The number of values of input {@code i}. */
  public int length(int i) {
    return ElemType.length(values[i]);
  }

  public static long elements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
