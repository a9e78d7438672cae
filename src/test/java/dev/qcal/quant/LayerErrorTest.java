package dev.qcal.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The layer output SQNR from the Hessian equals the one computed from the input rows themselves. */
class LayerErrorTest {

  @Test
  void sqnrFromTheHessianEqualsTheRowsOutputSqnr() {
    Random r = new Random(3);
    int in = 40;
    int out = 4;
    int rows = 50;
    double[][] x = new double[rows][in];
    for (double[] row : x) {
      for (int i = 0; i < in; i++) {
        row[i] = r.nextGaussian() * (1 + i);
      }
    }
    float[] w = new float[in * out];
    for (int k = 0; k < w.length; k++) {
      w[k] = (float) r.nextGaussian();
    }
    long[] shape = {in, out};
    for (WeightSpec spec : new WeightSpec[] {new WeightSpec(QuantType.INT4, true, 0),
        new WeightSpec(QuantType.INT8, false, 0), new WeightSpec(QuantType.INT4, true, 16)}) {
      Gptq.Result q = LayerError.roundToNearest(w, shape, spec);
      // the oracle: x W and x W' row by row, W' dequantized here from the codes and the scales by hand, in float
      // as DequantizeLinear does
      double signal = 0;
      double error = 0;
      for (double[] row : x) {
        for (int j = 0; j < out; j++) {
          double y = 0;
          double yq = 0;
          for (int i = 0; i < in; i++) {
            int k = i * out + j;
            int param = spec.blockSize() > 0 ? (i / spec.blockSize()) * out + j : spec.perChannel() ? j : 0;
            float wq = q.params().scale(param) * (float) (q.codes()[k] - q.params().zeroPoint(param));
            y += row[i] * w[k];
            yq += row[i] * wq;
          }
          signal += y * y;
          error += (y - yq) * (y - yq);
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
      assertEquals(10 * Math.log10(signal / error), LayerError.outputSqnrDb(w, shape, q.codes(), q.params(), h), 1e-6,
          spec.toString());
    }
  }

  @Test
  void anExactWeightIsInfiniteAndSizesAreChecked() {
    float[] w = {1, -1, 0.5f, 0};
    long[] shape = {2, 2};
    QuantParams p = QuantParams.perTensor(0.5f, 0, QuantType.INT8);
    double[][] h = {{2, 1}, {1, 3}};
    assertEquals(Double.POSITIVE_INFINITY, LayerError.outputSqnrDb(w, shape, new long[] {2, -2, 1, 0}, p, h));
    assertThrows(IllegalArgumentException.class,
        () -> LayerError.outputSqnrDb(w, shape, new long[] {2, -2, 1}, p, h));
  }
}
