package dev.qcal.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.util.zip.CRC32;

/** Image files built byte by byte for the image-data tests. */
public final class TestImages {
  private TestImages() {}

  /** A PNG of {@code w} x {@code h} 1-bit grey pixels: signature, IHDR and IEND only (no pixel data). */
  public static byte[] pngHeader(int w, int h) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(b);
    d.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
    DataOutputStream i = new DataOutputStream(ihdr);
    i.writeInt(w);
    i.writeInt(h);
    i.write(new byte[] {1, 0, 0, 0, 0}); // bit depth 1, greyscale, deflate, filter 0, no interlace
    chunk(d, "IHDR", ihdr.toByteArray());
    chunk(d, "IEND", new byte[0]);
    return b.toByteArray();
  }

  private static void chunk(DataOutputStream d, String type, byte[] data) throws Exception {
    d.writeInt(data.length);
    byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    d.write(t);
    d.write(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    d.writeInt((int) crc.getValue());
  }
}
