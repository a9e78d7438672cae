package dev.qcal.calib;

import dev.qcal.quant.QuantParams;
import dev.qcal.stats.Histogram;
import dev.qcal.stats.TensorStats;

/**
 * Expected quantize-dequantize error of a tensor under given parameters, estimated from its
 * histogram: {@code expectedMse = E[(x - x')^2]} with {@code x' = S (clamp(round(x / S) + Z, qmin,
 * qmax) - Z)}, and {@code sqnrDb = 10 log10(E[x^2] / expectedMse)} ({@code +Infinity} when the
 * expected error is 0). Over the finite values only; non-finite values are counted elsewhere.
 *
 * <p><b>In-bin assumption.</b> The values of a bin are taken as spread uniformly over the bin, the
 * first and last bins narrowed to the exact observed min and max ({@link Bins}); the error is
 * integrated exactly under that density (not evaluated at the bin centre), so it stays right when a
 * bin spans many quantization steps (16-bit types) as well as when a step spans many bins. Let
 * {@code lo = S (qmin - Z)} and {@code hi = S (qmax - Z)} be the extreme dequantized values: below
 * {@code lo} the error is {@code (x - lo)^2} (clipping), above {@code hi} it is {@code (x - hi)^2},
 * and in between it is the rounding error {@code (x - S round(x / S))^2}, integrated step by step
 * ({@code S^3 / 12} per whole step). The only departures from the real error on the raw values are
 * the uniform in-bin density and ties (x exactly half-way between two levels), which have measure
 * zero under that density. A point mass is spread too: ReLU outputs, half exactly 0, are charged
 * rounding error over the first bin that exact zeros do not have (about +5 % at 8 bits, up to 2x at
 * 16 bits where the first bin spans many steps); a count of exact zeros in the statistics would fix
 * that.
 */
public record ErrorEstimate(double expectedMse, double sqnrDb) {

  /** The estimate for per-tensor parameters {@code p} over histogram {@code h}. */
  public static ErrorEstimate of(Histogram h, QuantParams p) {
    if (p.perChannel()) {
      throw new IllegalArgumentException("per-channel parameters need a channel: use of(histogram, params, channel)");
    }
    return of(h, p, 0);
  }

  /** The estimate for channel {@code channel} of {@code p} over that channel's histogram {@code h}. */
  public static ErrorEstimate of(Histogram h, QuantParams p, int channel) {
    if (h.total() == 0) {
      throw new IllegalArgumentException("cannot estimate the quantization error of an empty histogram");
    }
    return of(Bins.signed(h), p.scale(channel), p.zeroPoint(channel), p.type().qmin(), p.type().qmax());
  }

  /**
   * The estimate for the per-tensor histogram of {@code stats}.
   *
   * @throws IllegalArgumentException naming the tensor when it has no histogram or no finite values
   */
  public static ErrorEstimate of(String tensor, TensorStats stats, QuantParams p) {
    return of(HistogramCalibrator.tensorHistogram(tensor, stats, "the error estimate"), p);
  }

  static ErrorEstimate of(Bins b, float scale, long zeroPoint, long qmin, long qmax) {
    double sse = squaredError(b, scale, zeroPoint, qmin, qmax);
    double sumSq = 0;
    for (int i = 0; i < b.size(); i++) {
      if (b.count[i] > 0) {
        sumSq += b.count[i] * meanSquare(b.lo[i], b.hi[i]);
      }
    }
    double mse = sse / b.total;
    double sqnr = mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(sumSq / b.total / mse);
    return new ErrorEstimate(mse, sqnr);
  }

  /** E[x^2] for x uniform on [a, b]. */
  private static double meanSquare(double a, double b) {
    return b > a ? (a * a + a * b + b * b) / 3 : a * a;
  }

  /** Sum over all values of the expected squared error (count times mean error per bin). */
  static double squaredError(Bins b, double scale, long zeroPoint, long qmin, long qmax) {
    double lo = scale * (qmin - zeroPoint);
    double hi = scale * (qmax - zeroPoint);
    double sse = 0;
    for (int i = 0; i < b.size(); i++) {
      long c = b.count[i];
      if (c > 0) {
        sse += c * meanError(b.lo[i], b.hi[i], scale, lo, hi);
      }
    }
    return sse;
  }

  /** Mean of (x - x')^2 for x uniform on [a, b]. */
  static double meanError(double a, double b, double s, double lo, double hi) {
    if (!(b > a)) {
      double x = Math.min(Math.max(a, lo), hi);
      double d = a - s * Math.rint(x / s);
      return d * d;
    }
    double integral = 0;
    if (a < lo) {
      double v = Math.min(b, lo);
      integral += (cube(v - lo) - cube(a - lo)) / 3;
    }
    if (b > hi) {
      double u = Math.max(a, hi);
      integral += (cube(b - hi) - cube(u - hi)) / 3;
    }
    double u = Math.max(a, lo);
    double v = Math.min(b, hi);
    if (v > u) {
      integral += s * s * s * (roundingIntegral(v / s) - roundingIntegral(u / s));
    }
    return integral / (b - a);
  }

  /**
   * {@code H(r) = ∫_{-1/2}^{r} (y - round(y))^2 dy} up to a constant: with {@code n = floor(r + 1/2)},
   * the whole steps before contribute {@code n / 12} and the partial one {@code ((r - n)^3 + 1/8) / 3}.
   */
  private static double roundingIntegral(double r) {
    double n = Math.floor(r + 0.5);
    return n / 12 + (cube(r - n) + 0.125) / 3;
  }

  private static double cube(double x) {
    return x * x * x;
  }
}
