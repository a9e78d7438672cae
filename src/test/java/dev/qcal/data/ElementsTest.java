package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Exact-fit conversions: every value either arrives unchanged or is reported, never narrowed. */
class ElementsTest {

  private static ByteBuffer le(long... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    return b.flip();
  }

  @Test
  void int64ToNarrowerIntegersChecksTheRange() {
    int[] i32 = new int[3];
    assertNull(Elements.convert(le(-7, Integer.MAX_VALUE, Integer.MIN_VALUE), ElemType.INT64, 3, ElemType.INT32, i32, 0));
    assertArrayEquals(new int[] {-7, Integer.MAX_VALUE, Integer.MIN_VALUE}, i32);
    assertEquals("element 1: 1099511627776 is outside int32's range [-2147483648, 2147483647]",
        Elements.convert(le(1, 1L << 40), ElemType.INT64, 2, ElemType.INT32, new int[2], 0));
    assertEquals("element 2: 300 is outside uint8's range [0, 255]",
        Elements.convert(le(0, 255, 300), ElemType.INT64, 3, ElemType.UINT8, new byte[3], 0));
    assertEquals("element 0: -1 is outside uint8's range [0, 255]",
        Elements.convert(le(-1), ElemType.INT64, 1, ElemType.UINT8, new byte[1], 0));
    assertEquals("element 0: 2 is outside bool's range [0, 1]",
        Elements.convert(le(2), ElemType.INT64, 1, ElemType.BOOL, new byte[1], 0));
    // the element index is the sample's: offset 4 + 1
    assertEquals("element 5: 128 is outside int8's range [-128, 127]",
        Elements.convert(le(0, 128), ElemType.INT64, 2, ElemType.INT8, new byte[6], 4));
  }

  @Test
  void wideningIsExactAndUnsignedSourcesStayPositive() {
    ByteBuffer u8 = ByteBuffer.wrap(new byte[] {(byte) 0xff, 0, 1});
    long[] l = new long[3];
    assertNull(Elements.convert(u8, ElemType.UINT8, 3, ElemType.INT64, l, 0));
    assertArrayEquals(new long[] {255, 0, 1}, l);
    ByteBuffer i8 = ByteBuffer.wrap(new byte[] {(byte) 0xff});
    int[] i = new int[1];
    assertNull(Elements.convert(i8, ElemType.INT8, 1, ElemType.INT32, i, 0));
    assertEquals(-1, i[0]);
    // a bool file must hold 0 or 1
    assertEquals("element 1: 2 is not a bool (0 or 1)",
        Elements.convert(ByteBuffer.wrap(new byte[] {1, 2}), ElemType.BOOL, 2, ElemType.BOOL, new byte[2], 0));
  }

  @Test
  void integersFeedFloatsOnlyWhenExact() {
    float[] f = new float[2];
    assertNull(Elements.convert(le(1 << 24, -3), ElemType.INT64, 2, ElemType.FLOAT32, f, 0));
    assertArrayEquals(new float[] {16777216f, -3f}, f);
    // 2^24 + 1 has no float32: it would round to 2^24
    assertEquals("element 0: 16777217 is not exactly a float32",
        Elements.convert(le((1 << 24) + 1), ElemType.INT64, 1, ElemType.FLOAT32, new float[1], 0));
    // float16 holds integers up to 2048 exactly, then every second one
    assertNull(Elements.putLong(new short[1], ElemType.FLOAT16, 0, 2048));
    assertEquals("2049 is not exactly a float16", Elements.putLong(new short[1], ElemType.FLOAT16, 0, 2049));
    assertNull(Elements.putLong(new short[1], ElemType.FLOAT16, 0, 2050));
  }

