package dev.qcal.calib;

import dev.qcal.quant.QuantType;
import dev.qcal.stats.TensorStats;

/**
 * {@code minmax}: the exact observed range {@code [min, max]} of the finite values, per tensor or
 * per channel (from the channel min/max, no histogram needed). Formula: {@code range = (min x, max
 * x)}; the same for symmetric and asymmetric types ({@link dev.qcal.quant.LinearQuant} makes the
 * range symmetric). Reference: ONNX Runtime {@code calibrate.py MinMaxCalibrater} without its
 * moving average (qcal's min/max are exact over all data, so they do not depend on batch order).
 */
public final class MinMaxCalibrator implements Calibrator {

  @Override
  public String name() {
    return "minmax";
  }

  @Override
  public Range range(String tensor, TensorStats stats, QuantType type, boolean symmetric) {
    HistogramCalibrator.checkFinite(tensor, -1, stats.count(), stats.nonFiniteCount());
    return new Range(stats.min(), stats.max());
  }

  @Override
  public Range[] channelRanges(String tensor, TensorStats stats, QuantType type, boolean symmetric) {
    HistogramCalibrator.checkChannels(tensor, stats);
    Range[] r = new Range[stats.channels()];
    for (int c = 0; c < r.length; c++) {
      HistogramCalibrator.checkFinite(tensor, c, stats.channelCount(c), stats.channelNonFiniteCount(c));
      r[c] = new Range(stats.channelMin(c), stats.channelMax(c));
    }
    return r;
  }
}
