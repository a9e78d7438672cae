package dev.qcal.quant;

/**
 * Integer types a float tensor can be quantized to, with their ONNX element type and range. The 4-bit
 * types (ONNX UINT4 = 21, INT4 = 22, from opset 21) are stored two values per byte, low nibble first
 * ({@link #pack4}).
 */
public enum QuantType {
  UINT8(0, 255, 2, 8),
  INT8(-128, 127, 3, 8),
  UINT16(0, 65535, 4, 16),
  INT16(-32768, 32767, 5, 16),
  INT32(Integer.MIN_VALUE, Integer.MAX_VALUE, 6, 32),
  UINT4(0, 15, 21, 4),
  INT4(-8, 7, 22, 4);

  /** The activation types, as {@code --activation-type} and a per-tensor config's {@code dtype} take them. */
  public static final java.util.List<QuantType> ACTIVATION_TYPES = java.util.List.of(UINT8, INT8, UINT16, INT16);

  private final long qmin;
  private final long qmax;
  private final int onnxElemType;
  private final int bits;

  QuantType(long qmin, long qmax, int onnxElemType, int bits) {
    this.qmin = qmin;
    this.qmax = qmax;
    this.onnxElemType = onnxElemType;
    this.bits = bits;
  }

  /** Bits per value: 4, 8, 16 or 32. */
  public int bits() {
    return bits;
  }

  /** The type of a {@code TensorProto.DataType} number, or null when it is none of these. */
  public static QuantType ofOnnxElemType(int elemType) {
    for (QuantType t : values()) {
      if (t.onnxElemType == elemType) {
        return t;
      }
    }
    return null;
  }

  /**
   * 4-bit values packed as ONNX stores INT4/UINT4 in {@code raw_data}: value {@code i} in byte
   * {@code i / 2}, even {@code i} in the low nibble, odd in the high nibble (two's complement for INT4);
   * an odd count leaves the last high nibble 0.
   */
  public byte[] pack4(long[] values) {
    if (bits != 4) {
      throw new IllegalArgumentException("pack4 needs a 4-bit type, not " + id());
    }
    byte[] out = new byte[(values.length + 1) / 2];
    for (int i = 0; i < values.length; i++) {
      long v = values[i];
      if (v < qmin || v > qmax) {
        throw new IllegalArgumentException("value " + v + " at index " + i + " is outside the " + id() + " range");
      }
      int nibble = (int) v & 0xF;
      out[i / 2] |= (byte) (i % 2 == 0 ? nibble : nibble << 4);
    }
    return out;
  }

  /** The inverse of {@link #pack4}: {@code count} values from packed bytes. */
  public long[] unpack4(byte[] packed, int count) {
    if (bits != 4) {
      throw new IllegalArgumentException("unpack4 needs a 4-bit type, not " + id());
    }
    if (packed.length != (count + 1) / 2) {
      throw new IllegalArgumentException(count + " values need " + (count + 1) / 2 + " bytes, got " + packed.length);
    }
    long[] out = new long[count];
    for (int i = 0; i < count; i++) {
      int nibble = (packed[i / 2] >> (i % 2 == 0 ? 0 : 4)) & 0xF;
      out[i] = signed() && nibble >= 8 ? nibble - 16 : nibble;
    }
    return out;
  }

  public long qmin() {
    return qmin;
  }

  public long qmax() {
    return qmax;
  }

  /** The {@code TensorProto.DataType} number ONNX uses for this type. */
  public int onnxElemType() {
    return onnxElemType;
  }

  public boolean signed() {
    return qmin < 0;
  }

  /** Lower-case name as written in qparams.json and on the command line. */
  public String id() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** The ids of {@code types} in words: {@code uint8, int8, uint16 or int16}. */
  public static String ids(java.util.List<QuantType> types) {
    java.util.List<String> ids = types.stream().map(QuantType::id).toList();
    return ids.size() < 2 ? String.join("", ids)
        : String.join(", ", ids.subList(0, ids.size() - 1)) + " or " + ids.get(ids.size() - 1);
  }

  public static QuantType fromId(String id) {
    for (QuantType t : values()) {
      if (t.id().equalsIgnoreCase(id)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "Unknown quantization type '" + id + "': expected one of uint8, int8, uint16, int16, int32, uint4, int4");
  }
}
