package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .npy files of every dtype feed an input of its own type, or a wider one, exactly; misfits are bad records. */
class NpyFilesTypedTest {
  @TempDir Path tmp;

  /** A .npy of {@code descr} and {@code shape} holding {@code data} (little-endian element bytes). */
  private Path npy(String name, String descr, long[] shape, byte[] data) throws Exception {
    Path f = tmp.resolve(name);
    byte[] h = Npy.header(descr, shape);
    Files.write(f, ByteBuffer.allocate(h.length + data.length).put(h).put(data).array());
    return f;
  }

  private static byte[] longs(long... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    return b.array();
  }

  private static byte[] ints(int... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int x : v) {
      b.putInt(x);
    }
    return b.array();
  }

  private static List<Entry> entries(Path file, InputSpec input) {
    Iterator<Entry> it = NpyFiles.entries(new NpyFiles.Group(new String[] {file.toString()}), new Configuration(),
        List.of(input), new SampleSelection(1, 1.0, null));
    List<Entry> all = new ArrayList<>();
    it.forEachRemaining(all::add);
    return all;
  }

  private static InputSpec input(ElemType t) {
    return new InputSpec("ids", new long[] {2}, t);
  }

  @Test
  void int64FileFeedsInt64InputAsItIs() throws Exception {
    Path f = npy("ids.npy", "<i8", new long[] {2, 2}, longs(101, 1L << 40, -1, 0));
    List<Entry> e = entries(f, input(ElemType.INT64));
    assertArrayEquals(new long[] {101, 1L << 40}, (long[]) e.get(0).sample().values()[0]);
    assertArrayEquals(new long[] {-1, 0}, (long[]) e.get(1).sample().values()[0]);
  }

  @Test
  void narrowerIntegerFilesWiden() throws Exception {
    Path i32 = npy("i32.npy", "<i4", new long[] {1, 2}, ints(-5, 70000));
    assertArrayEquals(new long[] {-5, 70000}, (long[]) entries(i32, input(ElemType.INT64)).get(0).sample().values()[0]);
    Path u8 = npy("u8.npy", "|u1", new long[] {1, 2}, new byte[] {(byte) 200, 1});
    assertArrayEquals(new int[] {200, 1}, (int[]) entries(u8, input(ElemType.INT32)).get(0).sample().values()[0]);
    Path b1 = npy("mask.npy", "|b1", new long[] {1, 2}, new byte[] {1, 0});
    assertArrayEquals(new long[] {1, 0}, (long[]) entries(b1, input(ElemType.INT64)).get(0).sample().values()[0]);
    assertArrayEquals(new byte[] {1, 0}, (byte[]) entries(b1, input(ElemType.BOOL)).get(0).sample().values()[0]);
    // float16 bits 0x3c00 (1.0) and 0xc000 (-2.0) to a float32 input
    Path f2 = npy("h.npy", "<f2", new long[] {1, 2}, new byte[] {0x00, 0x3c, 0x00, (byte) 0xc0});
    assertArrayEquals(new float[] {1f, -2f}, (float[]) entries(f2, input(ElemType.FLOAT32)).get(0).sample().values()[0]);
    assertArrayEquals(new short[] {0x3c00, (short) 0xc000},
        (short[]) entries(f2, input(ElemType.FLOAT16)).get(0).sample().values()[0]);
  }

  @Test
  void aValueThatDoesNotFitIsABadRecordNamingFileRowAndInput() throws Exception {
    Path f = npy("big.npy", "<i8", new long[] {3, 2}, longs(1, 2, 3, 1L << 40, 5, 6));
    List<Entry> e = entries(f, input(ElemType.INT32));
    assertNull(e.get(0).bad());
    assertArrayEquals(new int[] {1, 2}, (int[]) e.get(0).sample().values()[0]);
    BadRecordException bad = e.get(1).bad();
    assertEquals(BadRecordException.DOES_NOT_FIT, bad.reason());
    assertEquals(f + ":1: input 'ids' (int32, the file holds int64): element 1: 1099511627776 is outside int32's"
        + " range [-2147483648, 2147483647]", bad.getMessage());
    assertNull(e.get(2).bad()); // the stream stays aligned after a misfit
    assertArrayEquals(new int[] {5, 6}, (int[]) e.get(2).sample().values()[0]);
  }

  @Test
  void floatDataForAnIntegerInputIsRefusedNamingBothTypes() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(2f);
    Path f = npy("ids.npy", "<f4", new long[] {1, 2}, b.array());
    BadRecordException bad = entries(f, input(ElemType.INT64)).get(0).bad();
    assertEquals(BadRecordException.WRONG_DTYPE, bad.reason());
    assertTrue(bad.getMessage().contains(f + ": input 'ids' is int64 but the file holds float32 ('<f4')"),
        bad.getMessage());
  }

  @Test
  void aDtypeQcalCannotReadNamesTheInput() throws Exception {
    Path f = npy("c.npy", "<c8", new long[] {1, 2}, new byte[16]);
    BadRecordException bad = entries(f, input(ElemType.INT64)).get(0).bad();
    assertEquals(BadRecordException.UNDECODABLE, bad.reason());
    assertTrue(bad.getMessage().startsWith(f + ": expected a numeric dtype"), bad.getMessage());
    assertTrue(bad.getMessage().contains("found '<c8' (complex64)") && bad.getMessage().contains("input 'ids'"),
        bad.getMessage());
  }
}
