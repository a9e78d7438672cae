package dev.qcal.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * GPTQ against a column-by-column reference written here (Gauss-Jordan inverse of H, the inverse updated
 * by elimination after each input, no Cholesky, no lazy batches), against RTN when H is diagonal, on the
 * output error of correlated inputs, and on bad input.
 */
class GptqTest {

  private static final WeightSpec INT4_CHANNEL = new WeightSpec(QuantType.INT4, true, 0);
  private static final WeightSpec INT8_CHANNEL = new WeightSpec(QuantType.INT8, true, 0);

  @Test
  void sameIntegersAsTheColumnByColumnReference() {
    int[][] shapes = {{8, 3}, {37, 4}, {40, 5}, {150, 3}};
    WeightSpec[] specs = {INT4_CHANNEL, INT8_CHANNEL, new WeightSpec(QuantType.UINT4, true, 0),
        new WeightSpec(QuantType.UINT8, false, 0), new WeightSpec(QuantType.INT4, true, 16),
        new WeightSpec(QuantType.INT8, true, 32), new WeightSpec(QuantType.UINT4, true, 16)};
    int seed = 0;
    int compared = 0;
    int differFromRtn = 0;
    for (int[] s : shapes) {
      for (WeightSpec spec : specs) {
        Layer layer = Layer.random(s[0], s[1], 3 * s[0], seed++, s[0] > 10 ? 3 : -1);
        Reference ref = reference(layer.w, s[0], s[1], layer.h, spec);
        for (int lazy : new int[] {128, 5}) {
          Gptq.Result r = Gptq.quantize(layer.w, layer.shape(), layer.h, spec, 0.01, lazy);
          String what = spec + " shape " + s[0] + "x" + s[1] + " lazy " + lazy;
          assertArrayEquals(ref.codes, r.codes(), what);
          assertEquals(ref.params, r.params(), what);
          compared++;
        }
        QuantParams rtn = spec.blockSize() > 0
            ? LinearQuant.blockWeightParams(layer.w, layer.shape(), 0, spec.blockSize(), spec.type()) : ref.params;
        if (!java.util.Arrays.equals(ref.codes, LinearQuant.quantizeAll(layer.w, layer.shape(), rtn))) {
          differFromRtn++;
        }
        if (s[0] > 10) {
          // the dead input 3 (always 0) is quantized as 0
          for (int j = 0; j < s[1]; j++) {
            assertEquals(ref.params.zeroPoint(spec.blockSize() > 0 ? j : spec.perChannel() ? j : 0),
                ref.codes[3 * s[1] + j]);
          }
        }
      }
    }
    assertEquals(56, compared);
    // the comparison is not RTN against RTN: the errors moved change the integers of every layer
    assertEquals(28, differFromRtn);
  }

  @Test
  void diagonalHessianGivesRoundToNearest() {
    Random r = new Random(7);
    for (WeightSpec spec : new WeightSpec[] {INT4_CHANNEL, INT8_CHANNEL, new WeightSpec(QuantType.INT4, false, 0),
        new WeightSpec(QuantType.INT4, true, 16), new WeightSpec(QuantType.UINT8, true, 32)}) {
      int in = 45;
      int out = 6;
      float[] w = gaussian(r, in * out, 0.2);
      double[][] h = new double[in][in];
      for (int i = 0; i < in; i++) {
        h[i][i] = spec.blockSize() == 16 ? 1 : 0.5 + r.nextDouble() * 4;
      }
      long[] shape = {in, out};
      QuantParams rtn = spec.blockSize() > 0 ? LinearQuant.blockWeightParams(w, shape, 0, spec.blockSize(), spec.type())
          : spec.perChannel() ? LinearQuant.weightParams(w, shape, 1, spec.type())
          : LinearQuant.weightParamsPerTensor(w, spec.type());
      Gptq.Result g = Gptq.quantize(w, shape, h, spec);
      assertEquals(rtn, g.params(), spec.toString());
      assertArrayEquals(LinearQuant.quantizeAll(w, shape, rtn), g.codes(), spec.toString());
    }
  }

