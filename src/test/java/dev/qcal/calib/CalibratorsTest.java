package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.TensorStats;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The factory, bad input, constant tensors and per-channel ranges, for every method. */
class CalibratorsTest {

  @Test
  void factoryKnowsTheFourMethods() {
    for (String m : Calibrators.METHODS) {
      assertEquals(m, Calibrators.of(m, 99.999).name());
    }
    assertEquals(99.9, ((PercentileCalibrator) Calibrators.of("percentile", 99.9)).percentile());
    // the percentile is only checked where it is used
    assertEquals("mse", Calibrators.of("mse", -1).name());
  }

  @Test
  void unknownMethodListsTheValidOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Calibrators.of("kl", 99.999));
    assertEquals("Unknown calibration method 'kl': expected one of minmax, percentile, entropy, mse", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"minmax", "percentile", "entropy", "mse"})
  void tensorWithoutFiniteValuesIsNamed(String method) {
    TensorStats s = TensorStats.empty("conv1/out", StatsConfig.defaults())
        .add(new float[] {Float.NaN, Float.POSITIVE_INFINITY});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Calibrators.of(method, 99.999).range("conv1/out", s, QuantType.UINT8, false));
    assertEquals("tensor 'conv1/out' has no finite values to calibrate (2 non-finite values seen)", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"percentile", "entropy", "mse"})
  void histogramMethodsNeedAHistogram(String method) {
    TensorStats s = TensorStats.empty("x", new StatsConfig(0, 0, java.util.Map.of())).add(new float[] {1f, 2f});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Calibrators.of(method, 99.999).range("x", s, QuantType.UINT8, false));
    assertTrue(e.getMessage().startsWith("tensor 'x': method '" + method + "' needs a histogram"), e.getMessage());
    assertEquals(new Range(1f, 2f), new MinMaxCalibrator().range("x", s, QuantType.UINT8, false));
  }

  @ParameterizedTest
  @ValueSource(strings = {"minmax", "percentile", "entropy", "mse"})
  void constantTensors(String method) {
    Calibrator c = Calibrators.of(method, 99.999);
    for (float v : new float[] {0f, 3f, -3f, 1e-30f, -1e30f}) {
      TensorStats s = TensorStats.empty("k", StatsConfig.defaults()).add(new float[] {v, v, v, v});
      Range asym = c.range("k", s, QuantType.UINT8, false);
      assertEquals(new Range(v, v), asym, method + " asymmetric " + v);
      Range sym = c.range("k", s, QuantType.INT8, true);
      // symmetric ranges may read (-|v|, |v|) or (v, v): the parameters are the same
      assertEquals(LinearQuant.forRange(v, v, QuantType.INT8, true),
          LinearQuant.forRange(sym.min(), sym.max(), QuantType.INT8, true), method + " symmetric " + v + ": " + sym);
    }
  }

  /** NCHW activations with per-channel histograms: channel c ~ N(0, c + 1) with an outlier in channel 0. */
  private static TensorStats perChannel(StatsConfig config) {
    int n = 4000;
    int channels = 3;
    float[] x = new float[n * channels];
    Random r = new Random(7);
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < channels; c++) {
        x[i * channels + c] = (float) ((c + 1) * r.nextGaussian());
      }
    }
    x[0] = 100f;
    return TensorStats.empty("act", config).add(FloatBuffer.wrap(x), new long[] {n, channels, 1, 1});
  }

  /** Channel c of {@link #perChannel} as its own per-tensor statistics with 256-bin histograms. */
  private static TensorStats channelAlone(int c) {
    TensorStats all = perChannel(StatsConfig.defaults());
    float[] x = new float[(int) all.channelCount(c)];
    Random r = new Random(7);
    for (int i = 0; i < x.length; i++) {
      for (int k = 0; k < 3; k++) {
        float v = (float) ((k + 1) * r.nextGaussian());
        if (k == c) {
          x[i] = i == 0 && c == 0 ? 100f : v;
        }
      }
    }
    return TensorStats.empty("act", new StatsConfig(256, 0, java.util.Map.of())).add(x);
  }

  @Test
  void minMaxPerChannelUsesChannelMinMax() {
    TensorStats s = perChannel(StatsConfig.defaults());
    Range[] r = new MinMaxCalibrator().channelRanges("act", s, QuantType.INT8, true);
    assertEquals(3, r.length);
    for (int c = 0; c < 3; c++) {
      assertEquals(new Range(s.channelMin(c), s.channelMax(c)), r[c]);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"percentile", "entropy", "mse"})
  void histogramMethodsPerChannel(String method) {
    TensorStats s = perChannel(StatsConfig.defaults().withChannelHistograms(256));
    Calibrator cal = Calibrators.of(method, 99.9);
    Range[] r = cal.channelRanges("act", s, QuantType.INT8, true);
    assertEquals(3, r.length);
    for (int c = 0; c < 3; c++) {
      // each channel gets exactly the per-tensor answer on that channel's values alone
      assertEquals(cal.range("act", channelAlone(c), QuantType.INT8, true), r[c], method + " channel " + c);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> cal.channelRanges("act", perChannel(StatsConfig.defaults()), QuantType.INT8, true));
    assertTrue(e.getMessage().startsWith("tensor 'act': method '" + method + "' per channel needs per-channel histograms"),
        e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"minmax", "percentile", "entropy", "mse"})
  void perChannelNeedsAChannelAxis(String method) {
    TensorStats s = TensorStats.empty("flat", StatsConfig.defaults()).add(new float[] {1f, 2f});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Calibrators.of(method, 99.999).channelRanges("flat", s, QuantType.INT8, true));
    assertEquals("tensor 'flat' has no per-channel statistics (no channel axis was set when collecting)", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"minmax", "percentile", "entropy", "mse"})
  void channelWithoutFiniteValuesIsNamed(String method) {
    // NCHW, 2 rows of 2 channels: channel 0 sees NaN and +Inf only, channel 1 sees 1 and 2
    float[] x = {Float.NaN, 1f, Float.POSITIVE_INFINITY, 2f};
    TensorStats s = TensorStats.empty("act", StatsConfig.defaults().withChannelHistograms(256))
        .add(FloatBuffer.wrap(x), new long[] {2, 2, 1, 1});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Calibrators.of(method, 99.999).channelRanges("act", s, QuantType.INT8, true));
    assertEquals("tensor 'act' channel 0 has no finite values to calibrate (2 non-finite values seen)", e.getMessage());
  }

  @Test
  void percentileCalibratorPrintsItsPercentile() {
    assertEquals("percentile(99.9)", new PercentileCalibrator(99.9).toString());
  }

  @Test
  void rangeRejectsEmptyOrNonFinite() {
    assertThrows(IllegalArgumentException.class, () -> new Range(1f, 0f));
    assertThrows(IllegalArgumentException.class, () -> new Range(Float.NaN, 0f));
    assertArrayEquals(new float[] {-2f, 1f}, toArray(Range.clamped(2, -5f, 1f)));
  }

  private static float[] toArray(Range r) {
    return new float[] {r.min(), r.max()};
  }
}
