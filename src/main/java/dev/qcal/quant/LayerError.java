package dev.qcal.quant;

/**
 * How well a quantized weight {@code W'} ({@code [in, out]}) reproduces a layer's output on its calibration inputs,
 * from their Hessian {@code H = sum x x^T} alone: {@code sum ||x W||^2 = sum_j w_j^T H w_j} and
 * {@code sum ||x (W - W')||^2 = sum_j d_j^T H d_j}, over the output columns {@code j}. Their ratio in dB is the
 * layer's output SQNR on the calibration data, for round to nearest and GPTQ alike.
 */
public final class LayerError {
  private LayerError() {}

  /**
   * The output SQNR in dB of {@code codes} with {@code params} (as {@link LinearQuant#quantizeAll} lays them out)
   * against {@code weight}, for inputs whose Hessian is {@code h}; infinite when the output error is 0.
   */
  public static double outputSqnrDb(float[] weight, long[] shape, long[] codes, QuantParams params, double[][] h) {
    int in = (int) shape[0];
    int out = (int) shape[1];
    if (weight.length != in * out || codes.length != weight.length || h.length != in) {
      throw new IllegalArgumentException("weight " + weight.length + " values, codes " + codes.length
          + ", Hessian " + h.length + " rows for shape [" + in + ", " + out + "]");
    }
    int[] p = LinearQuant.paramIndices(shape, params);
    double[] w = new double[in];
    double[] d = new double[in];
    double signal = 0;
    double error = 0;
    for (int j = 0; j < out; j++) {
      for (int i = 0; i < in; i++) {
        int k = i * out + j;
        w[i] = weight[k];
        d[i] = weight[k] - (double) LinearQuant.dequantize(codes[k], params.scale(p[k]), params.zeroPoint(p[k]));
      }
      signal += quadratic(h, w);
      error += quadratic(h, d);
    }
    return error == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(signal / error);
  }

  /** {@code v^T h v}. */
  private static double quadratic(double[][] h, double[] v) {
    double s = 0;
    for (int a = 0; a < v.length; a++) {
      double row = 0;
      for (int b = 0; b < v.length; b++) {
        row += h[a][b] * v[b];
      }
      s += v[a] * row;
    }
    return s;
  }

  /** Round to nearest in the scheme {@code spec} gives a {@code [in, out]} weight: its codes and params. */
  public static Gptq.Result roundToNearest(float[] weight, long[] shape, WeightSpec spec) {
    QuantParams p = Gptq.roundToNearestParams(weight, shape, spec);
    return new Gptq.Result(LinearQuant.quantizeAll(weight, shape, p), p);
  }
}
