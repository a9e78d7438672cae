package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatcherTest {
  private static Sample sample(float v, long... shape) {
    float[] data = new float[(int) Sample.elements(shape)];
    java.util.Arrays.fill(data, v);
    return new Sample(new float[][] {data}, new long[][] {shape}, "s" + v);
  }

  /** Drains a batch's first input into an array (the buffers are reused after the next call). */
  private static float[] values(Batcher.Batch b) {
    float[] out = new float[b.floats(0).remaining()];
    b.floats(0).get(out);
    return out;
  }

  @Test
  void fullBatchesThenAPartialOne() {
    Batcher batcher = new Batcher(1, 2);
    List<float[]> got = new ArrayList<>();
    List<long[]> shapes = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      Batcher.Batch b = batcher.offer(sample(i, 2));
      if (b != null) {
        got.add(values(b));
        shapes.add(b.shapes()[0]);
      }
    }
    Batcher.Batch last = batcher.flush();
    got.add(values(last));
    shapes.add(last.shapes()[0]);
    assertNull(batcher.flush());
    assertEquals(3, got.size());
    assertArrayEquals(new float[] {0, 0, 1, 1}, got.get(0));
    assertArrayEquals(new float[] {2, 2, 3, 3}, got.get(1));
    assertArrayEquals(new float[] {4, 4}, got.get(2));
    assertArrayEquals(new long[] {2, 2}, shapes.get(0));
    assertArrayEquals(new long[] {1, 2}, shapes.get(2));
  }

  @Test
  void aPaddingBatcherFillsPartialBatchesWithTheirLastSample() {
    Batcher batcher = new Batcher(1, 3, true);
    assertNull(batcher.offer(sample(1, 2)));
    assertNull(batcher.offer(sample(2, 2)));
    Batcher.Batch full = batcher.offer(sample(3, 2));
    assertEquals(3, full.size());
    assertEquals(false, full.padded());
    assertNull(batcher.offer(sample(4, 1)));
    Batcher.Batch shapeChange = batcher.offer(sample(5, 2));
    assertArrayEquals(new long[] {3, 1}, shapeChange.shapes()[0]);
    assertArrayEquals(new float[] {4, 4, 4}, values(shapeChange));
    assertEquals(1, shapeChange.size());
    assertEquals(true, shapeChange.padded());
    Batcher.Batch last = batcher.flush();
    assertArrayEquals(new long[] {3, 2}, last.shapes()[0]);
    assertArrayEquals(new float[] {5, 5, 5, 5, 5, 5}, values(last));
    assertEquals(1, last.size());
    assertEquals(3, last.rows());
  }

  @Test
  void aShapeChangeClosesTheBatchWithoutLosingTheSample() {
    Batcher batcher = new Batcher(1, 4);
    assertNull(batcher.offer(sample(1, 1, 2)));
    Batcher.Batch b = batcher.offer(sample(2, 1, 3));
    assertArrayEquals(new long[] {1, 1, 2}, b.shapes()[0]);
    assertArrayEquals(new float[] {1, 1}, values(b));
    Batcher.Batch rest = batcher.flush();
    assertArrayEquals(new long[] {1, 1, 3}, rest.shapes()[0]);
    assertArrayEquals(new float[] {2, 2, 2}, values(rest));
  }

  @Test
  void batchSizeOneWithCarry() {
    Batcher batcher = new Batcher(1, 1);
    int n = 0;
    for (int i = 0; i < 4; i++) {
      Batcher.Batch b = batcher.offer(sample(i, i + 1));
      if (b != null) {
        assertEquals(1, b.size());
        n++;
      }
    }
    while (batcher.flush() != null) {
      n++;
    }
    assertEquals(4, n);
  }
}
