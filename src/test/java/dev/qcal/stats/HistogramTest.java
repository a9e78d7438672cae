package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.stats.StatsTestData.HistOracle;
import dev.qcal.stats.StatsTestData.Kind;
import dev.qcal.stats.StatsTestData.Values;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Exact merges: any split, merged in any order or tree shape, equals the brute-force histogram. */
class HistogramTest {

  private static void assertMatches(HistOracle o, Histogram h, String what) {
    if (o == null) {
      assertEquals(0, h.total(), what);
      assertEquals(0, h.bins(), what);
      assertEquals(Histogram.empty(h.maxBins()), h, what);
      return;
    }
    assertEquals(o.exponent(), h.exponent(), what + ": exponent");
    assertEquals(o.firstBin(), h.firstBin(), what + ": first bin");
    assertArrayEquals(o.counts(), h.counts(), what + ": counts");
    assertEquals(o.total(), h.total(), what + ": total");
  }

  /**
   * Long all-finite windows of a direct buffer (what ONNX Runtime hands over) are binned through
   * interleaved counters; the counts must be the brute-force ones for every kind of values, including
   * long runs of one value (ReLU zeros) and windows that do not fill the last chunk.
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void longDirectWindowsMatchBruteForce(Kind kind) {
    Random r = new Random(kind.ordinal() * 31L + 7);
    Values gen = new Values(kind, r);
    for (int bins : new int[] {2, 64, 4096}) {
      for (int n : new int[] {2 * bins, 3 * Chunks.SIZE + 3, 50_001}) {
        float[] v = gen.next(n);
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(n * 4).order(java.nio.ByteOrder.nativeOrder());
        FloatBuffer direct = bytes.asFloatBuffer();
        direct.put(v).clear();
        Histogram h = Histogram.empty(bins).add(direct);
        List<Float> all = new ArrayList<>();
        for (float f : v) {
          all.add(f);
        }
        assertMatches(StatsTestData.histogramOracle(all, bins), h, kind + " bins " + bins + " n " + n);
        assertEquals(0, direct.position());
        // and again on top of what is held: the interleaved counters start from zero every call
        h.add(direct);
        Histogram twice = Histogram.empty(bins).add(v).add(v);
        assertEquals(twice, h, kind + " bins " + bins + " n " + n + " twice");
      }
    }
  }

  private static byte[] serialize(Object o) {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(b)) {
      out.writeObject(o);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return b.toByteArray();
  }

  private static Histogram deserialize(byte[] bytes) {
    try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes))) {
      return (Histogram) in.readObject();
    } catch (java.io.IOException | ClassNotFoundException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Java serialization (how Spark ships states) keeps the exact state, the copy goes on binning and
   * merging like the original, and only the meaningful counts travel, a byte per count below 128.
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void javaSerializationKeepsTheStateInAFewBytesPerBin(Kind kind) {
    Random r = new Random(kind.ordinal() + 101L);
    Values gen = new Values(kind, r);
    Histogram h = Histogram.empty(4096).add(gen.next(3000));
    Histogram copy = deserialize(serialize(h));
    assertEquals(h, copy, kind.toString());
    float[] more = gen.next(5000);
    h.add(more);
    copy.add(more);
    assertEquals(h, copy, kind + ", after adding to both");
    Histogram other = Histogram.empty(4096).add(gen.next(700));
    assertEquals(h.copy().merge(other), deserialize(serialize(copy)).merge(deserialize(serialize(other))), kind.toString());
    // 8000 values: fewer than 128 in all but a few bins
    long over = java.util.Arrays.stream(h.counts()).filter(c -> c >= 128).count();
    assertTrue(serialize(h).length <= 400 + h.bins() + over * 2, kind + ": " + serialize(h).length + " bytes for " + h.bins() + " bins");
  }

  @Test
  void javaSerializationOfEmptyAndLargeCounts() {
    // an empty histogram (the zero value each task receives) carries no counts however many bins it may hold
    assertTrue(serialize(Histogram.empty(Histogram.MAX_BINS)).length < 400);
    assertEquals(Histogram.empty(4096), deserialize(serialize(Histogram.empty(4096))));
    // counts of every varint length, up to 2^62
    int e = Histogram.exponentFor(0f, 7f, 8);
    long[] counts = {1, 127, 128, 16_383, 16_384, 1L << 35, (1L << 62) - 1, 3};
    Histogram h = Histogram.restore(8, 0f, 7f, e, 0, counts);
    Histogram copy = deserialize(serialize(h));
    assertEquals(h, copy);
    assertArrayEquals(counts, copy.counts());
  }

  /** Merges in a random tree shape after shuffling. */
  static <T> T mergeRandomTree(List<T> parts, Random r, java.util.function.BinaryOperator<T> merge) {
    List<T> l = new ArrayList<>(parts);
    Collections.shuffle(l, r);
    while (l.size() > 1) {
      int i = r.nextInt(l.size() - 1);
      T merged = merge.apply(l.remove(i), l.remove(i));
      l.add(r.nextInt(l.size() + 1), merged);
    }
    return l.get(0);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void anySplitMergedEqualsTheBruteForceHistogram(Kind kind) {
    Random seeds = new Random(kind.ordinal());
    for (int round = 0; round < 25; round++) {
      Random r = new Random(seeds.nextLong());
      Values v = new Values(kind, r);
      int maxBins = new int[] {2, 3, 16, 255, 4096}[r.nextInt(5)];
      List<float[]> parts = new ArrayList<>();
      List<Float> all = new ArrayList<>();
      Histogram single = Histogram.empty(maxBins);
      for (int p = 0, n = 1 + r.nextInt(8); p < n; p++) {
        float[] part = v.next(r.nextInt(400));
        parts.add(part);
        for (float x : part) {
          all.add(x);
        }
        single.add(part);
      }
      HistOracle oracle = StatsTestData.histogramOracle(all, maxBins);
      String what = kind + " round " + round + " B=" + maxBins;
      assertMatches(oracle, single, what + " single pass");
      List<Histogram> hs = new ArrayList<>();
      for (float[] part : parts) {
        // direct buffers for half the parts: the chunked copy path
        hs.add(r.nextBoolean() ? Histogram.empty(maxBins).add(part)
            : Histogram.empty(maxBins).add(new StatsTestData.Batch(part, new long[] {part.length}).direct()));
      }
      Histogram merged = mergeRandomTree(hs, r, Histogram::merge);
      assertMatches(oracle, merged, what + " merged");
      assertEquals(single, merged, what);
      assertEquals(single.hashCode(), merged.hashCode(), what);
    }
  }

  @Test
  void emptyIsTheIdentityOnBothSides() {
    Histogram h = Histogram.empty(16).add(new float[] {1, 2, 3, -7, Float.NaN});
    assertEquals(h, Histogram.empty(16).merge(h.copy()));
    assertEquals(h, h.copy().merge(Histogram.empty(16)));
    assertEquals(Histogram.empty(16), Histogram.empty(16).add(new float[] {Float.NaN, Float.POSITIVE_INFINITY}));
  }

  @Test
  void associativeAndCommutative() {
    Random r = new Random(11);
    Values v = new Values(Kind.ALL_MAGNITUDES, r);
    float[] a = v.next(100);
    float[] b = v.next(10);
    float[] c = v.next(1000);
    Histogram ab_c = h(a).merge(h(b)).merge(h(c));
    Histogram a_bc = h(a).merge(h(b).merge(h(c)));
    Histogram cba = h(c).merge(h(b)).merge(h(a));
    // each order against the brute-force histogram of all 1110 values, not only against each other
    List<Float> all = new ArrayList<>();
    for (float[] part : List.of(a, b, c)) {
      for (float x : part) {
        all.add(x);
      }
    }
    HistOracle oracle = StatsTestData.histogramOracle(all, 64);
    assertMatches(oracle, ab_c, "(a+b)+c");
    assertMatches(oracle, a_bc, "a+(b+c)");
    assertMatches(oracle, cba, "(c+b)+a");
    assertEquals(ab_c, a_bc);
    assertEquals(ab_c, cba);
  }

  private static Histogram h(float[] v) {
    return Histogram.empty(64).add(v);
  }

  @Test
  void defaultBinsSpanAtLeastHalfPlusOneWhenTheBinCountDecides() {
    Random r = new Random(7);
    int checked = 0;
    for (int i = 0; i < 2000; i++) {
      float scale = Math.scalb(1f, r.nextInt(200) - 100);
      float lo = (float) (r.nextGaussian() * scale);
      float hi = lo + Math.abs((float) (r.nextGaussian() * scale * Math.scalb(1f, -r.nextInt(30))));
      Histogram h = Histogram.empty(StatsConfig.DEFAULT_HISTOGRAM_BINS).add(new float[] {lo, hi});
      float mag = Math.max(Math.abs(lo), Math.abs(hi));
      int floor = Math.max(Histogram.E_MIN, Math.getExponent(mag) - 52);
      assertTrue(h.bins() <= 4096, h.toString());
      if (h.exponent() > floor) {
        assertTrue(h.bins() >= 2049, lo + ".." + hi + ": " + h);
        checked++;
      } else {
        assertEquals(floor, h.exponent());
      }
    }
    assertTrue(checked > 1000, "ranges that needed coarsening: " + checked);
  }

  @Test
  void constantsAndSingleValuesGetOneBinAtTheResolutionFloor() {
    assertOneBin(0f, Histogram.E_MIN, 0);
    assertOneBin(-0f, Histogram.E_MIN, 0);
    assertOneBin(Float.MIN_VALUE, Histogram.E_MIN, 1);
    assertOneBin(-Float.MIN_VALUE, Histogram.E_MIN, -1);
    assertOneBin(1f, -52, 1L << 52);
    assertOneBin(-1f, -52, -(1L << 52));
    assertOneBin(1e38f, Math.getExponent(1e38f) - 52, (long) Math.floor(Math.scalb((double) 1e38f, 52 - Math.getExponent(1e38f))));
    assertOneBin(-Float.MAX_VALUE, 127 - 52, -((1L << 53) - (1L << 29)));
    Histogram h = Histogram.empty(4096).add(new float[] {3f, 3f, 3f});
    assertEquals(3, h.count(0));
    assertEquals(3.0, h.lowerEdge(0));
    assertEquals(Math.scalb(1.0, -51), h.binWidth());
  }

  private static void assertOneBin(float v, int e, long first) {
    Histogram h = Histogram.empty(4096).add(new float[] {v});
    assertEquals(e, h.exponent(), "exponent of " + v);
    assertEquals(first, h.firstBin(), "first bin of " + v);
    assertEquals(1, h.bins());
    assertEquals(1, h.total());
    assertTrue(h.lowerEdge(0) <= v && v < h.lowerEdge(1), v + " in its bin");
  }

  @Test
  void extremeRangeFitsTwoBins() {
    Histogram h = Histogram.empty(2).add(new float[] {-Float.MAX_VALUE, Float.MAX_VALUE, 0f});
    assertEquals(Histogram.E_MAX, h.exponent());
    assertEquals(-1, h.firstBin());
    assertArrayEquals(new long[] {1, 2}, h.counts());
  }

  @Test
  void accessorsDescribeTheBins() {
    Histogram h = Histogram.empty(8).add(new float[] {-1f, 0f, 0.5f, 2.9f, Float.NaN, Float.NEGATIVE_INFINITY});
    // [-1, 2.9] at width 1/2 spans bins -2..5 = 8 bins
    assertEquals(-1, h.exponent());
    assertEquals(0.5, h.binWidth());
    assertEquals(-2, h.firstBin());
    assertEquals(8, h.bins());
    assertEquals(4, h.total());
    assertEquals(-1.0, h.lowerEdge(0));
    assertEquals(3.0, h.lowerEdge(8));
    assertArrayEquals(new long[] {1, 0, 1, 1, 0, 0, 0, 1}, h.counts());
    assertThrows(IndexOutOfBoundsException.class, () -> h.count(8));
  }

  @Test
  void addLeavesTheBufferPositionAlone() {
    FloatBuffer b = FloatBuffer.wrap(new float[] {100f, 1f, 2f, -100f});
    b.position(1).limit(3);
    Histogram h = Histogram.empty(16).add(b);
    assertEquals(1, b.position());
    assertEquals(2, h.total());
    assertEquals(1f, h.min());
  }

  @Test
  void mergeChecksTheBinCount() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Histogram.empty(16).merge(Histogram.empty(32).add(new float[] {1})));
    assertTrue(e.getMessage().contains("16") && e.getMessage().contains("32"), e.getMessage());
    assertNotEquals(Histogram.empty(16), Histogram.empty(32));
  }
}
