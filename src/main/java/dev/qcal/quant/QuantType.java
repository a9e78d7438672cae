package dev.qcal.quant;

/** Integer types a float tensor can be quantized to, with their ONNX element type and range. */
public enum QuantType {
  UINT8(0, 255, 2),
  INT8(-128, 127, 3),
  UINT16(0, 65535, 4),
  INT16(-32768, 32767, 5),
  INT32(Integer.MIN_VALUE, Integer.MAX_VALUE, 6);

  private final long qmin;
  private final long qmax;
  private final int onnxElemType;

  QuantType(long qmin, long qmax, int onnxElemType) {
    this.qmin = qmin;
    this.qmax = qmax;
    this.onnxElemType = onnxElemType;
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

  public static QuantType fromId(String id) {
    for (QuantType t : values()) {
      if (t.id().equalsIgnoreCase(id)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "Unknown quantization type '" + id + "': expected one of uint8, int8, uint16, int16, int32");
  }
}
