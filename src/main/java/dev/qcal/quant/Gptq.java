package dev.qcal.quant;

import java.util.Arrays;

/**
 * GPTQ (Frantar et al., 2022) for a MatMul weight: the weight's rows are quantized one input index at a
 * time, and each row's rounding error is spread over the rows not yet quantized so as to minimise the
 * layer's output error {@code ||X W - X W'||^2} over the calibration inputs X, through the Hessian
 * {@code H = sum x x^T} of the layer's input (x the input vectors, H of size [in, in]).
 *
 * <p>The weight is stored as qcal reads a MatMul weight: shape {@code [in, out]} (K, N), row-major; the
 * channel axis is 1 (one scale per output column), blocks run along axis 0 (the reduction axis), exactly
 * as {@link LinearQuant} quantizes it today (round to nearest, RTN). The grid is RTN's: the same
 * {@link WeightSpec} types, symmetric scales and zero points from {@link LinearQuant}, and codes from
 * {@link LinearQuant#quantize(float, QuantParams, int)} (the updated value rounded to float first), so the
 * codes and {@link QuantParams} can be written by the QDQ writer unchanged. With H diagonal (uncorrelated
 * inputs) no error is propagated and GPTQ gives RTN's integers exactly.
 *
 * <p>The steps follow the reference implementation ({@code fasterquant}): inputs that are always zero
 * ({@code H_ii = 0}) get {@code H_ii = 1} and their weight row set to 0; H is damped by
 * {@code damp * mean(diag H)} on the diagonal (default 1%); the upper Cholesky factor U of
 * {@code H^-1} gives the updates: row i's error {@code (w_i - q_i) / U_ii} is subtracted, times
 * {@code U_ik}, from each later row k. Updates are applied within a lazy batch of rows at once and to
 * the later rows once per batch (the same arithmetic, fewer passes over the matrix). Columns are taken in
 * their natural order (no act-order).
 *
 * <p>Scales: <b>per channel and per tensor</b> they are chosen before any update, from the original
 * weight, so they equal RTN's (the reference does the same; the propagated errors are small next to the
 * channel's range, and the few values pushed past it are clipped to the type's range, which for signed
 * types includes -8 / -128, a code RTN's restricted symmetric range never reaches). <b>Per block</b> they are chosen when
 * the block starts, from its rows as updated by all earlier rows (as the reference's {@code groupsize}):
 * the block's range is then that of the values actually quantized, so nothing is clipped needlessly.
 * For that the lazy batch is rounded up to a multiple of the block size, so a block's rows are complete
 * when its scales are taken.
 */
public final class Gptq {

  /** The reference's damping: 1% of the mean diagonal of H. */
  public static final double DEFAULT_DAMP = 0.01;

  /** The reference's lazy batch: 128 rows. */
  public static final int DEFAULT_LAZY_BATCH = 128;

  private Gptq() {}

  /**
   * The quantized weight.
   *
   * @param codes the integers, shape {@code [in, out]} row-major, as {@link LinearQuant#quantizeAll} gives them
   * @param params per tensor (axis null), per channel (axis 1) or blocked (axis 0, scales {@code [ceil(in/B), out]})
   */
  public record Result(long[] codes, QuantParams params) {}

  /**
   * The parameters round to nearest gives a {@code [in, out]} weight in {@code spec}: per tensor, per output
   * channel (axis 1), or per block of input rows (axis 0). GPTQ keeps them when the weight is not blocked.
   */
  public static QuantParams roundToNearestParams(float[] weight, long[] shape, WeightSpec spec) {
    return spec.blockSize() > 0 ? LinearQuant.blockWeightParams(weight, shape, 0, spec.blockSize(), spec.type())
        : spec.perChannel() ? LinearQuant.weightParams(weight, shape, 1, spec.type())
        : LinearQuant.weightParamsPerTensor(weight, spec.type());
  }

  /** GPTQ with the reference's damping (1%) and lazy batch (128). */
  public static Result quantize(float[] weight, long[] shape, double[][] hessian, WeightSpec spec) {
    return quantize(weight, shape, hessian, spec, DEFAULT_DAMP, DEFAULT_LAZY_BATCH);
  }

