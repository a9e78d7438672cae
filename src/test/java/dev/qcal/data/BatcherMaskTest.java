package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --mask}: rows already padded are fed unchanged; each row's true length is its mask's leading ones. */
class BatcherMaskTest {
  private static final List<InputSpec> TOKENS = List.of(new InputSpec("ids", new long[] {-1}, ElemType.INT64),
      new InputSpec("mask", new long[] {-1}, ElemType.INT64), new InputSpec("pixels", new long[] {3}, ElemType.FLOAT32));

  private static Sample row(long[] ids, long[] mask) {
    return new Sample(new Object[] {ids, mask, new float[3]}, new long[][] {{ids.length}, {mask.length}, {3}},
        "row" + ids[0]);
  }

  @Test
  void rowsAreFedUnchangedWithTheirMasksLengths() {
    Padding p = Padding.of(TOKENS, Map.of(), "mask");
    assertTrue(p.inputs().get(0).padded() && p.inputs().get(1).padded(), "the inputs of the mask's shape");
    assertTrue(!p.inputs().get(2).padded());
    Batcher batcher = new Batcher(3, 2, false, 4, p);
    assertNull(batcher.offer(row(new long[] {11, 12, 0, 0}, new long[] {1, 1, 0, 0})));
    Batcher.Batch b = batcher.offer(row(new long[] {21, 22, 23, 0}, new long[] {1, 1, 1, 0}));
    assertArrayEquals(new long[] {2, 4}, b.shapes()[0]);
    assertArrayEquals(new long[] {11, 12, 0, 0, 21, 22, 23, 0}, BatcherPaddingTest.longs(b, 0));
    assertArrayEquals(new long[][] {{2}, {3}}, b.lengths());
  }

  @Test
  void rowsOfDifferentPaddedLengthsAreNotBatchedTogether() {
    Batcher batcher = new Batcher(3, 2, false, 4, Padding.of(TOKENS, Map.of(), "mask"));
    assertNull(batcher.offer(row(new long[] {11, 0}, new long[] {1, 0})));
    assertNull(batcher.offer(row(new long[] {21, 22, 0}, new long[] {1, 1, 0})));
    Batcher.Batch first = batcher.flush();
    assertArrayEquals(new long[] {1, 2}, first.shapes()[0]);
    assertArrayEquals(new long[][] {{1}}, first.lengths());
  }

  @Test
  void aMaskNotOnesThenZerosIsABadRecordNamingTheInput() {
    Padding p = Padding.of(TOKENS, Map.of(), "mask");
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> p.trueLengths(row(new long[] {1, 2, 3}, new long[] {1, 0, 1})));
    assertEquals(BadRecordException.BAD_MASK, e.reason());
    assertTrue(e.getMessage().startsWith("row1: mask input 'mask' is not ones then zeros: position 2"), e.getMessage());
    assertEquals(0, p.trueLengths(row(new long[] {1, 2}, new long[] {0, 0}))[0]);
  }

  @Test
  void probesCutTheFirstSampleToItsTrueLengthPlusOneAndTwo() {
    Padding p = Padding.of(TOKENS, Map.of(), "mask");
    Sample s = row(new long[] {1, 2, 0, 0, 0, 0}, new long[] {1, 1, 0, 0, 0, 0});
    assertArrayEquals(new long[] {1, 2, 0}, (long[]) p.extended(s, 1).values()[0]);
    assertArrayEquals(new long[] {1, 1, 0, 0}, (long[]) p.extended(s, 2).values()[1]);
    Sample full = row(new long[] {1, 2, 3}, new long[] {1, 1, 1});
    assertArrayEquals(new long[] {2}, p.extended(full, 1).shapes()[0], "at most the row length: 3 - 2 + 1");
    assertArrayEquals(new long[] {3}, p.extended(full, 2).shapes()[0]);
  }

  @Test
  void badMasksAreRefused() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Padding.of(TOKENS, Map.of(), "pixels"))
        .getMessage().contains("expected an integer or bool mask"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Padding.of(TOKENS, Map.of("ids", "0"), "mask"))
        .getMessage().contains("not both"));
  }
}
