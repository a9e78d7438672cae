package dev.qcal.calib;

import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;

/**
 * {@code entropy}: the TensorRT-style KL-divergence threshold search ("8-bit Inference with
 * TensorRT", Migacz 2017; TensorRT's {@code IInt8EntropyCalibrator2}; MXNet's
 * {@code _get_optimal_threshold}; NVIDIA pytorch-quantization {@code _compute_amax_entropy}).
 *
 * <p>Steps (each marked in the code):
 * <ol>
 *   <li><b>|x| histogram of at most 2048 bins over [0, max|x|]</b>, exact: the power-of-two |x|
 *       histogram folded from the signed one ({@link Bins#abs}; bins aligned at zero, so negative bin
 *       k is |x| bin -k-1, apart from values exactly on a negative bin's lower edge), coarsened by
 *       summing {@code 2^d} aligned bins, with the smallest d that leaves at most 2048 bins from 0 to
 *       max|x|: K bins of width {@code W = 2^(e+d)}, K in (1024, 2048] whenever the statistics had
 *       enough resolution (the default 4096-bin statistics always do). <i>Why not re-bin to exactly
 *       2048 bins of width max|x|/2048 as TensorRT?</i> W = max|x|/2048 is not a power of two, so
 *       re-binning has to spread counts by overlap, which fills empty bins with fractions and
 *       changes the non-empty pattern Q is spread over; the KL minimum is flat enough that this moved
 *       the threshold by up to 15 % (128 bins) on 200k-sample tests. The exact bins keep integer
 *       counts, give the same answer as a direct computation on a histogram of the raw |x|, and stay
 *       within a factor 2 of TensorRT's resolution.
 *   <li><b>Candidates</b> {@code i = ceil(K / 16) .. K}: the threshold {@code t_i = min(i W, max|x|)},
 *       the upper edge of the last kept bin {@code i - 1} (as pytorch-quantization's
 *       {@code bin_edges[i]}; Migacz's slides say {@code (i + 0.5) W}). With K = 2048 that is
 *       TensorRT's "from bin 128"; in general the candidates span [max|x| / 16, max|x|] as TensorRT's
 *       do, and the last one is minmax.
 *   <li><b>Reference P</b> = bins {@code [0, i)} with the outlier mass (bins {@code >= i}) added to bin
 *       {@code i - 1}: clipping at t puts every outlier at t.
 *   <li><b>Candidate Q</b>: bins {@code [0, i)} (without the outliers) quantized to L levels: level g
 *       holds the bins j with {@code floor(j L / i) = g} (an even split, as pytorch-quantization's
 *       {@code linspace}; MXNet and ONNX Runtime give every level {@code floor(i / L)} bins and the
 *       remainder to the last one). Each level's total is then spread evenly over the bins of its
 *       group where P is non-zero (empty bins stay empty). L = 128 for signed types, 256 for
 *       unsigned types when the data is non-negative (min >= 0, e.g. ReLU outputs): the levels that
 *       cover [0, t]; for an unsigned type on mixed-sign data only about half the levels cover each
 *       side, so L = 128. Wider types use {@code 2^(bits-1)} and {@code 2^bits} the same way (L >= i
 *       makes Q = the kept bins, so 16-bit types get t close to max|x|).
 *   <li><b>Smoothing</b> (ONNX Runtime's {@code smooth_distribution} idea): P and Q are normalized,
 *       every zero gets {@code eps = 1e-4 / N} (N = finite count: 1e-4 of one value, ORT's eps in
 *       count units) and the non-zeros give that mass back in proportion to their size, so none can
 *       go negative (ORT subtracts a constant and asserts). A Q with no mass at all (every value lies
 *       above t_i) cannot be smoothed; its KL is +infinity by definition (P has mass where Q has
 *       none), so the candidate is ruled out. That is the value, not a sentinel: ORT returns None and
 *       sets inf. Candidate K keeps all the mass, so some candidate is always finite. A candidate that
 *       clips values and leaves P with a single non-empty bin is also ruled out: P and Q are then the
 *       same spike and KL is 0 however much was clipped. This happens when no value lies near zero
 *       (a one-signed tensor offset from 0, e.g. logits all in [-2.2, -0.92]): the first bin holding
 *       values would win with KL 0 and clip the whole tensor to one value (measured on the example's
 *       last Conv output: range [-0.918, -0.917] of observed [-2.196, -0.917], 9.2 dB). TensorRT's
 *       and ONNX Runtime's searches have the same flaw; the rule changes nothing where P has two or
 *       more non-empty bins.
 *   <li><b>KL(P || Q)</b> {@code = sum_j p_j ln(p_j / q_j)} compared; the <b>last</b> minimal candidate
 *       is taken (pytorch-quantization's {@code last_argmin}; ties favour less clipping).
 *   <li><b>Range</b>: symmetric {@code (-t, t)}; asymmetric {@code (max(min, -t), min(max, t))}.
 * </ol>
 *
 * <p>Differences from ONNX Runtime's {@code get_entropy_threshold}: ORT runs on a signed histogram
 * symmetric around zero with {@code num_bins} (default 128!) and {@code num_quantized_bins} 128, so
 * by default it has a single candidate and entropy equals minmax; its bins are re-binned as data
 * arrives (order-dependent); its Q is integer ({@code int64} truncation of the spread counts); it
 * takes the first minimum; and it drops the remainder bins from the expansion. qcal follows
 * TensorRT's 2048-bin one-sided search on |x| instead, and does not copy pytorch-quantization's
 * {@code bins[0] = bins[1]} zero-bin adjustment.
 */