  @Test
  void correlatedInputsGiveASmallerOutputErrorThanRoundToNearest() {
    int in = 64;
    int out = 32;
    int n = 512;
    Layer layer = Layer.random(in, out, n, 11, -1);
    for (WeightSpec spec : new WeightSpec[] {INT4_CHANNEL, INT8_CHANNEL, new WeightSpec(QuantType.INT4, true, 16)}) {
      Gptq.Result g = Gptq.quantize(layer.w, layer.shape(), layer.h, spec);
      QuantParams rtnParams = spec.blockSize() > 0
          ? LinearQuant.blockWeightParams(layer.w, layer.shape(), 0, spec.blockSize(), spec.type())
          : LinearQuant.weightParams(layer.w, layer.shape(), 1, spec.type());
      long[] rtnCodes = LinearQuant.quantizeAll(layer.w, layer.shape(), rtnParams);
      double gptq = layer.outputError(dequantize(g.codes(), g.params(), layer.shape()));
      double rtn = layer.outputError(dequantize(rtnCodes, rtnParams, layer.shape()));
      System.out.printf("GPTQ vs RTN output error ||XW - XW'||^2, %s: gptq %.6g rtn %.6g ratio %.4f%n",
          spec, gptq, rtn, gptq / rtn);
      assertTrue(gptq < 0.8 * rtn, spec + ": GPTQ " + gptq + " not below 0.8 x RTN " + rtn);
    }
  }

  @Test
  void badInputIsNamed() {
    float[] w = {1, 2, 3, 4, 5, 6};
    long[] shape = {2, 3};
    double[][] id = {{1, 0}, {0, 1}};
    float[] nan = w.clone();
    nan[4] = Float.NaN;
    assertMessage("flat index 4 is NaN", () -> Gptq.quantize(nan, shape, id, INT8_CHANNEL));
    assertMessage("not square", () -> Gptq.quantize(w, shape, new double[][] {{1, 0}, {0}}, INT8_CHANNEL));
    assertMessage("3 rows but the weight has 2 inputs",
        () -> Gptq.quantize(w, shape, new double[3][3], INT8_CHANNEL));
    assertMessage("not positive definite after damping",
        () -> Gptq.quantize(w, shape, new double[][] {{1, 2}, {2, 1}}, INT8_CHANNEL));
    assertMessage("not symmetric", () -> Gptq.quantize(w, shape, new double[][] {{2, 1}, {0, 2}}, INT8_CHANNEL));
    assertMessage("entry [1, 1] is Infinity",
        () -> Gptq.quantize(w, shape, new double[][] {{1, 0}, {0, Double.POSITIVE_INFINITY}}, INT8_CHANNEL));
    assertMessage("holds 6 values, got 5", () -> Gptq.quantize(new float[5], shape, id, INT8_CHANNEL));
    assertMessage("2-D", () -> Gptq.quantize(w, new long[] {6}, id, INT8_CHANNEL));
    assertMessage("damping", () -> Gptq.quantize(w, shape, id, INT8_CHANNEL, -1, 128));
  }

