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

  /**
   * A 64-bit hash of the sample's shapes and values (their bits), not of where it came from: the same values give
   * the same hash whatever file, row or file system holds them (FNV-1a over the elements, SplitMix64 finaliser).
   */
  public long contentHash() {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < values.length; i++) {
      h = mixIn(h, shapes[i].length);
      for (long d : shapes[i]) {
        h = mixIn(h, d);
      }
      h = mixInValues(h, values[i]);
    }
    h += 0x9e3779b97f4a7c15L;
    h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
    h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
    return h ^ (h >>> 31);
  }

  private static long mixIn(long h, long v) {
    return (h ^ v) * 0x100000001b3L;
  }

  /** Mixes in every element's bits, the array's type dispatched once rather than per element. */
  private static long mixInValues(long h, Object a) {
    if (a instanceof float[] f) {
      for (float v : f) {
        h = mixIn(h, Float.floatToRawIntBits(v));
      }
    } else if (a instanceof double[] d) {
      for (double v : d) {
        h = mixIn(h, Double.doubleToRawLongBits(v));
      }
    } else if (a instanceof long[] l) {
      for (long v : l) {
        h = mixIn(h, v);
      }
    } else if (a instanceof int[] n) {
      for (int v : n) {
        h = mixIn(h, v);
      }
    } else if (a instanceof short[] n) {
      for (short v : n) {
        h = mixIn(h, v);
      }
    } else {
      for (byte v : (byte[]) a) {
        h = mixIn(h, v);
      }
    }
    return h;
  }

  public static long elements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
