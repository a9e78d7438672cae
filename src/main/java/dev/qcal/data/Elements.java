package dev.qcal.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Typed element arrays (see {@link ElemType}): exact-fit writes of source values into an input's type,
 * and packing into ONNX Runtime's native-order buffers. A value that does not fit the target exactly
 * is reported, never narrowed: an integer out of the target's range, an integer a float type cannot
 * hold exactly, a finite float that overflows a narrower float type, a bool that is not 0 or 1. Floats
 * narrow to a narrower float type by rounding to nearest (that is what a float type is for).
 */
public final class Elements {
  private Elements() {}

  /** The simple class name of {@code values}, for messages. */
  static String className(Object values) {
    return values == null ? "null" : values.getClass().getSimpleName();
  }

  /** Whether {@code values} is an array class a {@link Sample} may hold. */
  public static boolean isValueArray(Object values) {
    return values instanceof float[] || values instanceof long[] || values instanceof int[]
        || values instanceof double[] || values instanceof short[] || values instanceof byte[];
  }

  /** Bytes per element of the array {@code values}. */
  public static int bytesPerElement(Object values) {
    if (values instanceof float[] || values instanceof int[]) {
      return 4;
    }
    if (values instanceof long[] || values instanceof double[]) {
      return 8;
    }
    if (values instanceof short[]) {
      return 2;
    }
    if (values instanceof byte[]) {
      return 1;
    }
    throw new IllegalArgumentException("not a value array: " + className(values));
  }

  /** Appends all of {@code values} at {@code b}'s position (its byte order: native for ONNX Runtime). */
  public static void put(ByteBuffer b, Object values) {
    int at = b.position();
    int n;
    if (values instanceof float[] f) {
      b.asFloatBuffer().put(f);
      n = f.length * 4;
    } else if (values instanceof long[] l) {
      b.asLongBuffer().put(l);
      n = l.length * 8;
    } else if (values instanceof int[] i) {
      b.asIntBuffer().put(i);
      n = i.length * 4;
    } else if (values instanceof double[] d) {
      b.asDoubleBuffer().put(d);
      n = d.length * 8;
    } else if (values instanceof short[] s) {
      b.asShortBuffer().put(s);
      n = s.length * 2;
    } else if (values instanceof byte[] y) {
      b.put(y);
      return;
    } else {
      throw new IllegalArgumentException("not a value array: " + className(values));
    }
    b.position(at + n);
  }

  /**
   * Writes integer {@code v} at {@code k} of {@code dst} (an array of type {@code t}); returns null, or
   * why {@code v} does not fit {@code t} exactly.
   */
  public static String putLong(Object dst, ElemType t, int k, long v) {
    switch (t) {
      case FLOAT32 -> {
        float f = v;
        if ((long) f != v || f == 0x1p63f) {
          return v + " is not exactly a float32";
        }
        ((float[]) dst)[k] = f;
      }
      case FLOAT64 -> {
        double d = v;
        if ((long) d != v || d == 0x1p63) {
          return v + " is not exactly a float64";
        }
        ((double[]) dst)[k] = d;
      }
      case FLOAT16 -> {
        short h = toHalf(v);
        if ((double) fromHalf(h) != (double) v || (long) (double) v != v) {
          return v + " is not exactly a float16";
        }
        ((short[]) dst)[k] = h;
      }
      default -> {
        if (v < t.min() || v > t.max()) {
          return v + " is outside " + t + "'s range [" + t.min() + ", " + t.max() + "]";
        }
        switch (t) {
          case INT64 -> ((long[]) dst)[k] = v;
          case INT32 -> ((int[]) dst)[k] = (int) v;
          case INT16, UINT16 -> ((short[]) dst)[k] = (short) v;
          default -> ((byte[]) dst)[k] = (byte) v; // INT8, UINT8, BOOL
        }
      }
    }
    return null;
  }

  /**
   * Writes floating {@code v} at {@code k} of {@code dst} (an array of float type {@code t}), rounded to
   * nearest; returns null, or why it does not fit (a finite value beyond the type's range).
   */
  public static String putDouble(Object dst, ElemType t, int k, double v) {
    switch (t) {
      case FLOAT64 -> ((double[]) dst)[k] = v;
      case FLOAT32 -> {
        float f = (float) v;
        if (Float.isInfinite(f) && !Double.isInfinite(v)) {
          return v + " overflows float32";
        }
        ((float[]) dst)[k] = f;
      }
      case FLOAT16 -> {
        short h = toHalf(v);
        if ((h & 0x7fff) == 0x7c00 && !Double.isInfinite(v)) {
          return v + " overflows float16";
        }
        ((short[]) dst)[k] = h;
      }
      default -> throw new IllegalArgumentException(t + " is not a float type");
    }
    return null;
  }

