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
  void forEachHandsOverSealedBatchesThenEveryPartialOneOldestFirst() {
    // two shapes interleaved, batches of 2: [a0 a1] seals, then the partial [b0] (older) and [a2] are left
    List<Sample> in = List.of(sample(0, 2), sample(10, 3), sample(1, 2), sample(2, 2));
    List<float[]> got = new ArrayList<>();
    new Batcher(1, 2).forEach(in.iterator(), b -> got.add(values(b)));
    assertEquals(3, got.size());
    assertArrayEquals(new float[] {0, 0, 1, 1}, got.get(0));
    assertArrayEquals(new float[] {10, 10, 10}, got.get(1));
    assertArrayEquals(new float[] {2, 2}, got.get(2));
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
    assertNull(batcher.offer(sample(5, 2)), "another shape fills its own bucket");
    Batcher.Batch first = batcher.flush();
    assertArrayEquals(new long[] {3, 1}, first.shapes()[0]);
    assertArrayEquals(new float[] {4, 4, 4}, values(first));
    assertEquals(1, first.size());
    assertEquals(true, first.padded());
    Batcher.Batch last = batcher.flush();
    assertArrayEquals(new long[] {3, 2}, last.shapes()[0]);
    assertArrayEquals(new float[] {5, 5, 5, 5, 5, 5}, values(last));
    assertEquals(1, last.size());
    assertEquals(3, last.rows());
    assertNull(batcher.flush());
  }

  @Test
  void aShapeChangeWithOneOpenBucketClosesTheBatchWithoutLosingTheSample() {
    Batcher batcher = new Batcher(1, 4, false, 1);
    assertNull(batcher.offer(sample(1, 1, 2)));
    Batcher.Batch b = batcher.offer(sample(2, 1, 3));
    assertArrayEquals(new long[] {1, 1, 2}, b.shapes()[0]);
    assertArrayEquals(new float[] {1, 1}, values(b));
    Batcher.Batch rest = batcher.flush();
    assertArrayEquals(new long[] {1, 1, 3}, rest.shapes()[0]);
    assertArrayEquals(new float[] {2, 2, 2}, values(rest));
  }

  /** The batches of a run: each as its samples' values (first element of each) and its shape. */
  private static List<String> run(Batcher batcher, List<Sample> samples) {
    List<String> out = new ArrayList<>();
    for (Sample s : samples) {
      Batcher.Batch b = batcher.offer(s);
      if (b != null) {
        out.add(describe(b));
      }
    }
    for (Batcher.Batch b = batcher.flush(); b != null; b = batcher.flush()) {
      out.add(describe(b));
    }
    return out;
  }

  private static String describe(Batcher.Batch b) {
    float[] v = values(b);
    int per = v.length / b.rows();
    StringBuilder sb = new StringBuilder(java.util.Arrays.toString(b.shapes()[0])).append(':');
    for (int r = 0; r < b.rows(); r++) {
      sb.append(' ').append((int) v[r * per]);
    }
    return sb.toString();
  }

  @Test
  void interleavedShapesStillFillWholeBatchesInADeterministicOrder() {
    // samples 0..9 alternate between widths 2 and 3; sample 10 has width 4, 11 width 5, 12 width 2
    List<Sample> samples = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      samples.add(sample(i, 1, i % 2 == 0 ? 2 : 3));
    }
    samples.add(sample(10, 1, 4));
    samples.add(sample(11, 1, 5));
    samples.add(sample(12, 1, 2));
    List<String> twoBuckets = run(new Batcher(1, 2, false, 2), samples);
    assertEquals(List.of(
        "[2, 1, 2]: 0 2", "[2, 1, 3]: 1 3", "[2, 1, 2]: 4 6", "[2, 1, 3]: 5 7",
        "[1, 1, 2]: 8", // width 4 finds both buckets open (8, 9): the oldest is sealed
        "[1, 1, 3]: 9", // width 5 finds width 4 and 3 open: 3 was opened first
        "[1, 1, 4]: 10", // width 2 again: width 4 is the oldest
        "[1, 1, 5]: 11", // flushed in opening order
        "[1, 1, 2]: 12"), twoBuckets);
    assertEquals(twoBuckets, run(new Batcher(1, 2, false, 2), samples), "the same order gives the same batches");
    // one bucket (the old behaviour) gives a batch per change of shape
    assertEquals(13, run(new Batcher(1, 2, false, 1), samples).size());
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
