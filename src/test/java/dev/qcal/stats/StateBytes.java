package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;

/** Encodes a statistics state to bytes and reads it back, refusing trailing bytes (for the codec tests). */
final class StateBytes {
  private StateBytes() {}

  interface Writer {
    void writeTo(DataOutput out) throws IOException;
  }

  interface Reader<T> {
    T readFrom(DataInput in) throws IOException;
  }

  static byte[] of(Writer state) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(b)) {
      state.writeTo(out);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return b.toByteArray();
  }

  static <T> T read(byte[] bytes, Reader<T> reader) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
    T state = reader.readFrom(in);
    assertEquals(-1, in.read(), "trailing bytes");
    return state;
  }
}
