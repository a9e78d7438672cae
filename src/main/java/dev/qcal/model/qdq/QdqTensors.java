package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.quant.QuantType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Reads float initializers and builds the integer and float initializers of a Q/DQ rewrite. */
public final class QdqTensors {

  private QdqTensors() {}

  static long[] dims(TensorProto t) {
    return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
  }

  /** The values of a FLOAT initializer held in the model (raw_data or float_data). */
  static float[] floats(TensorProto t) {
    return Initializers.floats(t);
  }

  public static TensorProto floatTensor(String name, long[] dims, float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return raw(name, TensorProto.DataType.FLOAT_VALUE, dims, b.array());
  }

  /** An integer tensor of {@code type}, values already in range; 4-bit types packed two per byte. */
  static TensorProto intTensor(String name, QuantType type, long[] dims, long[] values) {
    if (type.bits() == 4) {
      try {
        return raw(name, type.onnxElemType(), dims, type.pack4(values));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("'" + name + "': " + e.getMessage(), e);
      }
    }
    int width = type.bits() / 8;
    ByteBuffer b = ByteBuffer.allocate(values.length * width).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : values) {
      if (v < type.qmin() || v > type.qmax()) {
        throw new IllegalArgumentException(
            "Value " + v + " for '" + name + "' is outside the " + type.id() + " range");
      }
      switch (width) {
        case 1 -> b.put((byte) v);
        case 2 -> b.putShort((short) v);
        default -> b.putInt((int) v);
      }
    }
    return raw(name, type.onnxElemType(), dims, b.array());
  }

  private static TensorProto raw(String name, int type, long[] dims, byte[] data) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type);
    for (long d : dims) {
      t.addDims(d);
    }
    return t.setRawData(ByteString.copyFrom(data)).build();
  }
}
