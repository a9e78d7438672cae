package dev.qcal.calib;

import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;
import dev.qcal.stats.TensorStats;

/**
 * Base of the methods that work from a histogram: finds the per-tensor or per-channel histogram,
 * checks it, and hands it to {@link #fromHistogram}. Error messages name the tensor (and channel).
 */
abstract class HistogramCalibrator implements Calibrator {

  /**
   * The range for one non-empty histogram.
   *
   * @param what the tensor, or "tensor 'x' channel c", for messages
   */
  abstract Range fromHistogram(String what, Histogram h, QuantType type, boolean symmetric);

  @Override
  public Range range(String tensor, TensorStats stats, QuantType type, boolean symmetric) {
    return fromHistogram("tensor '" + tensor + "'", tensorHistogram(tensor, stats, "method '" + name() + "'"), type,
        symmetric);
  }

  @Override
  public Range[] channelRanges(String tensor, TensorStats stats, QuantType type, boolean symmetric) {
    checkChannels(tensor, stats);
    Range[] r = new Range[stats.channels()];
    for (int c = 0; c < r.length; c++) {
      Histogram h = stats.channelHistogram(c);
      if (h == null) {
        throw new IllegalArgumentException(String.format(
            "tensor '%s': method '%s' per channel needs per-channel histograms, which were not collected "
                + "(channel histogram bins = 0)", tensor, name()));
      }
      checkFinite(tensor, c, stats.channelCount(c), stats.channelNonFiniteCount(c));
      r[c] = fromHistogram("tensor '" + tensor + "' channel " + c, h, type, symmetric);
    }
    return r;
  }

  /** The per-tensor histogram of a tensor with finite values; {@code user} names who needs it. */
  static Histogram tensorHistogram(String tensor, TensorStats stats, String user) {
    checkFinite(tensor, -1, stats.count(), stats.nonFiniteCount());
    Histogram h = stats.histogram();
    if (h == null) {
      throw new IllegalArgumentException(String.format(
          "tensor '%s': %s needs a histogram, which was not collected (histogram bins = 0)", tensor, user));
    }
    return h;
  }

  static void checkChannels(String tensor, TensorStats stats) {
    if (stats.axis() == null) {
      throw new IllegalArgumentException(String.format(
          "tensor '%s' has no per-channel statistics (no channel axis was set when collecting)", tensor));
    }
  }

  /** Throws naming the tensor (and channel unless -1) when no finite value was seen. */
  static void checkFinite(String tensor, int channel, long finite, long nonFinite) {
    if (finite == 0) {
      throw new IllegalArgumentException(String.format(
          "tensor '%s'%s has no finite values to calibrate (%d non-finite values seen)", tensor,
          channel < 0 ? "" : " channel " + channel, nonFinite));
    }
  }
}