  /**
   * GPTQ of {@code weight} ({@code [in, out]}) for inputs whose Hessian is {@code hessian} ({@code [in, in]},
   * symmetric); {@code damp} is the fraction of the mean diagonal added to it, {@code lazyBatch} the
   * rows updated together.
   *
   * @throws IllegalArgumentException on a non-finite weight or H entry, sizes that do not agree, an
   *     asymmetric H, or an H that is not positive definite after damping
   */
  public static Result quantize(
      float[] weight, long[] shape, double[][] hessian, WeightSpec spec, double damp, int lazyBatch) {
    int[] io = checkShape(weight, shape);
    int in = io[0];
    int out = io[1];
    checkHessian(hessian, in);
    if (!(damp >= 0) || !Double.isFinite(damp)) {
      throw new IllegalArgumentException("damping must be finite and >= 0, got " + damp);
    }
    if (lazyBatch < 1) {
      throw new IllegalArgumentException("lazy batch must be >= 1, got " + lazyBatch);
    }
    int block = spec.blockSize();
    QuantParams fixed = block > 0 ? null : roundToNearestParams(weight, shape, spec);
    double[][] w = new double[in][out];
    double[][] h = new double[in][];
    for (int i = 0; i < in; i++) {
      h[i] = hessian[i].clone();
      for (int j = 0; j < out; j++) {
        w[i][j] = weight[i * out + j];
      }
    }
    dampen(h, w, damp);
    double[][] u = upperCholeskyOfInverse(h);
    int batch = block > 0 ? (int) Math.min(in, ((long) lazyBatch + block - 1) / block * block) : lazyBatch;
    return new Sweep(w, u, spec.type(), block, fixed).run(batch);
  }

  /** The rows of one weight being quantized in order, with the errors they pass on. */
  private static final class Sweep {
    private final double[][] w;
    private final double[][] u;
    private final QuantType type;
    private final int block;
    private final int in;
    private final int out;
    private final long[] codes;
    private final float[] scale;
    private final long[] zp;
    private final QuantParams fixed;

    Sweep(double[][] w, double[][] u, QuantType type, int block, QuantParams fixed) {
      this.w = w;
      this.u = u;
      this.type = type;
      this.block = block;
      this.in = w.length;
      this.out = w[0].length;
      this.codes = new long[in * out];
      this.fixed = fixed;
      int blocks = block > 0 ? (in + block - 1) / block : 0;
      this.scale = new float[blocks * out];
      this.zp = new long[blocks * out];
    }

    Result run(int batch) {
      for (int i1 = 0; i1 < in; i1 += batch) {
        int i2 = Math.min(i1 + batch, in);
        double[][] err = new double[i2 - i1][];
        for (int i = i1; i < i2; i++) {
          if (block > 0 && i % block == 0) {
            blockParams(i);
          }
          err[i - i1] = quantizeRow(i);
          propagate(err[i - i1], i, i + 1, i2);
        }
        for (int r = i1; r < i2; r++) {
          propagate(err[r - i1], r, i2, in);
        }
      }
      QuantParams p = fixed != null ? fixed : new QuantParams(scale, zp, type, 0, block);
      return new Result(codes, p);
    }

    /** Quantizes row i; returns its scaled error {@code (w_i - q_i) / U_ii}. */
    private double[] quantizeRow(int i) {
      double d = u[i][i];
      double[] e = new double[out];
      for (int j = 0; j < out; j++) {
        int k = fixed == null ? (i / block) * out + j : fixed.perChannel() ? j : 0;
        float s = fixed == null ? scale[k] : fixed.scale(k);
        long z = fixed == null ? zp[k] : fixed.zeroPoint(k);
        long q = LinearQuant.quantize((float) w[i][j], s, z, type.qmin(), type.qmax());
        codes[i * out + j] = q;
        e[j] = (w[i][j] - LinearQuant.dequantize(q, s, z)) / d;
      }
      return e;
    }

    /** Subtracts row r's error times {@code U_rk} from rows k in {@code [from, to)}. */
    private void propagate(double[] e, int r, int from, int to) {
      for (int k = from; k < to; k++) {
        double f = u[r][k];
        double[] wk = w[k];
        for (int j = 0; j < out; j++) {
          wk[j] -= e[j] * f;
        }
      }
    }

