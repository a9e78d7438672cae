package dev.qcal.model;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Reads the values of initializers stored inline in the model. */
public final class Initializers {
  private Initializers() {}

  /** The values of a FLOAT initializer, from {@code raw_data} (little-endian) or {@code float_data}. */
  public static float[] floats(TensorProto t) {
    if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
      throw new ModelException("initializer '" + t.getName() + "' has element type "
          + TensorProto.DataType.forNumber(t.getDataType()) + ", expected FLOAT");
    }
    if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
      throw new ModelException("initializer '" + t.getName() + "' keeps its data in an external file,"
          + " which this version does not read");
    }
    long n = 1;
    for (long d : t.getDimsList()) {
      n *= d;
    }
    float[] out;
    if (!t.getRawData().isEmpty()) {
      ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      out = new float[b.remaining() / Float.BYTES];
      b.asFloatBuffer().get(out);
    } else {
      out = new float[t.getFloatDataCount()];
      for (int i = 0; i < out.length; i++) {
        out[i] = t.getFloatData(i);
      }
    }
    if (out.length != n) {
      throw new ModelException("initializer '" + t.getName() + "' holds " + out.length
          + " values but its shape needs " + n);
    }
    return out;
  }
}
