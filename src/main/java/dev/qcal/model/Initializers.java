package dev.qcal.model;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Reads the values of initializers stored inline (external data is not read here). */
public final class Initializers {
  private Initializers() {}

  /** The values of a FLOAT initializer, from {@code raw_data} (little-endian) or {@code float_data}. */
  public static float[] floats(TensorProto t) {
    if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
      throw new ModelException("initializer '" + t.getName() + "' is not float (data type " + t.getDataType() + ")");
    }
    if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
      throw new ModelException("initializer '" + t.getName() + "' keeps its data in an external file");
    }
    if (!t.getRawData().isEmpty()) {
      ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      float[] v = new float[b.remaining() / Float.BYTES];
      b.asFloatBuffer().get(v);
      return v;
    }
    float[] v = new float[t.getFloatDataCount()];
    for (int i = 0; i < v.length; i++) {
      v[i] = t.getFloatData(i);
    }
    return v;
  }
}
