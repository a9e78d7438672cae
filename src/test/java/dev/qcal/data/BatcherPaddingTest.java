package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --pad}: samples of different true lengths share a batch, padded at the end with the pad value. */
class BatcherPaddingTest {
  private static final List<InputSpec> TOKENS = List.of(new InputSpec("ids", new long[] {-1}, ElemType.INT64),
      new InputSpec("mask", new long[] {-1}, ElemType.INT64));

  private static Sample row(long... ids) {
    long[] mask = new long[ids.length];
    java.util.Arrays.fill(mask, 1);
    return new Sample(new Object[] {ids, mask}, new long[][] {{ids.length}, {ids.length}}, "row" + ids[0]);
  }

  /** Input {@code input} of a batch as the int64 values ONNX Runtime is fed (shared with BatcherMaskTest). */
  static long[] longs(Batcher.Batch b, int input) {
    LongBuffer l = b.inputs()[input].duplicate().order(java.nio.ByteOrder.nativeOrder()).asLongBuffer();
    long[] out = new long[l.remaining()];
    l.get(out);
    return out;
  }

  @Test
  void rowsOfDifferentLengthsArePaddedToTheLongestInTheBatch() {
    Padding p = Padding.of(TOKENS, Map.of("ids", "7", "mask", "0"));
    Batcher batcher = new Batcher(2, 3, false, 4, p);
    assertNull(batcher.offer(row(11, 12)));
    assertNull(batcher.offer(row(21, 22, 23, 24)));
    Batcher.Batch b = batcher.offer(row(31));
    assertArrayEquals(new long[] {3, 4}, b.shapes()[0]);
    assertArrayEquals(new long[] {11, 12, 7, 7, 21, 22, 23, 24, 31, 7, 7, 7}, longs(b, 0));
    assertArrayEquals(new long[] {1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0}, longs(b, 1));
    assertArrayEquals(new long[][] {{2}, {4}, {1}}, b.lengths());
  }

  @Test
  void withoutPaddingEachLengthHasItsOwnBatch() {
    Batcher batcher = new Batcher(2, 3, false, 4, null);
    batcher.offer(row(11, 12));
    batcher.offer(row(21, 22, 23, 24));
    assertNull(batcher.offer(row(31)));
    List<long[]> shapes = new ArrayList<>();
    for (Batcher.Batch b = batcher.flush(); b != null; b = batcher.flush()) {
      shapes.add(b.shapes()[0]);
      assertNull(b.lengths());
    }
    assertEquals(3, shapes.size());
  }

  @Test
  void aFixedDimensionIsPaddedToTheModelsSizeAndAFixedBatchRepeatsTheLastRow() {
    List<InputSpec> fixed = List.of(new InputSpec("ids", new long[] {5}, ElemType.INT64));
    Padding p = Padding.of(fixed, Map.of("ids", "0"));
    Batcher batcher = new Batcher(1, 3, true, 4, p);
    batcher.offer(new Sample(new Object[] {new long[] {1, 2}}, new long[][] {{2}}, "a"));
    batcher.offer(new Sample(new Object[] {new long[] {3, 4, 5}}, new long[][] {{3}}, "b"));
    Batcher.Batch b = batcher.flush();
    assertEquals(2, b.size());
    assertArrayEquals(new long[] {3, 5}, b.shapes()[0]);
    assertArrayEquals(new long[] {1, 2, 0, 0, 0, 3, 4, 5, 0, 0, 3, 4, 5, 0, 0}, longs(b, 0));
    assertArrayEquals(new long[][] {{2}, {3}}, b.lengths());
  }

  @Test
  void twoDimensionalPaddingKeepsEachRowInPlace() {
    Object out = Padding.padded(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, new long[] {3, 4}, new float[] {-1});
    assertArrayEquals(new float[] {1, 2, 3, -1, 4, 5, 6, -1, -1, -1, -1, -1}, (float[]) out);
  }

  @Test
  void paddedInputsOfOneSampleMustAgreeOnTheTrueLength() {
    Padding p = Padding.of(TOKENS, Map.of("ids", "0", "mask", "0"));
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> p.trueLengths(new long[][] {{3}, {4}}, "f.parquet row 9"));
    assertTrue(e.getMessage().startsWith("f.parquet row 9: padded inputs 'ids' and 'mask'"), e.getMessage());
  }

  @Test
  void aFixedPaddedInputAcceptsShorterButNotLongerSamples() {
    InputSpec in = new InputSpec("ids", new long[] {4}, ElemType.INT64, true);
    assertArrayEquals(new long[] {3}, in.shapeOfFlat(3, null, "r"));
    assertThrows(BadRecordException.class, () -> in.shapeOfFlat(5, null, "r"));
    assertThrows(BadRecordException.class, () -> in.withPadding(false).shapeOfFlat(3, null, "r"));
  }

  @Test
  void badPadValuesNameTheInput() {
    List<InputSpec> in = List.of(new InputSpec("ids", new long[] {-1}, ElemType.INT64),
        new InputSpec("px", new long[] {-1}, ElemType.UINT8));
    assertEquals("--pad nope: the model has no input 'nope' (inputs: [ids, px])",
        assertThrows(IllegalArgumentException.class, () -> Padding.of(in, Map.of("nope", "0"))).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Padding.of(in, Map.of("ids", "x")))
        .getMessage().contains("'x' is not a number"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Padding.of(in, Map.of("ids", "1.5")))
        .getMessage().contains("not an integer"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Padding.of(in, Map.of("px", "300")))
        .getMessage().contains("300 is outside uint8"), () -> "");
  }
}
