package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The input shapes merged statistics record: the same whatever the order the runs are given in. */
class SavedStatsTest {
  private static Map<String, long[]> shapes(long ids, long mask) {
    Map<String, long[]> m = new LinkedHashMap<>();
    m.put("input_ids", new long[] {1, ids});
    m.put("attention_mask", new long[] {1, mask});
    return m;
  }

  @Test
  void theLeastShapesByInputNameThenDimensionWinInAnyOrder() {
    // by hand: inputs compared by name, attention_mask first; [1, 7] < [1, 9], then input_ids [1, 12] < [1, 30]
    Map<String, long[]> a = shapes(30, 9);
    Map<String, long[]> b = shapes(12, 9);
    Map<String, long[]> c = shapes(40, 7);
    Map<String, long[]> d = shapes(5, 7 + 1);
    List<Map<String, long[]>> all = new ArrayList<>(List.of(a, b, c, d));
    for (int turn = 0; turn < all.size(); turn++) {
      Collections.rotate(all, 1);
      assertSame(c, SavedStats.shapes(all), "rotation " + turn);
      List<Map<String, long[]>> reversed = new ArrayList<>(all);
      Collections.reverse(reversed);
      assertSame(c, SavedStats.shapes(reversed), "reversed rotation " + turn);
    }
    assertSame(b, SavedStats.shapes(List.of(a, b)));
    assertSame(b, SavedStats.shapes(List.of(b, a)));
    assertArrayEquals(new long[] {1, 7}, SavedStats.shapes(List.of(d, c)).get("attention_mask"));
  }
}
