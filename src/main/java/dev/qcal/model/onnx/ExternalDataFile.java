package dev.qcal.model.onnx;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One external data file being written: tensors' bytes are appended at aligned offsets (multiples of
 * {@value #LARGE_ALIGNMENT} bytes for tensors of at least {@value #LARGE_TENSOR} bytes, so ONNX Runtime
 * can map them, else of {@value #SMALL_ALIGNMENT}), and each gets an EXTERNAL {@link TensorProto}
 * pointing there. Bytes pass through file channels and direct buffers, never a Java array.
 */
public final class ExternalDataFile implements AutoCloseable {

  static final long LARGE_TENSOR = 1 << 20;
  static final long LARGE_ALIGNMENT = 1 << 16;
  static final long SMALL_ALIGNMENT = 64;

  private final Path file;
  private final String location;
  private final FileChannel channel;
  private long end;

  /** Creates (or truncates) {@code file}; tensors will name it by {@code location}. */
  public ExternalDataFile(Path file, String location) {
    this.file = file;
    this.location = location;
    try {
      this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException e) {
      throw new ModelException(file + ": cannot write external data (" + e + ")", e);
    }
  }

  /** Starts a tensor of {@code length} bytes at the next aligned offset and returns that offset. */
  public long begin(long length) {
    long align = length >= LARGE_TENSOR ? LARGE_ALIGNMENT : SMALL_ALIGNMENT;
    end = (end + align - 1) / align * align;
    return end;
  }

  /** Appends {@code bytes} (all remaining) to the current tensor. */
  public void write(ByteBuffer bytes) {
    try {
      while (bytes.hasRemaining()) {
        end += channel.write(bytes, end);
      }
    } catch (IOException e) {
      throw new ModelException(file + ": cannot write external data (" + e + ")", e);
    }
  }

  /** Appends {@code length} bytes of {@code source} from {@code offset}; returns where they start. */
  long copy(Path source, long offset, long length) {
    long start = begin(length);
    try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) {
      long done = 0;
      while (done < length) {
        long n = in.transferTo(offset + done, length - done, channel.position(start + done));
        if (n <= 0) {
          throw new IOException("unexpected end of " + source + " at " + (offset + done));
        }
        done += n;
      }
    } catch (IOException e) {
      throw new ModelException(file + ": cannot copy external data from " + source + " (" + e + ")", e);
    }
    end = start + length;
    return start;
  }

  /** {@code t}'s header (name, type, shape) with its data at {@code offset} of this file. */
  public TensorProto reference(TensorProto t, long offset, long length) {
    return t.toBuilder().clearRawData().clearFloatData().clearInt32Data().clearInt64Data().clearDoubleData()
        .clearUint64Data().clearStringData().clearExternalData()
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(entry("location", location))
        .addExternalData(entry("offset", Long.toString(offset)))
        .addExternalData(entry("length", Long.toString(length)))
        .build();
  }

  private static StringStringEntryProto entry(String key, String value) {
    return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot close external data", e);
    }
  }
}
