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

  private static long mixInValues(long h, Object a) {
    int n = ElemType.length(a);
    for (int k = 0; k < n; k++) {
      h = mixIn(h, element(a, k));
    }
    return h;
  }

  /** The bits of element {@code k} of a value array. */
  private static long element(Object a, int k) {
    if (a instanceof float[] f) {
      return Float.floatToRawIntBits(f[k]);
    } else if (a instanceof double[] d) {
      return Double.doubleToRawLongBits(d[k]);
    } else if (a instanceof long[] l) {
      return l[k];
    } else if (a instanceof int[] i) {
      return i[k];
    } else if (a instanceof short[] s) {
      return s[k];
    }
    return ((byte[]) a)[k];
  }

  public static long elements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
