package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.stats.StatsTestData.Kind;
import dev.qcal.stats.StatsTestData.Values;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** stats.bin: round trips, deterministic bytes, clear errors. */
class StatsCodecTest {
  private static final StatsConfig CONFIG = new StatsConfig(4096, 32, Map.of("seq", 1, "flat", -1));

  static StatsSet sample(StatsConfig config, long seed) {
    Random r = new Random(seed);
    StatsSet s = StatsSet.empty(List.of("conv", "seq", "flat", "never"), config);
    for (Kind kind : new Kind[] {Kind.GAUSSIAN_WITH_SPECIALS, Kind.ALL_MAGNITUDES, Kind.CONSTANT}) {
      Values v = new Values(kind, r);
      s.add("conv", FloatBuffer.wrap(v.next(2 * 3 * 4 * 5)), new long[] {2, 3, 4, 5});
      s.add("seq", FloatBuffer.wrap(v.next(3 * 7)), new long[] {1, 3, 7});
      s.add("flat", FloatBuffer.wrap(v.next(2 * 2 * 2 * 2)), new long[] {2, 2, 2, 2});
      s.countBatch(2);
    }
    return s;
  }

  private static StatsSet read(byte[] b) throws IOException {
    return StatsCodec.read(new ByteArrayInputStream(b));
  }

  @Test
  void roundTripsEveryPartOfTheState() throws IOException {
    for (StatsConfig config : new StatsConfig[] {CONFIG, StatsConfig.defaults(), new StatsConfig(0, 0, Map.of())}) {
      StatsSet s = sample(config, 5);
      byte[] bytes = StatsCodec.toBytes(s);
      StatsSet back = read(bytes);
      assertEquals(s, back);
      assertArrayEquals(bytes, StatsCodec.toBytes(back));
      assertEquals(0, back.batches(), "batches are not stored");
      // the restored state keeps working: merging and adding give the same as the original
      assertEquals(sample(config, 5).merge(sample(config, 6)), back.merge(sample(config, 6)));
    }
    StatsSet empty = StatsSet.empty(List.of("a", "b"), CONFIG);
    assertEquals(empty, read(StatsCodec.toBytes(empty)));
  }

  @Test
  void equalStatesGiveEqualBytes() {
    StatsSet a = sample(CONFIG, 9).merge(sample(CONFIG, 10));
    StatsSet b = sample(CONFIG, 10).merge(sample(CONFIG, 9));
    assertEquals(a, b);
    assertArrayEquals(StatsCodec.toBytes(a), StatsCodec.toBytes(b));
    // axis overrides given in another map order
    StatsConfig reordered = new StatsConfig(4096, 32, new java.util.LinkedHashMap<>(Map.of("flat", -1, "seq", 1)));
    assertArrayEquals(StatsCodec.toBytes(StatsSet.empty(List.of("x"), CONFIG)),
        StatsCodec.toBytes(StatsSet.empty(List.of("x"), reordered)));
  }

  @Test
  void headerIsLittleEndianMagicAndVersion() {
    byte[] b = StatsCodec.toBytes(StatsSet.empty(List.of(), StatsConfig.defaults()));
    assertEquals("QCALSTAT", new String(b, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(StatsCodec.VERSION, bb.getInt(8));
    assertEquals(4096, bb.getInt(12));
    assertEquals(0, bb.getInt(16));
    assertEquals(0, bb.getInt(20));
    assertEquals(0L, bb.getLong(24));
    assertEquals(0, bb.getInt(32));
    assertEquals(36, b.length);
  }

  @Test
  void badMagicIsRejected() {
    byte[] b = StatsCodec.toBytes(sample(CONFIG, 1));
    b[0] = 'X';
    IOException e = assertThrows(IOException.class, () -> read(b));
    assertTrue(e.getMessage().contains("bad magic") && e.getMessage().contains("QCALSTAT"), e.getMessage());
    e = assertThrows(IOException.class, () -> read("{\"json\": true}".getBytes()));
    assertTrue(e.getMessage().contains("not a qcal statistics file"), e.getMessage());
  }

  @Test
  void unsupportedVersionIsRejected() {
    byte[] b = StatsCodec.toBytes(sample(CONFIG, 1));
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 99);
    IOException e = assertThrows(IOException.class, () -> read(b));
    assertEquals("unsupported statistics format version 99 (this qcal reads version 1)", e.getMessage());
  }

  @Test
  void everyTruncationIsReportedWithWhatWasExpected() {
    byte[] b = StatsCodec.toBytes(sample(CONFIG, 2));
    for (int len = 0; len < b.length; len += len < 200 ? 1 : 97) {
      byte[] cut = Arrays.copyOf(b, len);
      EOFException e = assertThrows(EOFException.class, () -> read(cut), "length " + len);
      assertTrue(e.getMessage().startsWith("statistics file truncated: expected "), e.getMessage());
    }
    EOFException e = assertThrows(EOFException.class, () -> read(Arrays.copyOf(b, 12)));
    assertEquals("statistics file truncated: expected int32 histogram bins (4 bytes) in configuration, got 0",
        e.getMessage());
    e = assertThrows(EOFException.class, () -> read(Arrays.copyOf(b, b.length - 3)));
    assertTrue(e.getMessage().contains("tensor 'flat'") || e.getMessage().contains("tensor 'never'"), e.getMessage());
  }

  @Test
  void trailingBytesAndInconsistentContentsAreRejected() {
    byte[] b = StatsCodec.toBytes(sample(CONFIG, 3));
    byte[] longer = Arrays.copyOf(b, b.length + 1);
    assertTrue(assertThrows(IOException.class, () -> read(longer)).getMessage().contains("bytes after"));
    // the per-tensor finite count of 'conv' no longer matches its histogram
    StatsSet one = StatsSet.empty(List.of("conv"), StatsConfig.defaults())
        .add("conv", FloatBuffer.wrap(new float[] {1, 2}), new long[] {2});
    byte[] c = StatsCodec.toBytes(one);
    int countAt = 36 + 4 + 4 + 4 + 4 + 8; // header, name length, "conv", axis, channels, min+max
    ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(countAt, 3);
    IOException e = assertThrows(IOException.class, () -> read(c));
    assertTrue(e.getMessage().contains("tensor 'conv'") && e.getMessage().contains("corrupt"), e.getMessage());
  }
}
