package dev.qcal.calib;

import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;

/**
 * {@code percentile}: cuts the tails holding {@code 100 - p} percent of the finite values.
 *
 * <ul>
 *   <li><b>Symmetric</b> ({@code symmetric = true}): {@code t = Q_|x|(p / 100)}, the p-th percentile
 *       of |x| from the |x| histogram folded exactly from the signed one ({@link Bins#abs}: with bins
 *       aligned at zero, negative bin k is |x| bin -k-1, apart from values exactly on a negative
 *       bin's lower edge, which land one |x| bin low); range {@code (max(min, -t), min(max, t))}, i.e.
 *       {@code (-t, t)} clamped to the observed range.
 *   <li><b>Asymmetric</b>: {@code c = (100 - p) / 200}; range {@code (Q_x(c), Q_x(1 - c))} from the
 *       signed histogram, which lies within the observed range by construction.
 * </ul>
 *
 * <p>{@code Q(f)} is the inverse of the cumulative distribution, linear inside the bin where
 * {@code f N} falls ({@link Bins#quantile}; the first and last bins narrowed to the exact min and
 * max): it lies in the same bin as the order statistic {@code x_(ceil(f N))} (numpy's
 * {@code inverted_cdf} percentile), so it is within one bin of that, and {@code p = 100} gives
 * exactly {@code [min, max]} (minmax). numpy's default {@code linear} percentile interpolates between
 * neighbouring order statistics instead; the two differ by at most the gap between those order
 * statistics, which matters only in sparse tails.
 *
 * <p>Reference: ONNX Runtime {@code calibrate.py HistogramCalibrater.compute_percentile}. Differences:
 * ORT returns the lower edge of the bin holding the quantile ({@code hist_edges[searchsorted(cdf,
 * p)]}) of a histogram whose edges move with the data; qcal interpolates inside exact, order-free
 * bins. ORT accepts p = 0; qcal requires {@code 0 < p <= 100}.
 */
public final class PercentileCalibrator extends HistogramCalibrator {
  /** The default percentile, as ONNX Runtime's. */
  public static final double DEFAULT_PERCENTILE = 99.999;

  private final double percentile;

  public PercentileCalibrator() {
    this(DEFAULT_PERCENTILE);
  }

  /** @throws IllegalArgumentException naming {@code --percentile} unless {@code 0 < percentile <= 100} */
  public PercentileCalibrator(double percentile) {
    if (!(percentile > 0 && percentile <= 100)) {
      throw new IllegalArgumentException("--percentile must be in (0, 100], got " + percentile);
    }
    this.percentile = percentile;
  }

  public double percentile() {
    return percentile;
  }

  @Override
  public String name() {
    return "percentile";
  }

  @Override
  Range fromHistogram(String what, Histogram h, QuantType type, boolean symmetric) {
    if (symmetric) {
      double t = Bins.abs(h).quantile(percentile / 100);
      return Range.clamped(t, h.min(), h.max());
    }
    Bins b = Bins.signed(h);
    double cut = (100 - percentile) / 200;
    float lo = (float) b.quantile(cut);
    float hi = (float) b.quantile(1 - cut);
    // both quantiles lie in [min, max]; keep them there after rounding to float
    return new Range(Math.max(h.min(), lo), Math.min(h.max(), Math.max(lo, hi)));
  }

  @Override
  public String toString() {
    return "percentile(" + percentile + ")";
  }
}
