package dev.qcal.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

/** StreamedWeight's observed ranges by hand, the largest finite weight, chunk sizes and the layout's counts. */
class StreamedWeightRangesTest {

  private static StreamedWeight observed(long[] shape, Integer axis, int block, float[] data) {
    StreamedWeight sw = new StreamedWeight(shape, axis, block);
    sw.observe(0, FloatBuffer.wrap(data));
    return sw;
  }

  @Test
  void minAndMaxPerParameterAreTheObservedOnesEvenWhenAllPositive() {
    // [[1, 2, 3], [4, 5, 6]]
    float[] data = {1, 2, 3, 4, 5, 6};
    StreamedWeight rows = observed(new long[] {2, 3}, 0, 0, data);
    assertArrayEquals(new float[] {1, 4}, rows.min());
    assertArrayEquals(new float[] {3, 6}, rows.max());
    StreamedWeight cols = observed(new long[] {2, 3}, 1, 0, data);
    assertArrayEquals(new float[] {1, 2, 3}, cols.min());
    assertArrayEquals(new float[] {4, 5, 6}, cols.max());
    StreamedWeight whole = observed(new long[] {2, 3}, null, 0, data);
    assertArrayEquals(new float[] {1}, whole.min());
    assertArrayEquals(new float[] {6}, whole.max());
    // all negative: the maximum is the largest negative value, not 0
    StreamedWeight negative = observed(new long[] {2, 2}, 0, 0, new float[] {-1, -2, -3, -4});
    assertArrayEquals(new float[] {-1, -3}, negative.max());
    assertArrayEquals(new float[] {-2, -4}, negative.min());
  }

  @Test
  void theLargestFiniteWeightIsAcceptedAndNonFiniteOnesAreRefusedOnEveryPath() {
    float big = Float.MAX_VALUE;
    // per tensor and per row (a run of one parameter), per column (one parameter per value)
    assertArrayEquals(new float[] {big}, observed(new long[] {2, 2}, null, 0, new float[] {0, big, -1, 1}).max());
    assertArrayEquals(new float[] {big, 1}, observed(new long[] {2, 2}, 1, 0, new float[] {0, 1, big, -1}).max());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> observed(new long[] {2, 2}, 1, 0, new float[] {0, 1, 2, Float.NaN}));
    assertEquals("weight value at flat index 3 is NaN", e.getMessage());
    IllegalArgumentException inf = assertThrows(IllegalArgumentException.class,
        () -> observed(new long[] {2, 2}, 0, 0, new float[] {0, Float.NEGATIVE_INFINITY, 2, 3}));
    assertEquals("weight value at flat index 1 is -Infinity", inf.getMessage());
  }

  @Test
  void aChunkTakesAtMostItsValuesTimesTheWidthOrHalfPlusOneForFourBits() {
    assertEquals(7, StreamedWeight.maxChunkBytes(QuantType.INT8, 7));
    assertEquals(14, StreamedWeight.maxChunkBytes(QuantType.UINT16, 7));
    // 7 four-bit values may start on an odd index: a pending nibble plus 3 whole bytes
    assertEquals(4, StreamedWeight.maxChunkBytes(QuantType.INT4, 7));
    assertEquals(5, StreamedWeight.maxChunkBytes(QuantType.UINT4, 8));
  }

  @Test
  void layoutCountsParametersAndHowTheirIndexStepsPerValue() {
    long[] shape = {4, 6};
    StreamedWeight.Layout rows = StreamedWeight.Layout.of(shape, 0, 0);
    assertEquals(4, rows.params());
    assertEquals(0, rows.step());
    StreamedWeight.Layout cols = StreamedWeight.Layout.of(shape, 1, 0);
    assertEquals(6, cols.params());
    assertEquals(1, cols.step());
    StreamedWeight.Layout blocks = StreamedWeight.Layout.of(shape, 0, 3); // 2 blocks of rows x 6 columns
    assertEquals(12, blocks.params());
    assertEquals(1, blocks.step());
    assertEquals(1, StreamedWeight.Layout.of(shape, null, 0).params());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> StreamedWeight.Layout.of(shape, 2, 0));
    assertEquals("axis 2 out of range for rank 2", e.getMessage());
  }

  @Test
  void blockedIndexOnAMiddleAxisCountsOuterSlices() {
    // [2, 4, 3] in blocks of 2 along axis 1: params [2, 2, 3]; flat index (o, k, i) -> (o * 2 + k / 2) * 3 + i
    StreamedWeight.Layout l = StreamedWeight.Layout.of(new long[] {2, 4, 3}, 1, 2);
    assertEquals(12, l.params());
    for (int o = 0; o < 2; o++) {
      for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 3; i++) {
          long flat = (o * 4L + k) * 3 + i;
          assertEquals((o * 2 + k / 2) * 3 + i, l.index(flat), "flat " + flat);
        }
      }
    }
  }
}
