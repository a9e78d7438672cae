package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SampleSelectionTest {
  private static List<SampleSelection.Key> keys(SampleSelection s, int n) {
    List<SampleSelection.Key> k = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      k.add(s.key("f" + (i % 7) + ".npy#" + i));
    }
    return k;
  }

  @Test
  void topNOfAnySplitEqualsOnePassAndTheSortedPrefix() {
    SampleSelection s = new SampleSelection(42, 1.0, null);
    List<SampleSelection.Key> all = keys(s, 1000);
    List<SampleSelection.Key> sorted = new ArrayList<>(all);
    sorted.sort(null);
    SampleSelection.TopN one = new SampleSelection.TopN(37);
    all.forEach(one::add);
    assertEquals(sorted.subList(0, 37), one.keys());
    Random r = new Random(3);
    for (int trial = 0; trial < 20; trial++) {
      int parts = 1 + r.nextInt(9);
      List<SampleSelection.TopN> partial = new ArrayList<>();
      for (int p = 0; p < parts; p++) {
        partial.add(new SampleSelection.TopN(37));
      }
      for (SampleSelection.Key k : all) {
        partial.get(r.nextInt(parts)).add(k);
      }
      SampleSelection.TopN merged = new SampleSelection.TopN(37);
      for (int p = parts - 1; p >= 0; p--) {
        merged = p % 2 == 0 ? merged.merge(partial.get(p)) : partial.get(p).merge(merged);
      }
      assertEquals(one.keys(), merged.keys());
      assertEquals(sorted.get(36), merged.cutoff());
    }
    SampleSelection cut = s.withCutoff(one.cutoff());
    assertEquals(37, all.stream().filter(cut::selects).count());
  }

  @Test
  void fewerKeysThanTheMaximumKeepEverything() {
    SampleSelection.TopN t = new SampleSelection.TopN(10);
    keys(new SampleSelection(1, 1.0, null), 5).forEach(t::add);
    assertNull(t.cutoff());
  }

  @Test
  void hashIsStableAndFractionKeepsAboutThatShare() {
    assertEquals(SampleSelection.hash(1, "a.npy#0"), SampleSelection.hash(1, "a.npy#0"));
    assertTrue(SampleSelection.hash(1, "a.npy#0") != SampleSelection.hash(2, "a.npy#0"));
    SampleSelection s = new SampleSelection(9, 0.25, null);
    long kept = keys(s, 20000).stream().filter(s::selects).count();
    assertTrue(Math.abs(kept - 5000) < 300, "kept " + kept);
  }
}
