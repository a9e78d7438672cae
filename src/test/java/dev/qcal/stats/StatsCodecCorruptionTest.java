package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * stats.bin files that are well formed byte by byte but say something impossible: each is refused with a message
 * naming what is wrong. Offsets follow the layout StatsCodec documents (little-endian): magic 8, version 4,
 * histogram bins 4, channel bins 4, axis override count 4 (+ overrides), samples 8, tensor count 4, then per tensor
 * its name (length 4 + bytes), channel axis 4, channel count 4, min 4, max 4, finite/NaN/+Inf/-Inf counts 8 each.
 */
class StatsCodecCorruptionTest {
  private static final StatsConfig MINMAX = new StatsConfig(0, 0, Map.of());
  /** Header of a file without axis overrides: 36 bytes; "conv" then starts its summary at 36 + 4 + 4 + 4 + 4. */
  private static final int SAMPLES = 24;
  private static final int MIN = 52;
  private static final int MAX = 56;
  private static final int NAN_COUNT = 68;

  private static byte[] oneTensor() {
    StatsSet s = StatsSet.empty(List.of("conv"), MINMAX).add("conv", FloatBuffer.wrap(new float[] {1, 2}),
        new long[] {2});
    s.countBatch(1);
    return StatsCodec.toBytes(s);
  }

  private static String refused(byte[] b) {
    return assertThrows(IOException.class, () -> StatsCodec.read(new ByteArrayInputStream(b))).getMessage();
  }

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Test
  void theOffsetsAreTheOnesTheLayoutGives() throws IOException {
    byte[] b = oneTensor();
    assertEquals(1, le(b).getLong(SAMPLES));
    assertEquals(1f, le(b).getFloat(MIN));
    assertEquals(2f, le(b).getFloat(MAX));
    assertEquals(0, le(b).getLong(NAN_COUNT));
    assertEquals(1, StatsCodec.read(new ByteArrayInputStream(b)).samples());
  }

  @Test
  void aNegativeSampleCountIsRefused() {
    byte[] b = oneTensor();
    le(b).putLong(SAMPLES, -1);
    assertEquals("corrupt statistics file: negative sample count -1", refused(b));
  }

  @Test
  void aNegativeCountIsRefusedNamingTheTensor() {
    byte[] b = oneTensor();
    le(b).putLong(NAN_COUNT, -2);
    String m = refused(b);
    assertEquals(true, m.startsWith("corrupt statistics file, tensor 'conv': negative count in"), m);
  }

  @Test
  void aMinimumAboveTheMaximumOrANonFiniteBoundIsRefused() {
    byte[] b = oneTensor();
    le(b).putFloat(MIN, 3f);
    assertEquals("corrupt statistics file, tensor 'conv': range [3.0, 2.0] with 2 finite values", refused(b));
    byte[] c = oneTensor();
    le(c).putFloat(MAX, Float.POSITIVE_INFINITY);
    assertEquals("corrupt statistics file, tensor 'conv': range [1.0, Infinity] with 2 finite values", refused(c));
    // equal bounds are a constant tensor, which is fine
    byte[] d = oneTensor();
    le(d).putFloat(MIN, 2f);
    org.junit.jupiter.api.Assertions.assertDoesNotThrow(() -> StatsCodec.read(new ByteArrayInputStream(d)));
  }

  @Test
  void axisOverridesOutOfOrderOrListedTwiceAreRefused() {
    StatsConfig config = new StatsConfig(0, 0, Map.of("a", 1, "b", 2));
    byte[] b = StatsCodec.toBytes(StatsSet.empty(List.of("x"), config));
    // overrides from byte 24: length 1, 'a', axis 1; length 1, 'b', axis 2
    assertEquals('a', b[28]);
    assertEquals('b', b[37]);
    byte[] unsorted = b.clone();
    unsorted[28] = 'c';
    assertEquals("corrupt statistics file: axis overrides not sorted by name at 'b'", refused(unsorted));
    byte[] twice = b.clone();
    twice[37] = 'a';
    assertEquals("corrupt statistics file: axis overrides not sorted by name at 'a'", refused(twice));
  }

  @Test
  void aTensorListedTwiceIsRefused() {
    byte[] b = StatsCodec.toBytes(StatsSet.empty(List.of("conv", "conw"), MINMAX));
    String s = new String(b, StandardCharsets.ISO_8859_1);
    int second = s.indexOf("conw");
    b[second + 3] = 'v';
    assertEquals("corrupt statistics file: tensor 'conv' listed twice", refused(b));
  }
}
