package dev.qcal.stats;

/**
 * Two {@link Histogram}s re-binned onto one grid, exactly: both are power-of-two binned and aligned at zero, so
 * at the coarser of their two exponents (or any coarser one) every bin of either side nests in exactly one grid bin
 * and re-binning sums counts, without any approximation. Grid bin {@code i} covers
 * {@code [(firstBin + i) 2^exponent, (firstBin + i + 1) 2^exponent)}; {@code a[i]} and {@code b[i]} are the counts
 * of the two histograms there.
 *
 * <p>{@link #jensenShannon} compares the two on this grid: with {@code p = a / sum(a)}, {@code q = b / sum(b)} and
 * {@code m = (p + q) / 2}, {@code JS = (KL(p || m) + KL(q || m)) / 2} in bits (base-2 logarithms), which lies in
 * [0, 1]: 0 for equal distributions, 1 for disjoint ones.
 */
public record CommonGrid(int exponent, long firstBin, long[] a, long[] b) {

  /**
   * The finest common grid of {@code x} and {@code y} (both non-empty) on which the union of their bins spans at
   * most {@code maxBins} bins: exponent {@code max(e_x, e_y)}, raised one step at a time until the span fits (at
   * {@link Histogram#E_MAX} any two finite ranges span at most 2 bins).
   */
  public static CommonGrid of(Histogram x, Histogram y, int maxBins) {
    if (maxBins < 2) {
      throw new IllegalArgumentException("a common grid needs at least 2 bins, got " + maxBins);
    }
    if (x.total() == 0 || y.total() == 0) {
      throw new IllegalArgumentException("cannot put an empty histogram on a common grid");
    }
    int e = Math.max(x.exponent(), y.exponent());
    while (e < Histogram.E_MAX && last(x, e, y) - first(x, e, y) + 1 > maxBins) {
      e++;
    }
    long first = first(x, e, y);
    int n = (int) (last(x, e, y) - first + 1);
    return new CommonGrid(e, first, rebin(x, e, first, n), rebin(y, e, first, n));
  }

  /** Bin k of a histogram at exponent {@code from} lies in bin {@code floor(k / 2^(to - from))} at {@code to}. */
  private static long coarsen(long k, int from, int to) {
    return k >> Math.min(63, to - from); // an arithmetic shift is the floor, negative bins included
  }

  private static long first(Histogram x, int e, Histogram y) {
    return Math.min(coarsen(x.firstBin(), x.exponent(), e), coarsen(y.firstBin(), y.exponent(), e));
  }

  private static long last(Histogram x, int e, Histogram y) {
    return Math.max(coarsen(x.firstBin() + x.bins() - 1, x.exponent(), e),
        coarsen(y.firstBin() + y.bins() - 1, y.exponent(), e));
  }

  private static long[] rebin(Histogram h, int e, long first, int n) {
    long[] c = new long[n];
    for (int i = 0; i < h.bins(); i++) {
      c[(int) (coarsen(h.firstBin() + i, h.exponent(), e) - first)] += h.count(i);
    }
    return c;
  }

  /** Number of grid bins. */
  public int bins() {
    return a.length;
  }

  /** Lower edge of grid bin {@code i} (exact; {@code i = bins()} gives the upper edge of the last). */
  public double lowerEdge(int i) {
    return Math.scalb((double) (firstBin + i), exponent);
  }

  /** The Jensen-Shannon divergence of the two histograms on this grid, in bits, in [0, 1] (see the class comment). */
  public double jensenShannon() {
    return jensenShannon(a, b);
  }

  /**
   * The Jensen-Shannon divergence in bits of the distributions {@code a / sum(a)} and {@code b / sum(b)}, counts on
   * the same bins; a term with a zero count adds nothing ({@code 0 log 0 = 0}). Clamped to [0, 1] against rounding.
   */
  public static double jensenShannon(long[] a, long[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("counts on different bins: " + a.length + " vs " + b.length);
    }
    double ta = 0;
    double tb = 0;
    for (int i = 0; i < a.length; i++) {
      ta += a[i];
      tb += b[i];
    }
    if (!(ta > 0 && tb > 0)) {
      throw new IllegalArgumentException("the Jensen-Shannon divergence needs counts on both sides");
    }
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      double p = a[i] / ta;
      double q = b[i] / tb;
      double m = (p + q) / 2;
      if (p > 0) {
        sum += p * Math.log(p / m);
      }
      if (q > 0) {
        sum += q * Math.log(q / m);
      }
    }
    double js = sum / 2 / Math.log(2);
    return Math.min(1.0, Math.max(0.0, js));
  }
}
