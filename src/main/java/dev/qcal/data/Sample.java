package dev.qcal.data;

import java.io.Serializable;

/**
 * One calibration sample: a value and shape (without the batch dimension) per model input, in the
 * model's input order, and where it came from ({@code file:row}) for error messages.
 */
public record Sample(float[][] values, long[][] shapes, String source) implements Serializable {

  public Sample {
    if (values.length != shapes.length) {
      throw new IllegalArgumentException(source + ": " + values.length + " values for " + shapes.length + " shapes");
    }
    for (int i = 0; i < values.length; i++) {
      long n = elements(shapes[i]);
      if (n != values[i].length) {
        throw new BadRecordException(BadRecordException.WRONG_ELEMENT_COUNT, source + ": input " + i + " has " + values[i].length
            + " values but shape " + java.util.Arrays.toString(shapes[i]) + " needs " + n);
      }
    }
  }

  public static long elements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
