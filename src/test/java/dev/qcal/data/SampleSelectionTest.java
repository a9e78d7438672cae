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

  /** Records of rows known by content: 60 distinct rows, row i in 1 + i % 4 copies, each copy in a random partition. */
  private static List<int[]> copiesInPartitions(Random r, int partitions) {
    List<int[]> records = new ArrayList<>(); // {row, partition}
    for (int row = 0; row < 60; row++) {
      for (int c = 0; c <= row % 4; c++) {
        records.add(new int[] {row, r.nextInt(partitions)});
      }
    }
    java.util.Collections.shuffle(records, r);
    return records;
  }

  private static SampleSelection.Key rowKey(SampleSelection s, int row) {
    return s.contentKey("", new float[][] {{row, row * 0.5f}, {-row}});
  }

  @Test
  void copiesStraddlingTheCutoffGiveExactlyNForAnySplitAndOrder() {
    SampleSelection s = new SampleSelection(7, 1.0, null);
    Random r = new Random(11);
    List<SampleSelection.Key> sortedRows = new ArrayList<>();
    for (int row = 0; row < 60; row++) {
      sortedRows.add(rowKey(s, row));
    }
    sortedRows.sort(null);
    int straddled = 0;
    for (int n = 1; n <= 152; n++) { // 150 records
      int parts = 1 + r.nextInt(8);
      List<int[]> records = copiesInPartitions(r, parts);
      // reference: the sorted records' first n keys
      List<SampleSelection.Key> all = new ArrayList<>();
      for (int[] rec : records) {
        all.add(rowKey(s, rec[0]));
      }
      all.sort(null);
      List<SampleSelection.TopN> partial = new ArrayList<>();
      for (int p = 0; p < parts; p++) {
        partial.add(new SampleSelection.TopN(n));
      }
      for (int[] rec : records) {
        partial.get(rec[1]).add(rowKey(s, rec[0]), rec[1]);
      }
      SampleSelection.TopN merged = new SampleSelection.TopN(n);
      for (int p = parts - 1; p >= 0; p--) {
        merged = p % 2 == 0 ? merged.merge(partial.get(p)) : partial.get(p).merge(merged);
      }
      long expected = Math.min(n, all.size());
      assertEquals(expected, merged.selected());
      if (n > all.size()) {
        assertNull(merged.cutoff());
        continue;
      }
      assertEquals(all.get(n - 1), merged.cutoff(), "n = " + n);
      boolean straddles = n < all.size() && all.get(n).equals(all.get(n - 1));
      straddled += straddles ? 1 : 0;
      assertEquals(straddles, merged.quotas() != null, "n = " + n);
      // the second pass, in another order, partition by partition: exactly n records, the n smallest keys' contents
      SampleSelection cut = s.withCutoff(merged);
      java.util.Collections.shuffle(records, r);
      List<SampleSelection.Key> taken = new ArrayList<>();
      for (int p = 0; p < parts; p++) {
        SampleSelection.Picker picker = cut.picker(p);
        for (int[] rec : records) {
          if (rec[1] == p && picker.selects(rowKey(s, rec[0]))) {
            taken.add(rowKey(s, rec[0]));
          }
        }
        picker.finish();
      }
      taken.sort(null);
      assertEquals(all.subList(0, n), taken, "n = " + n);
    }
    assertTrue(straddled > 30, "copies straddled the cutoff in " + straddled + " cases");
  }

  @Test
  void aPartitionHoldingFewerCutoffCopiesThanInTheFirstPassFails() {
    SampleSelection s = new SampleSelection(1, 1.0, null);
    SampleSelection.Key k = rowKey(s, 3);
    SampleSelection.TopN top = new SampleSelection.TopN(2).add(k, 0).add(k, 1).add(k, 1);
    assertEquals(java.util.Map.of(0, 1L, 1, 1L), top.quotas());
    SampleSelection.Picker picker = s.withCutoff(top).picker(1);
    IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, picker::finish);
    assertTrue(e.getMessage().contains("partition 1") && e.getMessage().contains("data changed"), e.getMessage());
  }

  @Test
  void equalContentGivesEqualKeysAndA64BitCollisionIsOrderedByTheSecondHash() {
    SampleSelection s = new SampleSelection(5, 1.0, null);
    assertEquals(rowKey(s, 9), rowKey(s, 9));
    assertTrue(rowKey(s, 9).tie() != rowKey(s, 10).tie());
    assertTrue(!rowKey(s, 9).equals(new SampleSelection(6, 1.0, null).contentKey("", new float[][] {{9, 4.5f}, {-9}})));
    // two different rows with the same 64-bit hash: ordered by the tie breaker, whatever the arrival order
    SampleSelection.Key a = new SampleSelection.Key(42, "", 1);
    SampleSelection.Key b = new SampleSelection.Key(42, "", -1); // unsigned: after a
    assertTrue(a.compareTo(b) < 0);
    SampleSelection.TopN ab = new SampleSelection.TopN(1).add(a, 3).add(b, 0);
    SampleSelection.TopN ba = new SampleSelection.TopN(1).add(b, 0).add(a, 3);
    assertEquals(a, ab.cutoff());
    assertEquals(a, ba.cutoff());
    assertNull(ab.quotas());
  }

  @Test
  void fewerKeysThanTheMaximumKeepEverything() {
    SampleSelection.TopN t = new SampleSelection.TopN(10);
    List<SampleSelection.Key> five = keys(new SampleSelection(1, 1.0, null), 5);
    five.forEach(t::add);
    assertNull(t.cutoff());
    assertEquals(5, t.selected());
    List<SampleSelection.Key> sorted = new ArrayList<>(five);
    java.util.Collections.sort(sorted);
    assertEquals(sorted, t.keys());
  }

  @Test
  void hashIsStableAndAFractionKeepsTheKeysBelowItsShareOf2To64() {
    // the same on every JVM (executors hash rows independently): SplitMix64 of FNV-1a over the UTF-8 bytes,
    // seeded with SplitMix64 of the seed, recomputed here in arbitrary precision modulo 2^64
    for (String id : List.of("a.npy#0", "part-00003.parquet#17", "caf\u00e9.npy#2", "")) {
      for (long seed : new long[] {1, 2, -7}) {
        assertEquals(HashOracle.hash(seed, id).longValue(), SampleSelection.hash(seed, id), id + " seed " + seed);
      }
    }
    assertTrue(SampleSelection.hash(1, "a.npy#0") != SampleSelection.hash(2, "a.npy#0"));
    // a fraction keeps exactly the keys whose hash is below fraction * 2^64, each decided alone
    SampleSelection s = new SampleSelection(9, 0.25, null);
    List<SampleSelection.Key> keys = keys(s, 20000);
    List<String> wrong = keys.stream().filter(k -> s.selects(k) != HashOracle.kept(9, 0.25, k.id()))
        .map(SampleSelection.Key::id).toList();
    assertEquals(List.of(), wrong, "kept or dropped against the oracle");
    long kept = keys.stream().filter(s::selects).count();
    assertTrue(Math.abs(kept - 5000) < 300, "about a quarter: kept " + kept);
  }
}
