package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link TensorStats#addBox}: the valid box of a row gives exactly the state of adding those values alone,
 * against a brute-force oracle that computes each element's flat index and copies it.
 */
class TensorStatsBoxTest {
  /** The oracle: element by element, the box of row {@code row} copied out, then added as [1, ends...]. */
  private static TensorStats oracle(TensorStats s, float[] v, long[] shape, int row, long[] ends) {
    int k = ends.length;
    int count = 1;
    for (long e : ends) {
      count *= (int) e;
    }
    float[] copy = new float[count];
    for (int j = 0; j < count; j++) {
      // j -> box index (row-major over ends) -> flat index in the batch
      int rem = j;
      long[] idx = new long[k];
      for (int a = k - 1; a >= 0; a--) {
        idx[a] = rem % ends[a];
        rem /= (int) ends[a];
      }
      long flat = row;
      for (int a = 0; a < k; a++) {
        flat = flat * shape[a + 1] + idx[a];
      }
      copy[j] = v[(int) flat];
    }
    long[] box = new long[k + 1];
    box[0] = 1;
    System.arraycopy(ends, 0, box, 1, k);
    return s.add(FloatBuffer.wrap(copy), box);
  }

  @Test
  void boxesEqualTheCopyThenAddOracle() {
    Random rnd = new Random(15);
    StatsConfig perChannel = new StatsConfig(64, 16, java.util.Map.of()).withAxis("t", 3);
    for (StatsConfig config : new StatsConfig[] {new StatsConfig(64, 0, java.util.Map.of()).withAxis("t", -1), perChannel}) {
      for (int trial = 0; trial < 50; trial++) {
        long[] shape = {1 + rnd.nextInt(3), 1 + rnd.nextInt(4), 1 + rnd.nextInt(5), 1 + rnd.nextInt(3)};
        float[] v = new float[(int) (shape[0] * shape[1] * shape[2] * shape[3])];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (rnd.nextGaussian() * 3);
        }
        TensorStats got = TensorStats.empty("t", config);
        TensorStats want = TensorStats.empty("t", config);
        for (int row = 0; row < shape[0]; row++) {
          // the channel axis (3) stays full; the others are cut anywhere, empty boxes included
          long[] ends = {rnd.nextInt((int) shape[1] + 1), rnd.nextInt((int) shape[2] + 1), shape[3]};
          FloatBuffer buf = FloatBuffer.wrap(v);
          got.addBox(buf, shape, row, ends);
          assertEquals(0, buf.position());
          oracle(want, v, shape, row, ends);
        }
        assertEquals(want, got, "trial " + trial);
      }
    }
  }

  @Test
  void aFullBoxIsTheRowAndPaddedValuesAreLeftOut() {
    // row 1 of [2, 3]: [4, 5, 99]; its box [0, 2) leaves out the 99
    float[] v = {1, 2, 3, 4, 5, 99};
    long[] shape = {2, 3};
    StatsConfig c = new StatsConfig(0, 0, java.util.Map.of());
    TensorStats box = TensorStats.empty("t", c).addBox(FloatBuffer.wrap(v), shape, 1, new long[] {2});
    assertEquals(4f, box.min());
    assertEquals(5f, box.max());
    assertEquals(2, box.count());
    TensorStats full = TensorStats.empty("t", c).addBox(FloatBuffer.wrap(v), shape, 1, new long[] {3});
    assertEquals(TensorStats.empty("t", c).add(new float[] {4, 5, 99}), full);
    assertNotEquals(box, full);
  }

  @Test
  void endsOutsideTheShapeAreRefused() {
    TensorStats s = TensorStats.empty("t", new StatsConfig(0, 0, java.util.Map.of()));
    assertThrows(IllegalArgumentException.class, () -> s.addBox(FloatBuffer.wrap(new float[6]), new long[] {2, 3}, 0,
        new long[] {4}));
    assertThrows(IllegalArgumentException.class, () -> s.addBox(FloatBuffer.wrap(new float[6]), new long[] {2, 3}, 2,
        new long[] {1}));
  }
}
