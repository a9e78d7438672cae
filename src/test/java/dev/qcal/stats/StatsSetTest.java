package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** The merge laws: split anywhere and merge in any order == one pass over all values. */
class StatsSetTest {
  private static final List<String> TENSORS = List.of("a", "b");

  private static float[] randomValues(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * 3 + (r.nextInt(50) == 0 ? 40 : 0));
      int special = r.nextInt(200);
      if (special == 0) {
        v[i] = Float.NaN;
      } else if (special == 1) {
        v[i] = Float.POSITIVE_INFINITY;
      } else if (special == 2) {
        v[i] = Float.NEGATIVE_INFINITY;
      }
    }
    return v;
  }

  private static StatsSet of(float[] a, float[] b) {
    return StatsSet.empty(TENSORS).add("a", FloatBuffer.wrap(a)).add("b", FloatBuffer.wrap(b)).countBatch(1);
  }

  @RepeatedTest(20)
  void anySplitAndMergeOrderEqualsSinglePass() {
    Random r = new Random();
    int chunks = 1 + r.nextInt(12);
    List<float[]> as = new ArrayList<>();
    List<float[]> bs = new ArrayList<>();
    StatsSet single = StatsSet.empty(TENSORS);
    for (int c = 0; c < chunks; c++) {
      float[] a = randomValues(r, r.nextInt(300));
      float[] b = randomValues(r, r.nextInt(300));
      as.add(a);
      bs.add(b);
      single.add("a", FloatBuffer.wrap(a)).add("b", FloatBuffer.wrap(b)).countBatch(1);
    }
    List<StatsSet> parts = new ArrayList<>();
    for (int c = 0; c < chunks; c++) {
      parts.add(of(as.get(c), bs.get(c)));
    }
    Collections.shuffle(parts, r);
    // merge as an unbalanced random tree
    while (parts.size() > 1) {
      int i = r.nextInt(parts.size() - 1);
      StatsSet merged = parts.remove(i).merge(parts.remove(i));
      parts.add(r.nextInt(parts.size() + 1), merged);
    }
    assertEquals(single, parts.get(0));
    assertEquals(single.batches(), parts.get(0).batches());
  }

  @Test
  void emptyIsTheIdentityOnBothSides() {
    Random r = new Random(3);
    float[] a = randomValues(r, 100);
    float[] b = randomValues(r, 100);
    assertEquals(of(a, b), StatsSet.empty(TENSORS).merge(of(a, b)));
    assertEquals(of(a, b), of(a, b).merge(StatsSet.empty(TENSORS)));
  }

  @Test
  void associativeAndCommutative() {
    Random r = new Random(5);
    float[][] v = new float[6][];
    for (int i = 0; i < 6; i++) {
      v[i] = randomValues(r, 50 + i);
    }
    StatsSet left = of(v[0], v[1]).merge(of(v[2], v[3])).merge(of(v[4], v[5]));
    StatsSet right = of(v[0], v[1]).merge(of(v[2], v[3]).merge(of(v[4], v[5])));
    StatsSet swapped = of(v[4], v[5]).merge(of(v[0], v[1])).merge(of(v[2], v[3]));
    assertEquals(left, right);
    assertEquals(left, swapped);
  }

  @Test
  void nonFiniteValuesAreCountedNotFoldedIntoTheRange() {
    TensorStats s = TensorStats.empty("t").add(new float[] {1f, Float.NaN, -2f, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.NaN, 0.5f});
    assertEquals(-2f, s.min());
    assertEquals(1f, s.max());
    assertEquals(3, s.count());
    assertEquals(2, s.nanCount());
    assertEquals(1, s.posInfCount());
    assertEquals(1, s.negInfCount());
  }

  @Test
  void addRespectsBufferWindowAndLeavesPositionAlone() {
    FloatBuffer b = FloatBuffer.wrap(new float[] {100f, 1f, 2f, -100f});
    b.position(1).limit(3);
    TensorStats s = TensorStats.empty("t").add(b);
    assertEquals(1f, s.min());
    assertEquals(2f, s.max());
    assertEquals(1, b.position());
  }

  @Test
  void mergeChecksCompatibilityAndNamesTheTensor() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TensorStats.empty("conv1").merge(TensorStats.empty("conv2")));
    assertTrue(e.getMessage().contains("conv1") && e.getMessage().contains("conv2"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> StatsSet.empty(List.of("a")).merge(StatsSet.empty(List.of("b"))));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> StatsSet.empty(TENSORS).get("zz"))
        .getMessage().contains("zz"));
  }
}