public final class EntropyCalibrator extends HistogramCalibrator {
  /** Most bins of the |x| histogram the search runs on (TensorRT's 2048). */
  public static final int BINS = 2048;
  /** Smoothing mass given to each zero bin, in units of one value (ONNX Runtime's eps). */
  static final double EPS = 1e-4;

  private final boolean levelZeroBin;

  /**
   * The default: before the search the bin holding 0 gets the count of its neighbour
   * (pytorch-quantization's {@code bins[0] = bins[1]}). ReLU outputs put up to half their values in
   * that bin; left alone it dominates KL(P || Q) and drives thresholds far below the useful range.
   * Measured on the example (PaddleOCR classifier, 512 lines, uint8): top-1 agreement with FP32
   * 0.664 without the adjustment, 0.992 with it.
   */
  public EntropyCalibrator() {
    this(true);
  }

  /** {@code levelZeroBin = false} is the search exactly as TensorRT describes it. */
  public EntropyCalibrator(boolean levelZeroBin) {
    this.levelZeroBin = levelZeroBin;
  }

  @Override
  public String name() {
    return "entropy";
  }

  @Override
  Range fromHistogram(String what, Histogram h, QuantType type, boolean symmetric) {
    double maxAbs = Math.max(Math.abs((double) h.min()), Math.abs((double) h.max()));
    if (maxAbs == 0) {
      return new Range(0f, 0f); // all values are zero
    }
    // step 1: exact |x| bins from 0, coarsened to at most BINS
    long first = h.firstBin();
    long jmax = Math.max(fold(first), fold(first + h.bins() - 1)); // fold is V-shaped
    int d = 0;
    while ((jmax >> d) + 1 > BINS) {
      d++;
    }
    double[] hist = new double[(int) (jmax >> d) + 1];
    for (int i = 0; i < h.bins(); i++) {
      hist[(int) (fold(first + i) >> d)] += h.count(i);
    }
    double w = Math.scalb(1.0, h.exponent() + d);
    if (levelZeroBin && hist.length > 1) {
      hist[0] = hist[1];
    }
    int start = (hist.length + 15) / 16;
    int best = search(what, hist, start, levels(type, h.min() >= 0), h.total());
    double t = Math.min(best * w, maxAbs);
    return symmetric ? Range.symmetric(t) : Range.clamped(t, h.min(), h.max());
  }

  private static long fold(long k) {
    return k >= 0 ? k : -k - 1;
  }

  /** L: the quantization levels covering [0, t]. */
  static int levels(QuantType type, boolean nonNegative) {
    int bits = 64 - Long.numberOfLeadingZeros(type.qmax() - type.qmin());
    return 1 << Math.min(30, type.signed() || !nonNegative ? bits - 1 : bits);
  }

