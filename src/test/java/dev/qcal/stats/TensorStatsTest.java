package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.stats.StatsTestData.Kind;
import dev.qcal.stats.StatsTestData.Values;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Channel axes, shapes and the errors that name the tensor. */
class TensorStatsTest {
  private static final StatsConfig D = StatsConfig.defaults();

  private static TensorStats add(TensorStats s, float[] v, long... shape) {
    return s.add(FloatBuffer.wrap(v), shape);
  }

  @Test
  void defaultChannelAxisIsOneFor4dActivationsOnly() {
    assertEquals(1, D.channelAxis("x", 4));
    assertNull(D.channelAxis("x", 3));
    assertNull(D.channelAxis("x", 2));
    StatsConfig c = D.withAxis("x", -1).withAxis("y", 2);
    assertNull(c.channelAxis("x", 4));
    assertEquals(2, c.channelAxis("y", 3));
    assertEquals(1, c.channelAxis("z", 4));
    TensorStats t = TensorStats.empty("x", D);
    assertNull(t.axis());
    assertEquals(0, t.channels());
    add(t, new float[12], 1, 3, 2, 2);
    assertEquals(1, t.axis());
    assertEquals(3, t.channels());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new StatsConfig(4096, 0, Map.of("q", -3)))
        .getMessage().contains("'q'"));
    assertThrows(IllegalArgumentException.class, () -> new StatsConfig(1, 0, Map.of()));
  }

  @Test
  void perChannelRunsMatchIndexArithmetic() {
    // [N, C, H, W] with C at axis 1: channel c of sample n is the run [(n*C + c)*H*W, +H*W)
    float[] v = new float[2 * 3 * 2 * 2];
    for (int i = 0; i < v.length; i++) {
      v[i] = i;
    }
    TensorStats t = add(TensorStats.empty("x", D.withChannelHistograms(4)), v, 2, 3, 2, 2);
    for (int c = 0; c < 3; c++) {
      assertEquals(4 * c, t.channelMin(c));
      assertEquals(12 + 4 * c + 3, t.channelMax(c));
      assertEquals(8, t.channelCount(c));
      assertEquals(8, t.channelHistogram(c).total());
    }
    assertEquals(0f, t.min());
    assertEquals(23f, t.max());
    assertEquals(24, t.count());
  }

  @Test
  void channelLastAndMiddleAxesAgreeWithBruteForce() {
    Random r = new Random(17);
    for (int axis = 0; axis < 3; axis++) {
      StatsConfig config = new StatsConfig(64, 16, Map.of("t", axis));
      for (Kind kind : Kind.values()) {
        Values gen = new Values(kind, r);
        int channels = 1 + r.nextInt(5);
        TensorStats single = TensorStats.empty("t", config);
        List<TensorStats> parts = new ArrayList<>();
        List<StatsTestData.Batch> batches = new ArrayList<>();
        for (int b = 0; b < 6; b++) {
          long[] shape = {1 + r.nextInt(3), 1 + r.nextInt(4), 1 + r.nextInt(4)};
          shape[axis] = channels;
          float[] v = gen.next((int) (shape[0] * shape[1] * shape[2]));
          StatsTestData.Batch batch = new StatsTestData.Batch(v, shape);
          batches.add(batch);
          single.add(batch.direct(), shape);
          parts.add(TensorStats.empty("t", config).add(batch.heap(), shape));
        }
        String what = "axis " + axis + " " + kind;
        assertEquals(single, HistogramTest.mergeRandomTree(parts, r, TensorStats::merge), what);
        assertEquals(axis, single.axis());
        assertEquals(channels, single.channels());
        for (int c = 0; c < channels; c++) {
          List<Float> values = allOfChannel(batches, axis, c);
          TensorStats direct = TensorStats.empty("t", new StatsConfig(64, 0, Map.of("t", -1)));
          float[] fv = new float[values.size()];
          for (int i = 0; i < fv.length; i++) {
            fv[i] = values.get(i);
          }
          direct.add(fv);
          assertEquals(Float.floatToIntBits(direct.min()), Float.floatToIntBits(single.channelMin(c)), what);
          assertEquals(Float.floatToIntBits(direct.max()), Float.floatToIntBits(single.channelMax(c)), what);
          assertEquals(direct.count(), single.channelCount(c), what);
          assertEquals(direct.nanCount(), single.channelNanCount(c), what);
          assertEquals(direct.posInfCount(), single.channelPosInfCount(c), what);
          assertEquals(direct.negInfCount(), single.channelNegInfCount(c), what);
          assertEquals(direct.nonFiniteCount(), single.channelNonFiniteCount(c), what);
          assertEquals(Histogram.empty(16).add(fv), single.channelHistogram(c), what);
        }
      }
    }
  }

  /**
   * Long channel runs (and per-tensor batches over several chunks) are binned while they are scanned,
   * chunk by chunk; the histograms, ranges and counts must still equal the brute-force ones, for every
   * kind of values (non-finite, signed zeros, huge, subnormal) and runs shorter and longer than a chunk.
   */
  @Test
  void runsBinnedWhileScannedAgreeWithBruteForce() {
    Random r = new Random(29);
    for (int inner : new int[] {64, 70, Chunks.SIZE + 100}) {
      for (Kind kind : Kind.values()) {
        Values gen = new Values(kind, r);
        int channels = 1 + r.nextInt(3);
        StatsConfig perChannel = new StatsConfig(256, 32, Map.of("t", 1));
        StatsConfig perTensor = new StatsConfig(256, 0, Map.of("t", -1));
        TensorStats byChannel = TensorStats.empty("t", perChannel);
        TensorStats whole = TensorStats.empty("t", perTensor);
        List<StatsTestData.Batch> batches = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
          long[] shape = {1 + r.nextInt(2), channels, inner};
          StatsTestData.Batch batch = new StatsTestData.Batch(gen.next((int) (shape[0] * channels * inner)), shape);
          batches.add(batch);
          byChannel.add(batch.direct(), shape);
          whole.add(batch.direct(), shape);
        }
        String what = "inner " + inner + " " + kind;
        List<Float> all = StatsTestData.allValues(batches);
        StatsTestData.HistOracle o = StatsTestData.histogramOracle(all, 256);
        for (TensorStats t : List.of(byChannel, whole)) {
          assertHistogram(o, t.histogram(), what);
          assertEquals(o == null ? 0 : o.total(), t.count(), what);
        }
        assertEquals(byChannel.nonFiniteCount(), whole.nonFiniteCount(), what);
        assertEquals(Float.floatToIntBits(whole.min()), Float.floatToIntBits(byChannel.min()), what);
        assertEquals(Float.floatToIntBits(whole.max()), Float.floatToIntBits(byChannel.max()), what);
        for (int c = 0; c < channels; c++) {
          List<Float> values = allOfChannel(batches, 1, c);
          assertHistogram(StatsTestData.histogramOracle(values, 32), byChannel.channelHistogram(c), what + " channel " + c);
          long nan = values.stream().filter(v -> v.isNaN()).count();
          long finite = values.stream().filter(Float::isFinite).count();
          assertEquals(nan, byChannel.channelNanCount(c), what);
          assertEquals(finite, byChannel.channelCount(c), what);
          float mn = values.stream().filter(Float::isFinite).reduce(Float.POSITIVE_INFINITY, Math::min) + 0f;
          assertEquals(Float.floatToIntBits(mn), Float.floatToIntBits(byChannel.channelMin(c)), what);
        }
      }
    }
  }

  /**
   * Per-channel batches far longer than one {@link Chunks#SIZE} chunk, read chunk by chunk out of a direct
   * buffer: channel-last with more channels than a chunk holds ({@code [3, 5000]}), short runs many to a
   * chunk ({@code [2, 7, 1000]}) and the channel-last row scan ({@code [5000, 3]}, all finite), with and
   * without non-finite values. Every channel's range, counts and histogram, and the tensor's, equal brute force: a
   * chunk after the first read at a wrong offset shows.
   */
  @Test
  void perChannelBatchesOfManyChunksAgreeWithBruteForce() {
    Random r = new Random(41);
    StatsConfig config = new StatsConfig(256, 32, Map.of("t", 1));
    for (long[] shape : List.of(new long[] {3, 5000}, new long[] {2, 7, 1000}, new long[] {5000, 3})) {
      // with non-finite values (channel by channel) and without (the row scan where channels are last)
      for (Kind kind : List.of(Kind.GAUSSIAN_WITH_SPECIALS, Kind.RELU_WITH_SIGNED_ZEROS)) {
        Values gen = new Values(kind, r);
        int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        TensorStats t = TensorStats.empty("t", config);
        List<StatsTestData.Batch> batches = new ArrayList<>();
        for (int b = 0; b < 2; b++) {
          float[] v = gen.next(n);
          for (int i = 0; i < n && kind == Kind.RELU_WITH_SIGNED_ZEROS; i++) {
            v[i] = Float.isFinite(v[i]) ? v[i] : r.nextFloat();
          }
          StatsTestData.Batch batch = new StatsTestData.Batch(v, shape);
          batches.add(batch);
          t.add(batch.direct(), shape);
        }
        String what = Arrays.toString(shape) + " " + kind;
        List<Float> all = StatsTestData.allValues(batches);
        assertHistogram(StatsTestData.histogramOracle(all, 256), t.histogram(), what);
        assertEquals(all.stream().filter(Float::isFinite).count(), t.count(), what);
        for (int c = 0; c < shape[1]; c++) {
          String ch = what + " channel " + c;
          List<Float> values = allOfChannel(batches, 1, c);
          List<Float> finite = values.stream().filter(Float::isFinite).toList();
          float mn = finite.stream().reduce(Float.POSITIVE_INFINITY, Math::min) + 0f;
          float mx = finite.stream().reduce(Float.NEGATIVE_INFINITY, Math::max) + 0f;
          assertEquals(Float.floatToIntBits(mn), Float.floatToIntBits(t.channelMin(c)), ch);
          assertEquals(Float.floatToIntBits(mx), Float.floatToIntBits(t.channelMax(c)), ch);
          assertEquals(finite.size(), t.channelCount(c), ch);
          assertEquals(values.stream().filter(v -> v.isNaN()).count(), t.channelNanCount(c), ch);
          assertEquals(values.stream().filter(v -> v == Float.POSITIVE_INFINITY).count(), t.channelPosInfCount(c), ch);
          assertEquals(values.stream().filter(v -> v == Float.NEGATIVE_INFINITY).count(), t.channelNegInfCount(c), ch);
          assertHistogram(StatsTestData.histogramOracle(values, 32), t.channelHistogram(c), ch);
        }
      }
    }
  }

  private static void assertHistogram(StatsTestData.HistOracle o, Histogram h, String what) {
    if (o == null) {
      assertEquals(0, h.total(), what);
      return;
    }
    assertEquals(o.exponent(), h.exponent(), what + ": exponent");
    assertEquals(o.firstBin(), h.firstBin(), what + ": first bin");
    assertArrayEquals(o.counts(), h.counts(), what + ": counts");
    assertEquals(o.total(), h.total(), what + ": total");
  }

  private static List<Float> allOfChannel(List<StatsTestData.Batch> batches, int axis, int c) {
    return StatsTestData.channelValues(batches, axis, c);
  }

  @Test
  void channelLastRowsFastPathAndItsNonFiniteFallback() {
    StatsConfig config = new StatsConfig(0, 0, Map.of("h", 2));
    Random r = new Random(23);
    for (int withNaN = 0; withNaN < 2; withNaN++) {
      long[] shape = {3, 50, 64};
      float[] x = new float[3 * 50 * 64];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian() * (1 + i % 64);
      }
      if (withNaN == 1) {
        x[17 * 64 + 5] = Float.NaN;
      }
      TensorStats t = TensorStats.empty("h", config).add(new StatsTestData.Batch(x, shape).direct(), shape);
      List<StatsTestData.Batch> one = List.of(new StatsTestData.Batch(x, shape));
      for (int c = 0; c < 64; c++) {
        float mn = Float.POSITIVE_INFINITY;
        float mx = Float.NEGATIVE_INFINITY;
        long finite = 0;
        for (float f : StatsTestData.channelValues(one, 2, c)) {
          if (Float.isFinite(f)) {
            mn = Math.min(mn, f);
            mx = Math.max(mx, f);
            finite++;
          }
        }
        assertEquals(mn + 0f, t.channelMin(c));
        assertEquals(mx + 0f, t.channelMax(c));
        assertEquals(finite, t.channelCount(c));
        assertEquals(withNaN == 1 && c == 5 ? 1 : 0, t.channelNanCount(c));
      }
      assertEquals(x.length - withNaN, t.count());
    }
  }

  @Test
  void variableBatchAndWidthWithFixedChannels() {
    TensorStats t = TensorStats.empty("conv1", D);
    add(t, new float[2 * 4 * 3 * 5], 2, 4, 3, 5);
    add(t, new float[1 * 4 * 3 * 7], 1, 4, 3, 7);
    add(t, new float[0], 0, 4, 3, 7);
    assertEquals(4, t.channels());
    assertEquals(2 * 4 * 3 * 5 + 4 * 3 * 7, t.count());
    assertEquals((2 * 3 * 5 + 3 * 7), t.channelCount(3));
  }

  @Test
  void channelCountChangeNamesTheTensorAndBothCounts() {
    TensorStats t = add(TensorStats.empty("conv1", D), new float[16], 1, 16, 1, 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> add(t, new float[8], 1, 8, 1, 1));
    assertTrue(e.getMessage().contains("conv1") && e.getMessage().contains("16") && e.getMessage().contains("8"),
        e.getMessage());
    TensorStats other = add(TensorStats.empty("conv1", D), new float[8], 1, 8, 1, 1);
    e = assertThrows(IllegalArgumentException.class, () -> t.merge(other));
    assertEquals("Cannot merge statistics of tensor 'conv1': 16 != 8 channels", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> add(t, new float[16], 16));
    assertTrue(e.getMessage().contains("conv1") && e.getMessage().contains("axis"), e.getMessage());
    TensorStats perTensor = add(TensorStats.empty("conv1", D), new float[16], 16);
    e = assertThrows(IllegalArgumentException.class, () -> t.merge(perTensor));
    assertTrue(e.getMessage().contains("conv1") && e.getMessage().contains("axis"), e.getMessage());
  }

  @Test
  void badShapesNameTheTensor() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> add(TensorStats.empty("relu3", D), new float[10], 2, 4));
    assertTrue(e.getMessage().contains("relu3") && e.getMessage().contains("[2, 4]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> add(TensorStats.empty("relu3", D.withAxis("relu3", 3)), new float[8], 2, 4));
    assertTrue(e.getMessage().contains("relu3") && e.getMessage().contains("axis 3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> add(TensorStats.empty("relu3", D), new float[8], -2, -4));
    assertTrue(e.getMessage().contains("relu3"), e.getMessage());
  }

  @Test
  void emptyMergesWithShapedOnBothSides() {
    TensorStats a = add(TensorStats.empty("x", D.withChannelHistograms(8)), new float[] {1, 2, 3, Float.NaN}, 1, 2, 1, 2);
    assertEquals(a, TensorStats.empty("x", D.withChannelHistograms(8)).merge(a.copy()));
    assertEquals(a, a.copy().merge(TensorStats.empty("x", D.withChannelHistograms(8))));
    assertArrayEquals(new long[] {1, 1}, new long[] {a.channelNanCount(1), a.nanCount()});
  }

  /**
   * A batch given by its per-channel (or whole-tensor) minima and maxima, as ONNX Runtime's reductions
   * give it, leaves the state {@link TensorStats#add} of the values would: counts from the shape,
   * zero extremes as +0.0 whatever their sign, merges unchanged.
   */
  @Test
  void addFiniteEqualsAddingTheValues() {
    Random r = new Random(41);
    StatsConfig minmax = new StatsConfig(0, 0, Map.of("flat", -1));
    for (String tensor : new String[] {"conv", "flat"}) {
      TensorStats byValues = TensorStats.empty(tensor, minmax);
      TensorStats byRanges = TensorStats.empty(tensor, minmax);
      for (int b = 0; b < 5; b++) {
        long[] shape = {1 + r.nextInt(3), 4, 2 + r.nextInt(3), 3};
        int n = (int) (shape[0] * shape[1] * shape[2] * shape[3]);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
          x[i] = switch (r.nextInt(4)) {
            case 0 -> -0f;
            case 1 -> 0f;
            default -> (float) r.nextGaussian();
          };
        }
        int inner = (int) (shape[2] * shape[3]);
        boolean perChannel = tensor.equals("conv");
        float[] mins = new float[perChannel ? 4 : 1];
        float[] maxs = new float[mins.length];
        java.util.Arrays.fill(mins, Float.POSITIVE_INFINITY);
        java.util.Arrays.fill(maxs, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i++) {
          int c = perChannel ? (i / inner) % 4 : 0;
          // plain comparisons: the sign of a zero extreme depends on the order, as in ONNX Runtime
          mins[c] = x[i] < mins[c] ? x[i] : mins[c];
          maxs[c] = x[i] > maxs[c] ? x[i] : maxs[c];
        }
        byValues.add(new StatsTestData.Batch(x, shape).direct(), shape);
        byRanges.addFinite(shape, mins, maxs);
      }
      assertEquals(byValues, byRanges, tensor);
      assertEquals(byValues, TensorStats.empty(tensor, minmax).merge(byRanges), tensor);
    }
    TensorStats withHistograms = TensorStats.empty("t", StatsConfig.defaults());
    assertThrows(IllegalStateException.class,
        () -> withHistograms.addFinite(new long[] {1, 2}, new float[] {0f}, new float[] {1f}));
    TensorStats t = TensorStats.empty("conv", minmax);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> t.addFinite(new long[] {1, 2, 1, 1}, new float[] {0f, Float.NaN}, new float[] {1f, 1f}));
    assertTrue(e.getMessage().contains("'conv'"), e.getMessage());
  }

  @Test
  void addFiniteRefusesRangesNoFiniteBatchCanHaveAndTakesTheExtremeFiniteOnes() {
    StatsConfig minmax = new StatsConfig(0, 0, java.util.Map.of());
    long[] shape = {1, 2, 1, 1};
    float big = Float.MAX_VALUE;
    float[][][] refused = {
        {{0f, 3f}, {1f, 2f}}, // min above max in channel 1
        {{Float.NEGATIVE_INFINITY, 0f}, {1f, 1f}},
        {{0f, 0f}, {1f, Float.POSITIVE_INFINITY}}};
    for (float[][] r : refused) {
      TensorStats t = TensorStats.empty("conv", minmax);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.addFinite(shape, r[0], r[1]));
      assertTrue(e.getMessage().startsWith("tensor 'conv': channel "), e.getMessage());
      assertEquals(0, t.count(), "nothing added");
    }
    TensorStats t = TensorStats.empty("conv", minmax).addFinite(shape, new float[] {-big, 2f}, new float[] {big, 2f});
    assertEquals(-big, t.min());
    assertEquals(big, t.max());
    assertEquals(2f, t.channelMin(1));
    assertEquals(2f, t.channelMax(1));
    assertEquals(2, t.count());
    IllegalArgumentException n = assertThrows(IllegalArgumentException.class,
        () -> TensorStats.empty("conv", minmax).addFinite(shape, new float[] {0f}, new float[] {1f, 1f}));
    assertEquals("tensor 'conv': 1 minima and 2 maxima for shape [1, 2, 1, 1], expected 2", n.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> TensorStats.empty("conv", minmax).addFinite(new long[] {1, -2}, new float[] {0f}, new float[] {1f}));
  }
}