  private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should contain '" + part + "'");
  }

  /** A random layer: weights, inputs X ([n, in], correlated through 4 shared factors) and H = X^T X. */
  @Test
  void aLazyBatchOfOneAndNoDampingAreAccepted() {
    Layer layer = Layer.random(12, 3, 60, 99, -1);
    Gptq.Result batched = Gptq.quantize(layer.w, layer.shape(), layer.h, INT8_CHANNEL, 0.01, 128);
    // the lazy batch only groups updates: one row at a time gives the same integers
    assertArrayEquals(batched.codes(), Gptq.quantize(layer.w, layer.shape(), layer.h, INT8_CHANNEL, 0.01, 1).codes());
    // 60 noisy rows of 12 inputs: H is positive definite without damping
    Gptq.Result undamped = Gptq.quantize(layer.w, layer.shape(), layer.h, INT8_CHANNEL, 0.0, 128);
    assertEquals(36, undamped.codes().length);
    assertThrows(IllegalArgumentException.class,
        () -> Gptq.quantize(layer.w, layer.shape(), layer.h, INT8_CHANNEL, -0.01, 128));
    assertThrows(IllegalArgumentException.class,
        () -> Gptq.quantize(layer.w, layer.shape(), layer.h, INT8_CHANNEL, 0.01, 0));
  }

  @Test
  void aHessianOfZerosMakesEveryInputDeadAndSymmetryIsCheckedRelativeToItsLargestEntry() {
    Layer layer = Layer.random(6, 2, 40, 7, -1);
    // no input ever non-zero: every row is dead, as in the reference, and quantized to the zero point 0
    assertArrayEquals(new long[12], Gptq.quantize(layer.w, layer.shape(), new double[6][6], INT8_CHANNEL).codes());
    // H scaled to entries near 1e6: an asymmetry of 1e-4 (1e-10 of the largest) is rounding, 1e-2 is not
    double[][] big = new double[6][6];
    double max = 0;
    for (int i = 0; i < 6; i++) {
      for (int k = 0; k < 6; k++) {
        big[i][k] = layer.h[i][k] * 1e6;
        max = Math.max(max, Math.abs(big[i][k]));
      }
    }
    big[0][1] += 1e-10 * max;
    Gptq.quantize(layer.w, layer.shape(), big, INT8_CHANNEL);
    big[0][1] += 1e-8 * max;
    IllegalArgumentException asym = assertThrows(IllegalArgumentException.class,
        () -> Gptq.quantize(layer.w, layer.shape(), big, INT8_CHANNEL));
    assertTrue(asym.getMessage().startsWith("Hessian is not symmetric: [1, 0]"), asym.getMessage());
  }

  @Test
  void shapesAreCheckedAndOneInputIsEnough() {
    double[][] h1 = {{4.0}};
    Gptq.Result one = Gptq.quantize(new float[] {0.5f, -1f, 0.25f}, new long[] {1, 3}, h1, INT8_CHANNEL);
    // one input: nothing to move the error to, so GPTQ is round to nearest: 127 * w / |w|
    assertArrayEquals(new long[] {127, -127, 127}, one.codes());
    // one output column works too: [2, 1], H diagonal (no error to move between uncorrelated inputs)
    Gptq.Result column = Gptq.quantize(new float[] {1f, -0.5f}, new long[] {2, 1}, new double[][] {{1, 0}, {0, 1}},
        INT8_CHANNEL);
    assertArrayEquals(new long[] {127, -64}, column.codes());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Gptq.quantize(new float[3], new long[] {0, 3}, new double[0][0], INT8_CHANNEL));
    assertTrue(e.getMessage().startsWith("GPTQ needs a 2-D [in, out] weight"), e.getMessage());
    IllegalArgumentException n = assertThrows(IllegalArgumentException.class,
        () -> Gptq.quantize(new float[5], new long[] {2, 3}, new double[2][2], INT8_CHANNEL));
    assertEquals("weight shape [2, 3] holds 6 values, got 5", n.getMessage());
    IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
        () -> Gptq.quantize(new float[] {1f, Float.NaN}, new long[] {1, 2}, h1, INT8_CHANNEL));
    assertEquals("weight value at flat index 1 is NaN", f.getMessage());
  }

  private record Layer(float[] w, int in, int out, double[][] x, double[][] h) {
    static Layer random(int in, int out, int n, long seed, int deadInput) {
      Random r = new Random(seed);
      float[] w = gaussian(r, in * out, 0.1);
      double[][] mix = new double[4][in];
      for (double[] m : mix) {
        for (int i = 0; i < in; i++) {
          m[i] = r.nextGaussian();
        }
      }
      double[][] x = new double[n][in];
      for (double[] row : x) {
        double[] f = {r.nextGaussian(), r.nextGaussian(), r.nextGaussian(), r.nextGaussian()};
        for (int i = 0; i < in; i++) {
          row[i] = i == deadInput ? 0 : f[0] * mix[0][i] + f[1] * mix[1][i] + f[2] * mix[2][i] + f[3] * mix[3][i]
              + 0.1 * r.nextGaussian();
        }
      }
      double[][] h = new double[in][in];
      for (double[] row : x) {
        for (int a = 0; a < in; a++) {
          for (int b = 0; b < in; b++) {
            h[a][b] += row[a] * row[b];
          }
        }
      }
      return new Layer(w, in, out, x, h);
    }

    long[] shape() {
      return new long[] {in, out};
    }

    /** {@code ||X W - X W'||^2} in double. */
    double outputError(float[] wq) {
      double sum = 0;
      for (double[] row : x) {
        for (int j = 0; j < out; j++) {
          double d = 0;
          for (int i = 0; i < in; i++) {
            d += row[i] * ((double) w[i * out + j] - wq[i * out + j]);
          }
          sum += d * d;
        }
      }
      return sum;
    }
  }

  private static float[] gaussian(Random r, int n, double sd) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * sd);
    }
    return v;
  }

  private static float[] dequantize(long[] codes, QuantParams p, long[] shape) {
    int[] k = LinearQuant.paramIndices(shape, p);
    float[] out = new float[codes.length];
    for (int i = 0; i < codes.length; i++) {
      out[i] = LinearQuant.dequantize(codes[i], p.scale(k[i]), p.zeroPoint(k[i]));
    }
    return out;
  }

  private record Reference(long[] codes, QuantParams params) {}

  /**
   * GPTQ as first written: H^-1 by Gauss-Jordan elimination; for each input i in order, quantize row i,
   * move its error {@code (w_i - q_i) / Hinv_ii} onto the later rows k by {@code Hinv_ik}, then remove i
   * from Hinv ({@code Hinv -= Hinv[:, i] Hinv[i, :] / Hinv_ii}). Block scales from the block's current rows.
   */
  private static Reference reference(float[] w0, int in, int out, double[][] h0, WeightSpec spec) {
    long[] shape = {in, out};
    int block = spec.blockSize();
    QuantParams fixed = block > 0 ? null : spec.perChannel() ? LinearQuant.weightParams(w0, shape, 1, spec.type())
        : LinearQuant.weightParamsPerTensor(w0, spec.type());
    double[][] w = new double[in][out];
    double[][] h = new double[in][in];
    double diag = 0;
    for (int i = 0; i < in; i++) {
      h[i] = h0[i].clone();
      for (int j = 0; j < out; j++) {
        w[i][j] = w0[i * out + j];
      }
      if (h[i][i] == 0) {
        h[i][i] = 1;
        w[i] = new double[out];
      }
      diag += h[i][i];
    }
    for (int i = 0; i < in; i++) {
      h[i][i] += 0.01 * diag / in;
    }
    double[][] hinv = gaussJordanInverse(h);
    int blocks = block > 0 ? (in + block - 1) / block : 0;
    float[] scale = new float[blocks * out];
    long[] zp = new long[blocks * out];
    long[] codes = new long[in * out];
    for (int i = 0; i < in; i++) {
      for (int j = 0; j < out; j++) {
        float s;
        long z;
        if (fixed != null) {
          s = fixed.scale(fixed.perChannel() ? j : 0);
          z = fixed.zeroPoint(fixed.perChannel() ? j : 0);
        } else {
          int b = i / block;
          if (i % block == 0) {
            float mx = 0;
            for (int k = i; k < Math.min(i + block, in); k++) {
              mx = Math.max(mx, Math.abs((float) w[k][j]));
            }
            QuantParams p = LinearQuant.forRange(-mx, mx, spec.type(), true);
            scale[b * out + j] = p.scale(0);
            zp[b * out + j] = p.zeroPoint(0);
          }
          s = scale[b * out + j];
          z = zp[b * out + j];
        }
        long q = LinearQuant.quantize((float) w[i][j], s, z, spec.type().qmin(), spec.type().qmax());
        codes[i * out + j] = q;
        double err = (w[i][j] - (double) (s * (float) (q - z))) / hinv[i][i];
        for (int k = i + 1; k < in; k++) {
          w[k][j] -= err * hinv[i][k];
        }
      }
      eliminate(hinv, i);
    }
    return new Reference(codes, fixed != null ? fixed : new QuantParams(scale, zp, spec.type(), 0, block));
  }

  /** Removes input i from the inverse: {@code Hinv_ab -= Hinv_ai Hinv_ib / Hinv_ii} for a, b after i. */
  private static void eliminate(double[][] hinv, int i) {
    int n = hinv.length;
    double p = hinv[i][i];
    for (int a = i + 1; a < n; a++) {
      double f = hinv[a][i] / p;
      for (int b = i + 1; b < n; b++) {
        hinv[a][b] -= f * hinv[i][b];
      }
    }
  }

  private static double[][] gaussJordanInverse(double[][] m) {
    int n = m.length;
    double[][] a = new double[n][2 * n];
    for (int i = 0; i < n; i++) {
      System.arraycopy(m[i], 0, a[i], 0, n);
      a[i][n + i] = 1;
    }
    for (int c = 0; c < n; c++) {
      int piv = c;
      for (int r = c + 1; r < n; r++) {
        if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) {
          piv = r;
        }
      }
      double[] t = a[c];
      a[c] = a[piv];
      a[piv] = t;
      double d = a[c][c];
      for (int k = 0; k < 2 * n; k++) {
        a[c][k] /= d;
      }
      for (int r = 0; r < n; r++) {
        if (r != c && a[r][c] != 0) {
          double f = a[r][c];
          for (int k = 0; k < 2 * n; k++) {
            a[r][k] -= f * a[c][k];
          }
        }
      }
    }
    double[][] inv = new double[n][n];
    for (int i = 0; i < n; i++) {
      System.arraycopy(a[i], n, inv[i], 0, n);
    }
    return inv;
  }
}
