package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.stats.StatsTestData.Batch;
import dev.qcal.stats.StatsTestData.Kind;
import dev.qcal.stats.StatsTestData.Values;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The merge laws of the whole set: split anywhere, batch any way, merge in any order or tree shape
 * == one pass over all values; equal states have equal {@link StatsCodec} bytes.
 */
class StatsSetTest {
  private static final List<String> TENSORS = List.of("conv", "seq");
  /** Small histograms (coarsened often) with per-channel histograms on. */
  private static final StatsConfig SMALL = new StatsConfig(16, 8, java.util.Map.of("seq", 1));
  private static final StatsConfig[] CONFIGS = {StatsConfig.defaults(), SMALL,
      new StatsConfig(0, 0, java.util.Map.of("conv", -1))};

  /** Batches of both tensors: conv [N, 3, 2, W] (NCHW), seq [N, 4, T] (3-D). */
  private record Run(List<Batch> conv, List<Batch> seq) {}

  private static Run run(Values v, int samples, int maxBatch) {
    return new Run(StatsTestData.batches(v, samples, 3, new int[] {2}, new int[] {1, 5, 7}, maxBatch),
        StatsTestData.batches(v, samples, 4, new int[] {}, new int[] {2, 9}, maxBatch));
  }

  /** One partition: all batches in order; direct buffers when {@code direct}. */
  private static StatsSet observe(StatsConfig config, List<Batch> conv, List<Batch> seq, boolean direct) {
    StatsSet s = StatsSet.empty(TENSORS, config);
    for (int i = 0; i < Math.max(conv.size(), seq.size()); i++) {
      if (i < conv.size()) {
        Batch b = conv.get(i);
        s.add("conv", direct ? b.direct() : b.heap(), b.shape());
        s.countBatch((int) b.shape()[0]);
      }
      if (i < seq.size()) {
        Batch b = seq.get(i);
        s.add("seq", direct ? b.direct() : b.heap(), b.shape());
      }
    }
    return s;
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void anySplitBatchingAndMergeOrderEqualsSinglePass(Kind kind) {
    Random seeds = new Random(100 + kind.ordinal());
    for (int round = 0; round < 12; round++) {
      Random r = new Random(seeds.nextLong());
      StatsConfig config = CONFIGS[round % CONFIGS.length];
      Run run = run(new Values(kind, r), 1 + r.nextInt(20), 4);
      StatsSet single = observe(config, run.conv, run.seq, false);
      // another batch size: every sample its own batch; samples count the same, batches do not
      StatsSet oneByOne = observe(config, StatsTestData.oneByOne(run.conv), StatsTestData.oneByOne(run.seq), true);
      String what = kind + " round " + round + " " + config;
      assertEquals(single, oneByOne, what);
      assertArrayEquals(StatsCodec.toBytes(single), StatsCodec.toBytes(oneByOne), what);

      // partitions: contiguous slices, some empty, one of them retried (observed twice, kept once)
      List<StatsSet> parts = new ArrayList<>();
      int cuts = r.nextInt(6);
      int from = 0;
      for (int p = 0; p <= cuts; p++) {
        int to = p == cuts ? run.conv.size() : from + r.nextInt(run.conv.size() - from + 1);
        int sFrom = Math.min(from, run.seq.size());
        int sTo = Math.min(p == cuts ? run.seq.size() : to, run.seq.size());
        parts.add(observe(config, run.conv.subList(from, to), run.seq.subList(sFrom, sTo), r.nextBoolean()));
        from = to;
      }
      parts.add(StatsSet.empty(TENSORS, config));
      StatsSet merged = HistogramTest.mergeRandomTree(parts, r, StatsSet::merge);
      assertEquals(single, merged, what);
      assertEquals(single.hashCode(), merged.hashCode(), what);
      assertEquals(single.batches(), merged.batches(), what);
      assertArrayEquals(StatsCodec.toBytes(single), StatsCodec.toBytes(merged), what);
      assertAgreesWithBruteForce(merged, run, what);
    }
  }

  /** Per tensor and per channel min, max and counts of all values, computed by index arithmetic. */
  private static void assertAgreesWithBruteForce(StatsSet s, Run run, String what) {
    checkSummary(s.get("conv"), StatsTestData.allValues(run.conv), what);
    checkSummary(s.get("seq"), StatsTestData.allValues(run.seq), what);
    TensorStats conv = s.get("conv");
    if (conv.axis() != null) {
      assertEquals(1, conv.axis());
      assertEquals(3, conv.channels());
      for (int c = 0; c < 3; c++) {
        checkChannel(conv, c, StatsTestData.channelValues(run.conv, 1, c), what);
      }
    }
    TensorStats seq = s.get("seq");
    if (s.config().axes().containsKey("seq")) {
      assertEquals(1, seq.axis());
      for (int c = 0; c < seq.channels(); c++) {
        checkChannel(seq, c, StatsTestData.channelValues(run.seq, 1, c), what);
      }
    } else {
      assertEquals(null, seq.axis(), "3-D tensors are per tensor by default");
    }
  }

  private static long[] expect(List<Float> values) {
    float mn = Float.POSITIVE_INFINITY;
    float mx = Float.NEGATIVE_INFINITY;
    long fin = 0, nan = 0, pinf = 0, ninf = 0;
    for (float v : values) {
      if (Float.isNaN(v)) {
        nan++;
      } else if (v == Float.POSITIVE_INFINITY) {
        pinf++;
      } else if (v == Float.NEGATIVE_INFINITY) {
        ninf++;
      } else {
        fin++;
        float z = v == 0f ? 0f : v; // zero extremes are +0.0
        mn = Float.compare(z, mn) < 0 ? z : mn;
        mx = Float.compare(z, mx) > 0 ? z : mx;
      }
    }
    return new long[] {Float.floatToIntBits(mn), Float.floatToIntBits(mx), fin, nan, pinf, ninf};
  }

  private static void checkSummary(TensorStats t, List<Float> values, String what) {
    assertArrayEquals(expect(values), new long[] {Float.floatToIntBits(t.min()), Float.floatToIntBits(t.max()),
        t.count(), t.nanCount(), t.posInfCount(), t.negInfCount()}, what + " " + t.tensor());
    if (t.histogram() != null) {
      StatsTestData.HistOracle o = StatsTestData.histogramOracle(values, t.histogram().maxBins());
      if (o == null) {
        assertEquals(0, t.histogram().total());
      } else {
        assertEquals(o.exponent(), t.histogram().exponent(), what);
        assertEquals(o.firstBin(), t.histogram().firstBin(), what);
        assertArrayEquals(o.counts(), t.histogram().counts(), what);
      }
    }
  }

  private static void checkChannel(TensorStats t, int c, List<Float> values, String what) {
    assertArrayEquals(expect(values), new long[] {Float.floatToIntBits(t.channelMin(c)),
        Float.floatToIntBits(t.channelMax(c)), t.channelCount(c), t.channelNanCount(c), t.channelPosInfCount(c),
        t.channelNegInfCount(c)}, what + " " + t.tensor() + " channel " + c);
    Histogram h = t.channelHistogram(c);
    if (h != null) {
      StatsTestData.HistOracle o = StatsTestData.histogramOracle(values, h.maxBins());
      assertEquals(o == null ? 0 : o.total(), h.total(), what);
      if (o != null) {
        assertEquals(o.exponent(), h.exponent(), what);
        assertEquals(o.firstBin(), h.firstBin(), what);
        assertArrayEquals(o.counts(), h.counts(), what + " channel " + c);
      }
    }
  }

  private static StatsSet sample(Random r, StatsConfig config) {
    Run run = run(new Values(Kind.GAUSSIAN_WITH_SPECIALS, r), 1 + r.nextInt(6), 3);
    return observe(config, run.conv, run.seq, false);
  }

  @Test
  void emptyIsTheIdentityOnBothSides() {
    for (StatsConfig config : CONFIGS) {
      StatsSet a = sample(new Random(3), config);
      assertEquals(a, StatsSet.empty(TENSORS, config).merge(sample(new Random(3), config)));
      assertEquals(a, sample(new Random(3), config).merge(StatsSet.empty(TENSORS, config)));
      assertEquals(StatsSet.empty(TENSORS, config), StatsSet.empty(TENSORS, config).merge(StatsSet.empty(TENSORS, config)));
    }
  }

  /**
   * combine (Spark's merge function) hands an empty left side's partner back as it is, checks
   * compatibility all the same, and otherwise merges into the left side.
   */
  @Test
  void combineReturnsTheOtherSideOfAnEmptyOneAndMergesOtherwise() {
    for (StatsConfig config : CONFIGS) {
      StatsSet empty = StatsSet.empty(TENSORS, config);
      assertTrue(empty.isEmpty());
      StatsSet b = sample(new Random(5), config);
      assertTrue(!b.isEmpty());
      assertSame(b, StatsSet.combine(empty, b));
      assertEquals(sample(new Random(5), config), b, "b unchanged");
      StatsSet a = sample(new Random(6), config);
      StatsSet combined = StatsSet.combine(a, sample(new Random(5), config));
      assertSame(a, combined);
      assertEquals(sample(new Random(6), config).merge(sample(new Random(5), config)), combined);
      assertEquals(sample(new Random(6), config), StatsSet.combine(sample(new Random(6), config), StatsSet.empty(TENSORS, config)));
      assertTrue(StatsSet.combine(StatsSet.empty(TENSORS, config), StatsSet.empty(TENSORS, config)).isEmpty());
    }
    StatsSet d = StatsSet.empty(TENSORS, StatsConfig.defaults());
    assertThrows(IllegalArgumentException.class, () -> StatsSet.combine(d, sample(new Random(5), SMALL)));
    assertThrows(IllegalArgumentException.class, () -> StatsSet.combine(StatsSet.empty(List.of("a"), StatsConfig.defaults()),
        StatsSet.empty(List.of("b"), StatsConfig.defaults())));
    // a set whose tensors hold only non-finite values, or were shaped by an empty batch, is not empty
    StatsSet nan = StatsSet.empty(TENSORS, StatsConfig.defaults());
    nan.add("conv", java.nio.FloatBuffer.wrap(new float[] {Float.NaN}), new long[] {1, 1, 1, 1});
    assertTrue(!nan.isEmpty());
    StatsSet shaped = StatsSet.empty(TENSORS, StatsConfig.defaults());
    shaped.add("seq", java.nio.FloatBuffer.wrap(new float[0]), new long[] {0, 4, 2});
    assertTrue(!shaped.isEmpty());
  }

  @Test
  void associativeAndCommutative() {
    for (StatsConfig config : CONFIGS) {
      StatsSet left = sample(new Random(1), config).merge(sample(new Random(2), config)).merge(sample(new Random(3), config));
      StatsSet right = sample(new Random(1), config).merge(sample(new Random(2), config).merge(sample(new Random(3), config)));
      StatsSet swapped = sample(new Random(3), config).merge(sample(new Random(1), config)).merge(sample(new Random(2), config));
      assertEquals(left, right);
      assertEquals(left, swapped);
      assertNotEquals(left, sample(new Random(1), config));
    }
  }

  @Test
  void nonFiniteValuesAreCountedNotFoldedIntoTheRange() {
    TensorStats s = TensorStats.empty("t", StatsConfig.defaults()).add(new float[] {1f, Float.NaN, -2f,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0.5f});
    assertEquals(-2f, s.min());
    assertEquals(1f, s.max());
    assertEquals(3, s.count());
    assertEquals(2, s.nanCount());
    assertEquals(1, s.posInfCount());
    assertEquals(1, s.negInfCount());
    assertEquals(4, s.nonFiniteCount());
    assertEquals(3, s.histogram().total());
  }

  @Test
  void zeroExtremesArePositiveZeroWhateverTheSignsAndOrder() {
    TensorStats a = TensorStats.empty("t", StatsConfig.defaults()).add(new float[] {0f, -0f});
    TensorStats b = TensorStats.empty("t", StatsConfig.defaults()).add(new float[] {-0f, 0f});
    TensorStats c = TensorStats.empty("t", StatsConfig.defaults()).add(new float[] {0f})
        .merge(TensorStats.empty("t", StatsConfig.defaults()).add(new float[] {-0f}));
    TensorStats onlyNegative = TensorStats.empty("t", StatsConfig.defaults()).add(new float[] {-0f, -0f});
    assertEquals(a, b);
    assertEquals(a, c);
    assertEquals(a, onlyNegative);
    // zero extremes are +0.0 (assertEquals compares float bits, so -0.0 would fail)
    assertEquals(0f, a.min());
    assertEquals(0f, a.max());
    assertEquals(0f, onlyNegative.min());
    assertEquals(0f, onlyNegative.histogram().min());
  }

  @Test
  void addRespectsBufferWindowAndLeavesPositionAlone() {
    FloatBuffer b = FloatBuffer.wrap(new float[] {100f, 1f, 2f, -100f});
    b.position(1).limit(3);
    StatsSet s = StatsSet.empty(List.of("t"), StatsConfig.defaults()).add("t", b, new long[] {1, 2});
    assertEquals(1f, s.get("t").min());
    assertEquals(2f, s.get("t").max());
    assertEquals(1, b.position());
    assertEquals(3, b.limit());
  }

  @Test
  void mergeChecksCompatibilityAndNamesTheTensor() {
    StatsConfig d = StatsConfig.defaults();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TensorStats.empty("conv1", d).merge(TensorStats.empty("conv2", d)));
    assertTrue(e.getMessage().contains("conv1") && e.getMessage().contains("conv2"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> TensorStats.empty("conv1", d).merge(TensorStats.empty("conv1", SMALL)));
    assertTrue(e.getMessage().contains("conv1") && e.getMessage().contains("configurations"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> StatsSet.empty(TENSORS, d).merge(StatsSet.empty(TENSORS, SMALL)));
    assertTrue(e.getMessage().contains("configurations"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> StatsSet.empty(List.of("a"), d).merge(StatsSet.empty(List.of("b"), d)));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> StatsSet.empty(TENSORS, d).get("zz"))
        .getMessage().contains("zz"));
    e = assertThrows(IllegalArgumentException.class, () -> StatsSet.empty(List.of("a", "a"), d));
    assertTrue(e.getMessage().contains("'a'"), e.getMessage());
  }

  @Test
  void conflictNamesTheFirstSettingThatDiffersWithBothValues() {
    StatsConfig d = StatsConfig.defaults();
    StatsSet base = StatsSet.empty(List.of("a", "b"), d);
    assertEquals(null, base.conflict(StatsSet.empty(List.of("a", "b"), d)));
    assertEquals(new StatsSet.Conflict("histogram_bins", "4096", "16"),
        base.conflict(StatsSet.empty(TENSORS, SMALL)));
    assertEquals(new StatsSet.Conflict("channel_histogram_bins", "0", "8"),
        base.conflict(StatsSet.empty(List.of("a", "b"), d.withChannelHistograms(8))));
    assertEquals(new StatsSet.Conflict("channel axis of 'b'", "default", "2"),
        base.conflict(StatsSet.empty(List.of("a", "b"), d.withAxis("b", 2))));
    assertEquals(new StatsSet.Conflict("channel axis of 'a'", "per tensor (-1)", "default"),
        StatsSet.empty(List.of("a", "b"), d.withAxis("a", -1)).conflict(base));
    assertEquals(new StatsSet.Conflict("tensors[1]", "'b'", "'c'"),
        base.conflict(StatsSet.empty(List.of("a", "c"), d)));
    assertEquals(new StatsSet.Conflict("tensors[0]", "'a'", "'b'"),
        base.conflict(StatsSet.empty(List.of("b", "a"), d)));
    assertEquals(new StatsSet.Conflict("tensors[2]", "absent (2 tensors)", "'c'"),
        base.conflict(StatsSet.empty(List.of("a", "b", "c"), d)));
  }

  @Test
  void batchesAreCountedButNotPartOfEquality() {
    StatsSet a = StatsSet.empty(TENSORS, StatsConfig.defaults()).countBatch(4);
    StatsSet b = StatsSet.empty(TENSORS, StatsConfig.defaults()).countBatch(1).countBatch(3);
    assertEquals(a, b);
    assertEquals(4, a.samples());
    assertEquals(1, a.batches());
    assertEquals(2, b.batches());
    assertEquals(TENSORS, List.copyOf(a.tensors().keySet()));
  }
}
