package dev.qcal.calib;

import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntToDoubleFunction;

/**
 * {@code mse}: the threshold minimising the expected quantize-dequantize squared error,
 *
 * <pre>t* = argmin_t E[(x - x'_t)^2],  x'_t = dequantize(quantize(x)) with the parameters
 *       LinearQuant.forRange(R(t), type, symmetric)</pre>
 *
 * where {@code R(t) = (-t, t)} when symmetric and {@code (max(min, -t), min(max, t))} otherwise. The
 * expectation is {@link ErrorEstimate}'s: clipping plus rounding error integrated exactly over each
 * bin under a uniform in-bin density, with the real scale and zero-point rounding of the scheme.
 *
 * <p><b>Candidates</b>: the upper edges of the |x| histogram's bins ({@link Bins#abs}; the last one is
 * max|x|, i.e. minmax), from the smallest |x| up. <b>Search</b>: the error is evaluated on every
 * {@code s}-th candidate ({@code s = ceil(K / 256)} for K candidates, plus the last); then every
 * candidate between the neighbours of each of the {@value #REFINE} best local minima of that coarse
 * curve is evaluated, and the overall minimum is taken (ties: the larger t, less clipping). The
 * error curve is smooth on the coarse scale (clipping error falls, rounding error {@code ~ S^2 / 12}
 * rises), so the refinement finds the minimum of an exhaustive search over all K candidates except
 * when a narrow valley hides between coarse points and beats all refined brackets; the tests compare
 * with an exhaustive search on raw samples. Cost: about {@code (256 + 2 s REFINE)} evaluations of
 * O(bins) each.
 *
 * <p><b>Asymmetric types</b> search the one parameter t of {@code R(t)} instead of both ends (a 2-D
 * search): it is the same family as entropy and the symmetric percentile, it costs K rather than
 * K^2 evaluations, and for one-sided data (ReLU outputs, min >= 0) it is exactly the search over the
 * upper end, which is where clipping pays. For skewed mixed-sign data the best 2-D range may clip
 * the two tails differently, which this method cannot do.
 *
 * <p>References: the MSE observers of PyTorch/torchao ({@code HistogramObserver._non_linear_param_search},
 * which searches on a histogram) and NVIDIA pytorch-quantization {@code _compute_amax_mse} (which
 * evaluates the error at bin centres); qcal integrates the error over each bin and computes it with
 * the exact ONNX Runtime scale and zero-point rules.
 */
public final class MseCalibrator extends HistogramCalibrator {
  /** Coarse grid size. */
  static final int COARSE = 256;
  /** Local minima of the coarse curve refined exhaustively. */
  static final int REFINE = 4;

  @Override
  public String name() {
    return "mse";
  }

  @Override
  Range fromHistogram(String what, Histogram h, QuantType type, boolean symmetric) {
    Bins signed = Bins.signed(h);
    Bins abs = Bins.abs(h);
    int best = search(abs.size(), j -> error(signed, abs.hi[j], h, type, symmetric));
    return range(abs.hi[best], h, symmetric);
  }

  /**
   * The search over candidates {@code 0 .. k-1} (thresholds increasing) described above: the index of the
   * smallest error found, the last among equals; {@code error} is evaluated at most once per candidate. A coarse
   * point is a local minimum when neither coarse neighbour is lower; equal minima are ranked left to right.
   */
  static int search(int k, IntToDoubleFunction error) {
    double[] err = new double[k];
    java.util.Arrays.fill(err, Double.NaN);
    int stride = Math.max(1, (k + COARSE - 1) / COARSE);
    List<Integer> coarse = new ArrayList<>();
    for (int j = 0; j < k; j += stride) {
      coarse.add(j);
    }
    if (coarse.get(coarse.size() - 1) != k - 1) {
      coarse.add(k - 1);
    }
    for (int j : coarse) {
      err[j] = error.applyAsDouble(j);
    }
    // local minima of the coarse curve, best first
    List<Integer> minima = new ArrayList<>();
    for (int m = 0; m < coarse.size(); m++) {
      double e = err[coarse.get(m)];
      boolean left = m == 0 || e <= err[coarse.get(m - 1)];
      boolean right = m == coarse.size() - 1 || e <= err[coarse.get(m + 1)];
      if (left && right) {
        minima.add(m);
      }
    }
    minima.sort((x, y) -> Double.compare(err[coarse.get(x)], err[coarse.get(y)]));
    for (int r = 0; r < Math.min(REFINE, minima.size()); r++) {
      int m = minima.get(r);
      int from = m == 0 ? 0 : coarse.get(m - 1) + 1;
      int to = m == coarse.size() - 1 ? k - 1 : coarse.get(m + 1) - 1;
      for (int j = from; j <= to; j++) {
        if (Double.isNaN(err[j])) {
          err[j] = error.applyAsDouble(j);
        }
      }
    }
    int best = -1;
    for (int j = 0; j < k; j++) {
      if (!Double.isNaN(err[j]) && (best < 0 || err[j] <= err[best])) {
        best = j;
      }
    }
    return best;
  }

  private static Range range(double t, Histogram h, boolean symmetric) {
    return symmetric ? Range.symmetric(t) : Range.clamped(t, h.min(), h.max());
  }

  /** Expected sum of squared errors for threshold t. */
  private static double error(Bins signed, double t, Histogram h, QuantType type, boolean symmetric) {
    Range r = range(t, h, symmetric);
    var p = LinearQuant.forRange(r.min(), r.max(), type, symmetric);
    return ErrorEstimate.squaredError(signed, p.scale(0), p.zeroPoint(0), type.qmin(), type.qmax());
  }
}