  /** Steps 2-6: the number of kept bins i of the last candidate with minimal KL(P || Q). */
  static int search(String what, double[] hist, int start, int levels, long total) {
    int n = hist.length;
    double eps = EPS / total;
    double[] suffix = new double[n + 1]; // suffix[i] = mass of bins >= i
    for (int j = n - 1; j >= 0; j--) {
      suffix[j] = suffix[j + 1] + hist[j];
    }
    double[] p = new double[n];
    double[] q = new double[n];
    double[] groupSum = new double[Math.min(levels, n)];
    int[] groupNonZero = new int[groupSum.length];
    int[] groupOf = new int[n];
    int best = -1;
    double bestKl = Double.POSITIVE_INFINITY;
    for (int i = Math.max(1, start); i <= n; i++) {
      // step 3: P = bins [0, i), outliers folded into bin i - 1
      System.arraycopy(hist, 0, p, 0, i);
      p[i - 1] += suffix[i];
      // step 4: Q = bins [0, i) quantized to L levels, spread over the non-empty bins of P
      int groups = Math.min(levels, i);
      java.util.Arrays.fill(groupSum, 0, groups, 0);
      java.util.Arrays.fill(groupNonZero, 0, groups, 0);
      groups(i, groups, groupOf);
      for (int j = 0; j < i; j++) {
        int g = groupOf[j];
        groupSum[g] += hist[j];
        if (p[j] > 0) {
          groupNonZero[g]++;
        }
      }
      double qTotal = 0;
      for (int j = 0; j < i; j++) {
        q[j] = p[j] > 0 ? groupSum[groupOf[j]] / groupNonZero[groupOf[j]] : 0;
        qTotal += q[j];
      }
      if (!(qTotal > 0)) {
        continue; // step 5: Q has no mass, KL = +inf
      }
      if (suffix[i] > 0 && nonZeroBins(p, i) == 1) {
        continue; // step 5: a degenerate candidate, clipping all values into one bin (KL 0 by construction)
      }
      // steps 5-6: normalize, smooth, KL
      double kl = kl(p, q, i, suffix[0], qTotal, eps);
      if (kl <= bestKl) {
        bestKl = kl;
        best = i;
      }
    }
    if (best < 0) {
      throw new IllegalArgumentException(what + ": entropy found no candidate threshold with a finite KL divergence");
    }
    return best;
  }

  private static int nonZeroBins(double[] p, int i) {
    int n = 0;
    for (int j = 0; j < i && n < 2; j++) {
      if (p[j] > 0) {
        n++;
      }
    }
    return n;
  }

  /**
   * The level of each bin j of i kept bins into {@code groupOf[0, i)}: {@code floor(j G / i)} for
   * {@code G = min(L, i)} groups (so each bin is its own level when L >= i), without a division per bin: j G
   * grows by G <= i per bin, so it passes at most one multiple of i.
   */
  static void groups(int i, int groups, int[] groupOf) {
    int g = 0;
    long next = i; // (g + 1) i
    long jg = 0; // j G
    for (int j = 0; j < i; j++, jg += groups) {
      if (jg >= next) {
        g++;
        next += i;
      }
      groupOf[j] = g;
    }
  }

  /** KL(P || Q) of the first {@code i} bins after normalizing (by pTotal, qTotal) and smoothing. */
  static double kl(double[] p, double[] q, int i, double pTotal, double qTotal, double eps) {
    int pZeros = 0;
    int qZeros = 0;
    for (int j = 0; j < i; j++) {
      if (p[j] == 0) {
        pZeros++;
      }
      if (q[j] == 0) {
        qZeros++;
      }
    }
    // non-zeros scaled by (1 - eps * zeros): the eps mass given to the zeros comes from them pro rata
    double pScale = (1 - eps * pZeros) / pTotal;
    double qScale = (1 - eps * qZeros) / qTotal;
    double kl = 0;
    for (int j = 0; j < i; j++) {
      if (p[j] == 0 && q[j] == 0) {
        continue; // eps ln(eps / eps) adds exactly 0 (in the search Q is 0 wherever P is)
      }
      double pj = p[j] == 0 ? eps : p[j] * pScale;
      double qj = q[j] == 0 ? eps : q[j] * qScale;
      kl += pj * Math.log(pj / qj);
    }
    return kl;
  }
}
