package dev.qcal.calib;

import dev.qcal.stats.Histogram;

/**
 * A histogram as a list of closed intervals {@code [lo[i], hi[i]]} with counts, the first and last
 * narrowed to the exact observed extremes: the histogram's first bin holds its min and the last its
 * max, so {@code lo[0] = min} and {@code hi[n-1] = max} are exact. Every estimate in this package
 * assumes the values of a bin are spread uniformly over its (narrowed) interval.
 */
final class Bins {
  final double[] lo;
  final double[] hi;
  final long[] count;
  final long total;

  private Bins(double[] lo, double[] hi, long[] count, long total) {
    this.lo = lo;
    this.hi = hi;
    this.count = count;
    this.total = total;
  }

  int size() {
    return count.length;
  }

  /** The signed bins of {@code h} (non-empty). */
  static Bins signed(Histogram h) {
    int n = h.bins();
    double[] lo = new double[n];
    double[] hi = new double[n];
    for (int i = 0; i < n; i++) {
      lo[i] = h.lowerEdge(i);
      hi[i] = h.lowerEdge(i + 1);
    }
    lo[0] = h.min();
    hi[n - 1] = h.max();
    return new Bins(lo, hi, h.counts(), h.total());
  }

  /**
   * The histogram of |x| folded from the signed one. Bins are aligned at zero, so signed bin
   * {@code k >= 0} ({@code [k w, (k+1) w)}) is |x| bin {@code k} and a negative bin {@code k}
   * ({@code [k w, (k+1) w)}, i.e. |x| in {@code ((-k-1) w, -k w]}) is |x| bin {@code -k-1}: exact
   * except for values lying exactly on a negative bin's lower edge {@code k w}, whose |x| is the
   * upper edge of their |x| bin rather than inside it (an error of at most one bin, for those
   * values only). The first and last |x| bins are narrowed to the exact smallest |x| (0 for mixed
   * signs, min for positive data, -max for negative data) and largest |x|.
   */
  static Bins abs(Histogram h) {
    int n = h.bins();
    long first = h.firstBin();
    long jmin = Long.MAX_VALUE;
    long jmax = Long.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      long j = fold(first + i);
      jmin = Math.min(jmin, j);
      jmax = Math.max(jmax, j);
    }
    int m = (int) (jmax - jmin + 1);
    long[] c = new long[m];
    for (int i = 0; i < n; i++) {
      c[(int) (fold(first + i) - jmin)] += h.count(i);
    }
    double[] lo = new double[m];
    double[] hi = new double[m];
    for (int j = 0; j < m; j++) {
      lo[j] = Math.scalb((double) (jmin + j), h.exponent());
      hi[j] = Math.scalb((double) (jmin + j + 1), h.exponent());
    }
    float min = h.min();
    float max = h.max();
    double minAbs = min >= 0 ? min : max <= 0 ? -(double) max : 0.0;
    double maxAbs = Math.max(Math.abs((double) min), Math.abs((double) max));
    // never inverted: minAbs <= (jmin + 1) w, as it lies in |x| bin jmin or on its upper edge (a boundary value,
    // see above), and maxAbs >= jmax w; the first interval can shrink to the point [w, w] (BinsTest)
    lo[0] = Math.max(lo[0], minAbs);
    hi[m - 1] = Math.min(hi[m - 1], maxAbs);
    return new Bins(lo, hi, c, h.total());
  }

  private static long fold(long k) {
    return k >= 0 ? k : -k - 1;
  }

  /**
   * The value below which a fraction {@code f} in [0, 1] of the values lie: the inverse of the
   * cumulative distribution, interpolated linearly inside the bin where it falls. With
   * {@code target = f N}, the result lies in the bin that holds the order statistic
   * {@code x_(ceil(target))}; {@code f = 0} gives the lower edge of the first non-empty bin (the smallest
   * value for signed bins) and {@code f = 1} the largest value.
   */
  double quantile(double f) {
    double target = f * total;
    // the first non-empty bin whose values reach the target (for f <= 1 at the latest the last non-empty bin)
    long before = 0;
    int i = 0;
    while (count[i] == 0 || before + count[i] < target) {
      before += count[i++];
    }
    double frac = (target - before) / count[i];
    return lo[i] + Math.min(1.0, frac) * (hi[i] - lo[i]);
  }
}
