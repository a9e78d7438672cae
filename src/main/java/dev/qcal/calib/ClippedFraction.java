package dev.qcal.calib;

import dev.qcal.stats.Histogram;

/**
 * The fraction of a histogram's finite values that lie outside a range {@code [lo, hi]} (values equal to an end are
 * inside), i.e. that a quantizer whose range is {@code [lo, hi]} would clip.
 *
 * <p>A bin counts whole when all its values are certainly outside (its upper edge at or below {@code lo}, the upper
 * edge excluded except for the last bin, whose values reach the exact max; or its lower edge above {@code hi}), not
 * at all when all are certainly inside, and in part when an end of the range falls inside it: then by the
 * fraction of its interval outside the range, the values spread uniformly over the bin as in
 * {@link ErrorEstimate} (first and last bins narrowed to the exact min and max, {@link Bins}). Exact whenever
 * {@code lo} and {@code hi} fall on bin edges or outside the observed {@code [min, max]}; {@code lowerBound} and
 * {@code upperBound} count those partial bins as none and as all clipped.
 */
public record ClippedFraction(double fraction, double lowerBound, double upperBound) {

  /** The clipped fraction of {@code h} (non-empty) for the range {@code [lo, hi]}, {@code lo <= hi}. */
  public static ClippedFraction of(Histogram h, double lo, double hi) {
    if (h.total() == 0) {
      throw new IllegalArgumentException("cannot count the clipped values of an empty histogram");
    }
    if (!(lo <= hi)) {
      throw new IllegalArgumentException("empty range [" + lo + ", " + hi + "]");
    }
    Bins b = Bins.signed(h);
    double estimate = 0;
    long certain = 0;
    long partial = 0;
    int n = b.size();
    for (int i = 0; i < n; i++) {
      long c = b.count[i];
      if (c == 0) {
        continue;
      }
      double l = b.lo[i];
      double u = b.hi[i];
      boolean last = i == n - 1;
      if ((last ? u < lo : u <= lo) || l > hi) {
        certain += c; // every value below lo (or above hi)
      } else if (l >= lo && u <= hi) {
        continue; // every value inside
      } else {
        partial += c; // here u > l: a zero-width bin (a single value) is certainly inside or outside
        double outside = Math.max(0, Math.min(u, lo) - l) + Math.max(0, u - Math.max(l, hi));
        estimate += c * (outside / (u - l));
      }
    }
    double total = b.total;
    return new ClippedFraction((certain + estimate) / total, certain / total, (certain + partial) / total);
  }
}