  @Test
  void floatDataNeverFeedsIntegerInputs() {
    assertFalse(Elements.feeds(ElemType.FLOAT32, ElemType.INT64));
    assertFalse(Elements.feeds(ElemType.FLOAT64, ElemType.BOOL));
    assertFalse(Elements.feeds(ElemType.FLOAT16, ElemType.INT32));
    assertTrue(Elements.feeds(ElemType.INT64, ElemType.FLOAT32));
    assertTrue(Elements.feeds(ElemType.BOOL, ElemType.INT64));
    assertTrue(Elements.feeds(ElemType.FLOAT64, ElemType.FLOAT16));
  }

  @Test
  void floatsNarrowByRoundingButNeverOverflow() {
    float[] f = new float[1];
    assertNull(Elements.putDouble(f, ElemType.FLOAT32, 0, 0.1));
    assertEquals((float) 0.1, f[0]);
    assertEquals("1.0E300 overflows float32", Elements.putDouble(f, ElemType.FLOAT32, 0, 1e300));
    assertNull(Elements.putDouble(f, ElemType.FLOAT32, 0, Double.NEGATIVE_INFINITY)); // infinity stays infinity
    assertEquals("70000.0 overflows float16", Elements.putDouble(new short[1], ElemType.FLOAT16, 0, 70000));
  }

  @Test
  void halfPrecisionBitsByHand() {
    // sign | 5-bit exponent (bias 15) | 10-bit fraction
    assertEquals(0x3c00, Elements.toHalf(1.0) & 0xffff);
    assertEquals(0xc000, Elements.toHalf(-2.0) & 0xffff);
    assertEquals(0x3555, Elements.toHalf(1.0 / 3) & 0xffff); // 0.333251953125, the nearest
    assertEquals(0x7bff, Elements.toHalf(65504) & 0xffff); // largest finite
    assertEquals(0x7bff, Elements.toHalf(65519) & 0xffff); // rounds down to it
    assertEquals(0x7c00, Elements.toHalf(65520) & 0xffff); // the tie rounds to even: infinity
    assertEquals(0x0001, Elements.toHalf(0x1p-24) & 0xffff); // smallest subnormal
    assertEquals(0x0000, Elements.toHalf(0x1p-25) & 0xffff); // tie between 0 and 2^-24: even is 0
    assertEquals(0x0002, Elements.toHalf(0x1.8p-24) & 0xffff); // tie between 1 and 2 ulps: even is 2
    assertEquals(0x0400, Elements.toHalf(0x1p-14) & 0xffff); // smallest normal
    assertEquals(0x3c00, Elements.toHalf(1 + 0x1p-11) & 0xffff); // tie: even fraction 0
    assertEquals(0x3c02, Elements.toHalf(1 + 3 * 0x1p-11) & 0xffff); // tie: even fraction 2
    assertEquals(0x8000, Elements.toHalf(-0.0) & 0xffff);
    assertTrue(Float.isNaN(Elements.fromHalf(Elements.toHalf(Double.NaN))));
    for (int h = 0; h < 0x7c00; h++) { // every finite non-negative half converts back to itself
      assertEquals(h, Elements.toHalf(Elements.fromHalf((short) h)) & 0xffff, "bits " + Integer.toHexString(h));
    }
    assertEquals(65504f, Elements.fromHalf((short) 0x7bff));
    assertEquals(0x1p-24f, Elements.fromHalf((short) 1));
    assertEquals(Float.NEGATIVE_INFINITY, Elements.fromHalf((short) 0xfc00));
  }

  @Test
  void packsEachTypeInNativeOrder() {
    ByteBuffer b = ByteBuffer.allocate(8 + 4 + 2 + 1).order(ByteOrder.nativeOrder());
    Elements.put(b, new long[] {-2});
    Elements.put(b, new int[] {7});
    Elements.put(b, new short[] {0x3c00});
    Elements.put(b, new byte[] {1});
    assertEquals(15, b.position());
    assertEquals(-2, b.getLong(0));
    assertEquals(7, b.getInt(8));
    assertEquals(0x3c00, b.getShort(12));
    assertEquals(1, b.get(14));
  }
}