  /** The IEEE binary16 bits nearest to {@code v} (ties to even; beyond the largest finite value: infinity). */
  public static short toHalf(double v) {
    long sign = Double.doubleToRawLongBits(v) < 0 ? 0x8000 : 0;
    double a = Math.abs(v);
    if (Double.isNaN(v)) {
      return (short) 0x7e00;
    }
    if (a == 0) {
      return (short) sign;
    }
    // the spacing of binary16 values around a: 2^(e-10) for normal e, 2^-24 below 2^-14
    int e = Math.max(Math.getExponent(a), -14);
    double ulp = Math.scalb(1.0, e - 10);
    double r = Math.rint(a / ulp) * ulp; // exact: a / ulp is exact and rint rounds half to even
    if (r >= 65536.0) {
      return (short) (sign | 0x7c00);
    }
    int re = Math.getExponent(r);
    long bits;
    if (r == 0) {
      bits = 0;
    } else if (re < -14) {
      bits = (long) Math.scalb(r, 24); // subnormal: r / 2^-24
    } else {
      bits = ((long) (re + 15) << 10) | ((long) Math.scalb(r, 10 - re) - 1024);
    }
    return (short) (sign | bits);
  }

  /** The value of IEEE binary16 bits {@code h}. */
  public static float fromHalf(short h) {
    int bits = h & 0xffff;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    float v;
    if (exp == 0x1f) {
      v = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
    } else if (exp == 0) {
      v = Math.scalb((float) mant, -24);
    } else {
      v = Math.scalb((float) (1024 + mant), exp - 25);
    }
    return (bits & 0x8000) != 0 ? -v : v;
  }

  /**
   * Converts {@code n} little-endian elements of type {@code from} at {@code src}'s position into
   * {@code dst[offset ..]} of type {@code to}; returns null, or why an element does not fit, as
   * {@code "element K: ..."} with {@code K} its index in {@code dst}. Float data for an integer or bool type is refused by the caller
   * ({@link #feeds}) before any value is read.
   */
  public static String convert(ByteBuffer src, ElemType from, int n, ElemType to, Object dst, int offset) {
    ByteBuffer le = src.slice().order(ByteOrder.LITTLE_ENDIAN);
    if (from == to) {
      switch (to) {
        case FLOAT32 -> le.asFloatBuffer().get((float[]) dst, offset, n);
        case FLOAT64 -> le.asDoubleBuffer().get((double[]) dst, offset, n);
        case INT64 -> le.asLongBuffer().get((long[]) dst, offset, n);
        case INT32 -> le.asIntBuffer().get((int[]) dst, offset, n);
        case INT16, UINT16, FLOAT16 -> le.asShortBuffer().get((short[]) dst, offset, n);
        case INT8, UINT8 -> le.get((byte[]) dst, offset, n);
        case BOOL -> {
          for (int i = 0; i < n; i++) {
            byte b = le.get(i);
            if (b != 0 && b != 1) {
              return "element " + (offset + i) + ": " + (b & 0xff) + " is not a bool (0 or 1)";
            }
            ((byte[]) dst)[offset + i] = b;
          }
        }
        default -> throw new IllegalStateException(to.name());
      }
      return null;
    }
    for (int i = 0; i < n; i++) {
      String why;
      if (from.isFloat()) {
        double v = switch (from) {
          case FLOAT32 -> le.getFloat(i * 4);
          case FLOAT64 -> le.getDouble(i * 8);
          default -> fromHalf(le.getShort(i * 2));
        };
        why = putDouble(dst, to, offset + i, v);
      } else {
        long v = switch (from) {
          case INT64 -> le.getLong(i * 8);
          case INT32 -> le.getInt(i * 4);
          case INT16 -> le.getShort(i * 2);
          case UINT16 -> le.getShort(i * 2) & 0xffff;
          case INT8 -> le.get(i);
          default -> le.get(i) & 0xff; // UINT8, BOOL
        };
        if (from == ElemType.BOOL && v > 1) {
          return "element " + (offset + i) + ": " + v + " is not a bool (0 or 1)";
        }
        why = putLong(dst, to, offset + i, v);
      }
      if (why != null) {
        return "element " + (offset + i) + ": " + why;
      }
    }
    return null;
  }

  /**
   * Whether data of type {@code from} can feed an input of type {@code to}, value by value with the
   * exact-fit checks above: any type feeds a float input; integers and bools feed integer and bool
   * inputs. Float data never feeds an integer or bool input: a float32 file cannot even hold every
   * token id above 2^24, so integral values would not prove the data right.
   */
  public static boolean feeds(ElemType from, ElemType to) {
    return to.isFloat() || !from.isFloat();
  }
}
