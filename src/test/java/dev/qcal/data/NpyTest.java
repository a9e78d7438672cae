package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

  @TempDir Path tmp;

  /** Bytes of a .npy file built by hand the way numpy.save lays it out. */
  private static byte[] npy(int major, String dict, byte[] data) {
    int lenBytes = major == 1 ? 2 : 4;
    int unpadded = 6 + 2 + lenBytes + dict.length() + 1;
    int pad = (64 - unpadded % 64) % 64;
    byte[] hdr = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.UTF_8);
    ByteBuffer bb = ByteBuffer.allocate(6 + 2 + lenBytes + hdr.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
    if (lenBytes == 2) {
      bb.putShort((short) hdr.length);
    } else {
      bb.putInt(hdr.length);
    }
    bb.put(hdr).put(data);
    return bb.array();
  }

  private static byte[] f4(float... v) {
    ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    return bb.array();
  }

  private static byte[] f8(double... v) {
    ByteBuffer bb = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    bb.asDoubleBuffer().put(v);
    return bb.array();
  }

  private static Npy.Reader open(byte[] bytes, String name) throws IOException {
    return Npy.open(new ByteArrayInputStream(bytes), name);
  }

  private static String openError(byte[] bytes, String name) {
    return assertThrows(IOException.class, () -> open(bytes, name).close()).getMessage();
  }

  @Test
  void roundTripFloat32() throws IOException {
    float[] data = new float[4 * 3 * 2];
    for (int i = 0; i < data.length; i++) {
      data[i] = i * 0.5f - 3f;
    }
    Path f = tmp.resolve("a.npy");
    Npy.writeFloat32(f, data, new long[] {4, 3, 2});
    try (Npy.Reader r = Npy.open(f)) {
      assertArrayEquals(new long[] {4, 3, 2}, r.shape());
      assertEquals("<f4", r.dtype());
      assertEquals(4, r.rows());
      assertEquals(6, r.rowElements());
      float[] row = new float[6];
      for (int i = 0; i < 4; i++) {
        assertTrue(r.readRow(row));
        assertArrayEquals(Arrays.copyOfRange(data, i * 6, i * 6 + 6), row);
      }
      assertFalse(r.readRow(row));
    }
  }

  @Test
  void writerProducesNumpyHeaderBytes() throws IOException {
    Path f = tmp.resolve("b.npy");
    Npy.writeFloat32(f, new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3});
    byte[] b = Files.readAllBytes(f);
    assertEquals(128 + 24, b.length);
    assertEquals(1, b[6]);
    assertEquals(0, b[7]);
    assertEquals(118, (b[8] & 0xff) | (b[9] & 0xff) << 8);
    String dict = new String(b, 10, 118, StandardCharsets.ISO_8859_1);
    assertTrue(dict.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }  "), dict);
    assertTrue(dict.endsWith(" \n"));
    // identical to the layout built independently in npy(...)
    assertArrayEquals(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4(1, 2, 3, 4, 5, 6)), b);
  }

  @Test
  void parsesNumpyWrittenHeader() throws IOException {
    byte[] b = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4(1, 2, 3, 4, 5, 6));
    try (Npy.Reader r = open(b, "x.npy")) {
      assertArrayEquals(new long[] {2, 3}, r.shape());
      assertEquals(2, r.rows());
      assertEquals(3, r.rowElements());
      float[] row = new float[3];
      assertTrue(r.readRow(row));
      assertArrayEquals(new float[] {1, 2, 3}, row);
      assertTrue(r.readRow(row));
      assertArrayEquals(new float[] {4, 5, 6}, row);
      assertFalse(r.readRow(row));
    }
  }

  @Test
  void parsesVersion2And3Headers() throws IOException {
    for (int major : new int[] {2, 3}) {
      byte[] b = npy(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f4(7, 8));
      try (Npy.Reader r = open(b, "v" + major + ".npy")) {
        float[] row = new float[2];
        assertTrue(r.readRow(row));
        assertArrayEquals(new float[] {7, 8}, row);
        assertFalse(r.readRow(row));
      }
    }
  }

  @Test
  void oneDimensionalArrayHasOneElementPerRow() throws IOException {
    Path f = tmp.resolve("c.npy");
    Npy.writeFloat32(f, new float[] {1, 2, 3, 4, 5}, new long[] {5});
    String dict = new String(Files.readAllBytes(f), 10, 118, StandardCharsets.ISO_8859_1);
    assertTrue(dict.contains("'shape': (5,), }"), dict);
    try (Npy.Reader r = Npy.open(f)) {
      assertArrayEquals(new long[] {5}, r.shape());
      assertEquals(5, r.rows());
      assertEquals(1, r.rowElements());
      float[] row = new float[1];
      for (int i = 1; i <= 5; i++) {
        assertTrue(r.readRow(row));
        assertEquals(i, row[0]);
      }
      assertFalse(r.readRow(row));
    }
  }

  @Test
  void zeroDimensionalArrayIsOneRow() throws IOException {
    byte[] b = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f4(42));
    try (Npy.Reader r = open(b, "s.npy")) {
      assertEquals(0, r.shape().length);
      assertEquals(1, r.rows());
      assertEquals(1, r.rowElements());
      float[] row = new float[1];
      assertTrue(r.readRow(row));
      assertEquals(42f, row[0]);
      assertFalse(r.readRow(row));
    }
  }

  @Test
  void float64IsNarrowedToFloat() throws IOException {
    byte[] b = npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f8(0.1, -2.5, 1e300, 3));
    try (Npy.Reader r = open(b, "d.npy")) {
      assertEquals("<f8", r.dtype());
      float[] row = new float[2];
      assertTrue(r.readRow(row));
      assertArrayEquals(new float[] {0.1f, -2.5f}, row);
      assertTrue(r.readRow(row));
      assertArrayEquals(new float[] {Float.POSITIVE_INFINITY, 3f}, row);
      assertFalse(r.readRow(row));
    }
  }

  @Test
  void rejectsBigEndian() {
    byte[] b = npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);
    assertEquals(
        "data/x.npy: expected a numeric dtype (float32, float64, float16, int64, int32, int16, int8, uint8, uint16 or"
            + " bool) in little-endian C order, found '>f4' (big-endian)",
        openError(b, "data/x.npy"));
  }

  @Test
  void rejectsOtherDtypes() {
    byte[] b = npy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]);
    String msg = openError(b, "data/y.npy");
    assertTrue(msg.startsWith("data/y.npy: expected a numeric dtype (float32, "), msg);
    assertTrue(msg.endsWith("found '<c8' (complex64)"), msg);
    b = npy(1, "{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }", new byte[20]);
    assertTrue(openError(b, "data/s.npy").endsWith("found '<U5' (a string dtype)"), openError(b, "data/s.npy"));
  }

  @Test
  void rejectsFortranOrder() {
    byte[] b = npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]);
    String msg = openError(b, "data/f.npy");
    assertEquals("data/f.npy: expected a numeric dtype (float32, float64, float16, int64, int32, int16, int8, uint8,"
        + " uint16 or bool) in little-endian C order, found '<f4' in Fortran order", msg);
  }

  @Test
  void readsUint8AndInt64AsFloat() throws Exception {
    byte[] u8 = npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", new byte[] {0, 1, (byte) 200,
        (byte) 255});
    try (Npy.Reader r = Npy.open(new java.io.ByteArrayInputStream(u8), "u8.npy")) {
      float[] row = new float[2];
      assertTrue(r.readRow(row));
      assertArrayEquals(new float[] {0, 1}, row);
      assertTrue(r.readRow(row));
      assertArrayEquals(new float[] {200, 255}, row);
    }
    ByteBuffer longs = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-3).putLong(1L << 40);
    byte[] i8 = npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", longs.array());
    try (Npy.Reader r = Npy.open(new java.io.ByteArrayInputStream(i8), "i8.npy")) {
      float[] row = new float[1];
      assertTrue(r.readRow(row));
      assertArrayEquals(new float[] {-3}, row);
      assertTrue(r.readRow(row));
      assertArrayEquals(new float[] {(float) (1L << 40)}, row);
    }
  }

  @Test
  void rejectsBadMagic() {
    byte[] b = "not numpy at all, just some text".getBytes(StandardCharsets.US_ASCII);
    assertEquals("data/foo.npy: not a .npy file (bad magic bytes)", openError(b, "data/foo.npy"));
    assertEquals("empty.npy: not a .npy file (bad magic bytes)", openError(new byte[0], "empty.npy"));
  }

  @Test
  void rejectsUnknownVersion() {
    byte[] b = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);
    b[6] = 4;
    assertEquals("v.npy: expected .npy format version 1.0, 2.0 or 3.0, found 4.0", openError(b, "v.npy"));
  }

  @Test
  void rejectsMalformedHeader() {
    byte[] b = npy(1, "{'descr': '<f4', 'shape': (1,), }", new byte[4]);
    String msg = openError(b, "h.npy");
    assertTrue(msg.startsWith("h.npy: expected a header dict with 'descr', 'fortran_order' and 'shape', found {"), msg);
    assertFalse(msg.contains("\n"));
  }

  @Test
  void rejectsRowsTooLargeForMemory() {
    byte[] b = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 100000, 100000), }", new byte[0]);
    assertEquals(
        "big.npy: expected rows of at most 2 GiB, found shape (2, 100000, 100000) of 4-byte elements",
        openError(b, "big.npy"));
    byte[] o = npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 9223372036854775807, 4), }", new byte[0]);
    assertTrue(openError(o, "o.npy").startsWith("o.npy: expected rows of at most 2 GiB"));
  }

  @Test
  void truncatedHeaderNamesSource() {
    byte[] full = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);
    String msg = openError(Arrays.copyOf(full, 30), "t.npy");
    assertEquals("t.npy: truncated header dictionary: expected 118 bytes, found 20", msg);
  }

  @Test
  void truncatedDataNamesRowAndByteCounts() throws IOException {
    byte[] full = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", f4(new float[12]));
    byte[] cut = Arrays.copyOf(full, full.length - 20); // row 1 has 12 of 16 bytes, row 2 is missing
    try (Npy.Reader r = open(cut, "data/t.npy")) {
      float[] row = new float[4];
      assertTrue(r.readRow(row));
      IOException e = assertThrows(IOException.class, () -> r.readRow(row));
      assertEquals(
          "data/t.npy: truncated at row 1 of 3: expected 16 bytes for the row (48 in total for shape (3, 4)), found 12",
          e.getMessage());
    }
  }

  @Test
  void dstTooShortIsRejected() throws IOException {
    byte[] b = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", f4(1, 2, 3));
    try (Npy.Reader r = open(b, "s.npy")) {
      assertThrows(IllegalArgumentException.class, () -> r.readRow(new float[2]));
    }
  }

  @Test
  void int64WriterLayout() throws IOException {
    Path f = tmp.resolve("l.npy");
    Npy.writeInt64(f, new long[] {1, -2, 3L << 40}, new long[] {3});
    byte[] b = Files.readAllBytes(f);
    assertEquals(128 + 24, b.length);
    String dict = new String(b, 10, 118, StandardCharsets.ISO_8859_1);
    assertTrue(dict.startsWith("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"), dict);
    ByteBuffer bb = ByteBuffer.wrap(b, 128, 24).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(1L, bb.getLong());
    assertEquals(-2L, bb.getLong());
    assertEquals(3L << 40, bb.getLong());
  }

  @Test
  void writerChecksShapeAgainstData() {
    assertThrows(
        IllegalArgumentException.class,
        () -> Npy.writeFloat32(tmp.resolve("e.npy"), new float[5], new long[] {2, 3}));
  }

  @Test
  void streamingWriterMatchesBulkWriter() throws IOException {
    float[] data = {1, 2, 3, 4, 5, 6};
    Path bulk = tmp.resolve("bulk.npy");
    Path streamed = tmp.resolve("streamed.npy");
    Npy.writeFloat32(bulk, data, new long[] {3, 2});
    try (Npy.Writer w = Npy.Writer.float32(streamed, new long[] {3, 2})) {
      for (int i = 0; i < 3; i++) {
        w.writeRow(Arrays.copyOfRange(data, 2 * i, 2 * i + 2));
      }
    }
    assertArrayEquals(Files.readAllBytes(bulk), Files.readAllBytes(streamed));
    Path shortFile = tmp.resolve("short.npy");
    IOException e =
        assertThrows(
            IOException.class,
            () -> {
              try (Npy.Writer w = Npy.Writer.float32(shortFile, new long[] {3, 2})) {
                w.writeRow(data);
              }
            });
    assertEquals(shortFile + ": expected 3 rows to be written, got 1", e.getMessage());
  }

  @Test
  void largeFileStreamsRowByRow() throws IOException {
    int rows = 2000;
    int cols = 3 * 48 * 192 / 8;
    Path f = tmp.resolve("big.npy");
    try (Npy.Writer w = Npy.Writer.float32(f, new long[] {rows, cols})) {
      float[] row = new float[cols];
      for (int i = 0; i < rows; i++) {
        Arrays.fill(row, i);
        w.writeRow(row);
      }
    }
    try (Npy.Reader r = Npy.open(f)) {
      float[] row = new float[cols];
      long n = 0;
      while (r.readRow(row)) {
        assertEquals(n, row[0]);
        assertEquals(n, row[cols - 1]);
        n++;
      }
      assertEquals(rows, n);
    }
  }
}
