package dev.qcal.calib;

import dev.qcal.quant.QuantParams;
import dev.qcal.stats.CommonGrid;
import dev.qcal.stats.Histogram;
import java.util.ArrayList;
import java.util.List;

/**
 * How far one activation's current data has drifted from the data its deployed quantization parameters were chosen
 * on:
 * <ul>
 *   <li>{@code clipped}: the fraction of the current finite values outside the deployed range
 *       ({@link ClippedFraction});
 *   <li>{@code jsDivergence}: the Jensen-Shannon divergence in bits between the baseline's and the current histogram
 *       on their common grid ({@link CommonGrid}, exact re-binning; {@code jsBins} bins of width {@code jsBinWidth}),
 *       null without a baseline histogram. The grid is
 *       the finest on which the union of both spans at most {@code K = clamp(n / }{@value #VALUES_PER_BIN}{@code , 2,
 *       }{@value #JS_MAX_BINS}{@code )} bins, n the smaller of the two finite counts: two independent samples of one
 *       distribution differ by sampling noise of about {@code (K - 1) / (8 ln 2) (1/n1 + 1/n2)} bits, which on the
 *       histograms' own 2049-4096 bins would swamp small tensors; K bounds that noise near 0.004 bits for
 *       independent values (values of one sample are correlated, so the real noise is larger);
 *   <li>{@code sqnrDeployedDb} and {@code sqnrFreshDb}: the SQNR {@link ErrorEstimate} gives the deployed parameters
 *       and the parameters the same method would choose now, both on the current histogram; {@code sqnrLossDb} =
 *       fresh - deployed (positive: the deployed parameters lose that much against a recalibration; +Infinity when
 *       only the fresh ones are exact, 0 when the deployed ones are exact).
 * </ul>
 */
public record DriftFigures(ClippedFraction clipped, Double jsDivergence, Integer jsBins, Double jsBinWidth,
    double sqnrDeployedDb,
    double sqnrFreshDb, double sqnrLossDb) {

  /** Most bins of the common grid the Jensen-Shannon divergence is taken on. */
  public static final int JS_MAX_BINS = 64;
  /** Finite values of the smaller histogram per common-grid bin, at least. */
  public static final int VALUES_PER_BIN = 100;

  /**
   * The figures of one tensor.
   *
   * @param current the current per-tensor histogram (non-empty)
   * @param baseline the baseline's histogram, or null when only the deployed parameters are known
   * @param deployedRange the range the deployed parameters were chosen for
   */
  public static DriftFigures of(Histogram current, Histogram baseline, Range deployedRange, QuantParams deployed,
      QuantParams fresh) {
    ClippedFraction clipped = ClippedFraction.of(current, deployedRange.min(), deployedRange.max());
    Double js = null;
    Integer bins = null;
    Double width = null;
    if (baseline != null && baseline.total() > 0) {
      CommonGrid g = CommonGrid.of(baseline, current, jsBins(baseline.total(), current.total()));
      js = g.jensenShannon();
      bins = g.bins();
      width = Math.scalb(1.0, g.exponent());
    }
    double d = ErrorEstimate.of(current, deployed).sqnrDb();
    double f = ErrorEstimate.of(current, fresh).sqnrDb();
    double loss = d == Double.POSITIVE_INFINITY ? 0 : f - d;
    return new DriftFigures(clipped, js, bins, width, d, f, loss);
  }

  /** K, the most common-grid bins for finite counts {@code n1} and {@code n2} (see the class comment). */
  public static int jsBins(long n1, long n2) {
    return (int) Math.max(2, Math.min(JS_MAX_BINS, Math.min(n1, n2) / VALUES_PER_BIN));
  }

  /**
   * When a tensor counts as drifted: a figure above its threshold (strictly). Each in (0, 1] for the fractions,
   * {@code maxSqnrLossDb > 0}.
   */
  public record Thresholds(double maxClip, double maxJs, double maxSqnrLossDb) {
    public Thresholds {
      if (!(maxClip > 0 && maxClip <= 1)) {
        throw new IllegalArgumentException("--max-clip " + maxClip + ": must be in (0, 1]");
      }
      if (!(maxJs > 0 && maxJs <= 1)) {
        throw new IllegalArgumentException("--max-js " + maxJs + ": must be in (0, 1]");
      }
      if (!(maxSqnrLossDb > 0) || Double.isInfinite(maxSqnrLossDb)) {
        throw new IllegalArgumentException("--max-sqnr-loss " + maxSqnrLossDb + ": must be a number of dB > 0");
      }
    }
  }

  /** The figures past their thresholds: {@code clip}, {@code js}, {@code sqnr_loss}, in that order. */
  public List<String> past(Thresholds t) {
    List<String> p = new ArrayList<>();
    if (clipped.fraction() > t.maxClip()) {
      p.add("clip");
    }
    if (jsDivergence != null && jsDivergence > t.maxJs()) {
      p.add("js");
    }
    if (sqnrLossDb > t.maxSqnrLossDb()) {
      p.add("sqnr_loss");
    }
    return p;
  }

  /**
   * The largest figure in units of its threshold: {@code max(clipped / maxClip, js / maxJs, loss / maxSqnrLoss)}
   * (a negative loss counts 0), above 1 exactly when a figure is past its threshold; how the drifted tensors are
   * ordered.
   */
  public double severity(Thresholds t) {
    double s = clipped.fraction() / t.maxClip();
    if (jsDivergence != null) {
      s = Math.max(s, jsDivergence / t.maxJs());
    }
    return Math.max(s, Math.max(0, sqnrLossDb) / t.maxSqnrLossDb());
  }
}
