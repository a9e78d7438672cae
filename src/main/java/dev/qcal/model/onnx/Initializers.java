package dev.qcal.model.onnx;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Reads the values of FLOAT initializers held in the model or in its external data files. */
public final class Initializers {

  /** Floats per chunk when streaming a tensor (4 MiB of data). */
  public static final int CHUNK_FLOATS = 1 << 20;

  /** Receives a tensor's values in C order: {@code chunk} holds the values from flat index {@code first}. */
  @FunctionalInterface
  public interface ChunkVisitor {
    void accept(long first, FloatBuffer chunk);
  }

  private Initializers() {}

  /** The values of a FLOAT initializer, from {@code raw_data} (little-endian) or {@code float_data}. */
  public static float[] floats(TensorProto t) {
    requireFloat(t);
    if (ExternalData.isExternal(t)) {
      throw new ModelException("initializer '" + t.getName() + "' keeps its data in an external file,"
          + " which needs the model's directory to read");
    }
    long n = count(t);
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

  /**
   * The values of a FLOAT initializer held in the model or in an external file under {@code dir} (the
   * model's directory). For small tensors (biases); weights are streamed with {@link #forEachChunk}.
   *
   * @throws ModelException naming the tensor when it is external and {@code dir} is null, its location
   *     is refused, or it has more values than a Java array holds
   */
  public static float[] floats(TensorProto t, Path dir) {
    if (!ExternalData.isExternal(t)) {
      return floats(t);
    }
    requireFloat(t);
    long n = count(t);
    if (n > Integer.MAX_VALUE - 8) {
      throw new ModelException("initializer '" + t.getName() + "' has " + n + " values, more than one Java array holds");
    }
    float[] out = new float[(int) n];
    forEachChunk(t, dir, CHUNK_FLOATS, (first, chunk) -> chunk.get(out, (int) first, chunk.remaining()));
    return out;
  }

  /**
   * Visits the values of a FLOAT initializer in order, at most {@code chunkFloats} at a time, whatever its
   * size: inline data as views of the model's bytes, external data read from its file through one direct
   * buffer, so no Java array ever holds the tensor.
   */
  public static void forEachChunk(TensorProto t, Path dir, int chunkFloats, ChunkVisitor visitor) {
    requireFloat(t);
    long n = count(t);
    if (!ExternalData.isExternal(t)) {
      FloatBuffer all = t.getRawData().isEmpty()
          ? FloatBuffer.wrap(floats(t))
          : t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      if (all.remaining() != n) {
        throw new ModelException("initializer '" + t.getName() + "' holds " + all.remaining()
            + " values but its shape needs " + n);
      }
      for (int first = 0; first < n; first += chunkFloats) {
        int len = (int) Math.min(chunkFloats, n - first);
        visitor.accept(first, all.slice(first, len));
      }
      return;
    }
    if (dir == null) {
      throw new ModelException("initializer '" + t.getName() + "' keeps its data in an external file,"
          + " which needs the model's directory to read");
    }
    ExternalData.Span span = ExternalData.span(dir, t);
    ByteBuffer buffer = ByteBuffer.allocateDirect(chunkFloats * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    try (FileChannel in = FileChannel.open(span.file(), StandardOpenOption.READ)) {
      for (long first = 0; first < n; first += chunkFloats) {
        int len = (int) Math.min(chunkFloats, n - first);
        buffer.clear().limit(len * Float.BYTES);
        long pos = span.offset() + first * Float.BYTES;
        while (buffer.hasRemaining()) {
          int r = in.read(buffer, pos + buffer.position());
          if (r < 0) {
            throw new ModelException("initializer '" + t.getName() + "': " + span.file() + " ends before offset "
                + (pos + buffer.position()));
          }
        }
        buffer.flip();
        visitor.accept(first, buffer.asFloatBuffer());
      }
    } catch (IOException e) {
      throw new ModelException("initializer '" + t.getName() + "': cannot read " + span.file() + " (" + e + ")", e);
    }
  }

  /** The element count of {@code t}'s shape. */
  public static long count(TensorProto t) {
    long n = 1;
    for (long d : t.getDimsList()) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  private static void requireFloat(TensorProto t) {
    if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
      throw new ModelException("initializer '" + t.getName() + "' has element type "
          + TensorProto.DataType.forNumber(t.getDataType()) + ", expected FLOAT");
    }
  }
}