    /** The scales of the block starting at row i, from its rows as updated so far. */
    private void blockParams(int i) {
      int rows = Math.min(block, in - i);
      float[] slice = new float[rows * out];
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < out; j++) {
          slice[r * out + j] = (float) w[i + r][j];
        }
      }
      QuantParams p = LinearQuant.blockWeightParams(slice, new long[] {rows, out}, 0, block, type);
      int base = (i / block) * out;
      for (int j = 0; j < out; j++) {
        scale[base + j] = p.scale(j);
        zp[base + j] = p.zeroPoint(j);
      }
    }
  }

  private static int[] checkShape(float[] weight, long[] shape) {
    if (shape.length != 2 || shape[0] < 1 || shape[1] < 1) {
      throw new IllegalArgumentException("GPTQ needs a 2-D [in, out] weight, got shape " + Arrays.toString(shape));
    }
    if ((long) weight.length != shape[0] * shape[1]) {
      throw new IllegalArgumentException(
          "weight shape " + Arrays.toString(shape) + " holds " + shape[0] * shape[1] + " values, got " + weight.length);
    }
    for (int i = 0; i < weight.length; i++) {
      if (!Float.isFinite(weight[i])) {
        throw new IllegalArgumentException("weight value at flat index " + i + " is " + weight[i]);
      }
    }
    return new int[] {(int) shape[0], (int) shape[1]};
  }

  private static void checkHessian(double[][] h, int in) {
    if (h.length != in) {
      throw new IllegalArgumentException("Hessian has " + h.length + " rows but the weight has " + in + " inputs");
    }
    double max = 0;
    for (int i = 0; i < in; i++) {
      if (h[i].length != in) {
        throw new IllegalArgumentException(
            "Hessian is not square: row " + i + " has " + h[i].length + " entries, expected " + in);
      }
      for (int k = 0; k < in; k++) {
        if (!Double.isFinite(h[i][k])) {
          throw new IllegalArgumentException("Hessian entry [" + i + ", " + k + "] is " + h[i][k]);
        }
        max = Math.max(max, Math.abs(h[i][k]));
      }
    }
    for (int i = 0; i < in; i++) {
      for (int k = 0; k < i; k++) {
        if (Math.abs(h[i][k] - h[k][i]) > 1e-9 * max) {
          throw new IllegalArgumentException(
              "Hessian is not symmetric: [" + i + ", " + k + "] = " + h[i][k] + " but [" + k + ", " + i + "] = " + h[k][i]);
        }
      }
    }
  }

  /** Dead inputs ({@code H_ii = 0}): {@code H_ii = 1} and weight row 0; then {@code damp * mean(diag)} on the diagonal. */
  private static void dampen(double[][] h, double[][] w, double damp) {
    double sum = 0;
    for (int i = 0; i < h.length; i++) {
      if (h[i][i] == 0) {
        h[i][i] = 1;
        Arrays.fill(w[i], 0);
      }
      sum += h[i][i];
    }
    double add = damp * sum / h.length;
    for (int i = 0; i < h.length; i++) {
      h[i][i] += add;
    }
  }

  /** U upper triangular with {@code U^T U = H^-1}: H = L L^T, {@code H^-1 = L^-T L^-1}, then its Cholesky factor. */
  static double[][] upperCholeskyOfInverse(double[][] h) {
    int n = h.length;
    double[][] linv = lowerInverse(cholesky(h));
    double[][] hinv = new double[n][n];
    for (int a = 0; a < n; a++) {
      for (int b = 0; b <= a; b++) {
        double s = 0;
        for (int k = a; k < n; k++) {
          s += linv[k][a] * linv[k][b];
        }
        hinv[a][b] = s;
        hinv[b][a] = s;
      }
    }
    double[][] l = cholesky(hinv);
    double[][] up = new double[n][n];
    for (int a = 0; a < n; a++) {
      for (int b = a; b < n; b++) {
        up[a][b] = l[b][a];
      }
    }
    return up;
  }

  /** Lower L with {@code L L^T = a}; a non-positive pivot means a is not positive definite. */
  private static double[][] cholesky(double[][] a) {
    int n = a.length;
    double[][] l = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k <= i; k++) {
        double s = a[i][k];
        for (int m = 0; m < k; m++) {
          s -= l[i][m] * l[k][m];
        }
        if (i == k) {
          if (!(s > 0)) {
            throw new IllegalArgumentException("Hessian is not positive definite after damping (pivot " + s
                + " at input " + i + "); more samples or a larger damping may help");
          }
          l[i][i] = Math.sqrt(s);
        } else {
          l[i][k] = s / l[k][k];
        }
      }
    }
    return l;
  }

  /** The inverse of a lower triangular matrix with a positive diagonal, by forward substitution. */
  private static double[][] lowerInverse(double[][] l) {
    int n = l.length;
    double[][] inv = new double[n][n];
    for (int c = 0; c < n; c++) {
      inv[c][c] = 1 / l[c][c];
      for (int i = c + 1; i < n; i++) {
        double s = 0;
        for (int m = c; m < i; m++) {
          s -= l[i][m] * inv[m][c];
        }
        inv[i][c] = s / l[i][i];
      }
    }
    return inv;
  }
}
