package dev.qcal.data;

/**
 * The element types qcal feeds to model inputs: each with its ONNX {@code TensorProto.DataType} code,
 * bytes per element, the Java array a {@link Sample} holds it in and its name in messages (numpy's).
 * float16 values are held as their IEEE binary16 bits in a {@code short[]}; int8, uint8 and bool as
 * {@code byte[]} (bool: 0 or 1).
 */
public enum ElemType {
  FLOAT32(1, 4, float[].class),
  UINT8(2, 1, byte[].class),
  INT8(3, 1, byte[].class),
  UINT16(4, 2, short[].class),
  INT16(5, 2, short[].class),
  INT32(6, 4, int[].class),
  INT64(7, 8, long[].class),
  BOOL(9, 1, byte[].class),
  FLOAT16(10, 2, short[].class),
  FLOAT64(11, 8, double[].class);

  private final int onnx;
  private final int bytes;
  private final Class<?> array;

  ElemType(int onnx, int bytes, Class<?> array) {
    this.onnx = onnx;
    this.bytes = bytes;
    this.array = array;
  }

  /** The type of ONNX data-type code {@code code}, or null when qcal cannot feed it. */
  public static ElemType ofOnnx(int code) {
    for (ElemType t : values()) {
      if (t.onnx == code) {
        return t;
      }
    }
    return null;
  }

  public int onnx() {
    return onnx;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** The Java array class holding values of this type. */
  public Class<?> arrayClass() {
    return array;
  }

  public boolean isFloat() {
    return this == FLOAT32 || this == FLOAT64 || this == FLOAT16;
  }

  /** The smallest and largest value of an integer or bool type. */
  public long min() {
    return switch (this) {
      case UINT8, UINT16, BOOL -> 0;
      case INT8 -> Byte.MIN_VALUE;
      case INT16 -> Short.MIN_VALUE;
      case INT32 -> Integer.MIN_VALUE;
      default -> Long.MIN_VALUE;
    };
  }

  public long max() {
    return switch (this) {
      case BOOL -> 1;
      case UINT8 -> 255;
      case INT8 -> Byte.MAX_VALUE;
      case UINT16 -> 65535;
      case INT16 -> Short.MAX_VALUE;
      case INT32 -> Integer.MAX_VALUE;
      default -> Long.MAX_VALUE;
    };
  }

  /** A new zeroed array of {@code n} elements of this type. */
  public Object newArray(int n) {
    return java.lang.reflect.Array.newInstance(array.getComponentType(), n);
  }

  /** numpy's name: {@code float32}, {@code int64}, {@code bool}, ... */
  @Override
  public String toString() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Elements in {@code values}, an array of one of the supported classes. */
  public static int length(Object values) {
    return java.lang.reflect.Array.getLength(values);
  }
}
