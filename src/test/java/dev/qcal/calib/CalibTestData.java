package dev.qcal.calib;

import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.TensorStats;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/** Raw samples with fixed seeds, their statistics through the public API, and brute-force oracles. */
final class CalibTestData {
  static final int N = 200_000;

  private CalibTestData() {}

  /** The distributions of the oracle tests. */
  enum Dist {
    UNIFORM, GAUSSIAN, LAPLACE, BIMODAL, HEAVY_TAILED_WITH_OUTLIERS, RELU
  }

  private static final Map<Dist, Sample> CACHE = new ConcurrentHashMap<>();

  /** Samples, sorted copies and merged statistics of one distribution. */
  static final class Sample {
    final Dist dist;
    final float[] x;
    final double[] sorted;
    final double[] sortedAbs;
    final TensorStats stats;
    private final double[] sx;
    private final double[] sxx;

    Sample(Dist dist, float[] x) {
      this.dist = dist;
      this.x = x;
      sorted = new double[x.length];
      sortedAbs = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        sorted[i] = x[i];
        sortedAbs[i] = Math.abs((double) x[i]);
      }
      Arrays.sort(sorted);
      Arrays.sort(sortedAbs);
      sx = new double[x.length + 1];
      sxx = new double[x.length + 1];
      for (int i = 0; i < x.length; i++) {
        sx[i + 1] = sx[i] + sorted[i];
        sxx[i + 1] = sxx[i] + sorted[i] * sorted[i];
      }
      stats = stats(dist.name(), x);
    }

    double binWidth() {
      return stats.histogram().binWidth();
    }

    double maxAbs() {
      return sortedAbs[sortedAbs.length - 1];
    }

    /**
     * Exact mean squared quantize-dequantize error of all samples under {@code p}, from the sorted
     * samples and prefix sums: the values between the decision boundaries of level q, {@code S (q - Z
     * +- 1/2)} (the outermost levels unbounded), all dequantize to {@code S (q - Z)}.
     */
    double rawMse(QuantParams p) {
      double s = p.scale(0);
      long z = p.zeroPoint(0);
      long qmin = p.type().qmin();
      long qmax = p.type().qmax();
      double sse = 0;
      int from = 0;
      for (long q = qmin; q <= qmax && from < sorted.length; q++) {
        int to = q == qmax ? sorted.length : lowerBound(s * (q - z + 0.5));
        if (to > from) {
          double v = s * (q - z);
          int n = to - from;
          double sum = sx[to] - sx[from];
          double sumSq = sxx[to] - sxx[from];
          sse += sumSq - 2 * v * sum + n * v * v;
        }
        from = Math.max(from, to);
      }
      return Math.max(0, sse) / sorted.length;
    }

    private int lowerBound(double v) {
      int lo = 0;
      int hi = sorted.length;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (sorted[mid] < v) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return lo;
    }
  }

  static Sample sample(Dist d) {
    return CACHE.computeIfAbsent(d, k -> new Sample(k, generate(k, N, 1000 + k.ordinal())));
  }

  static float[] generate(Dist d, int n, long seed) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = switch (d) {
        case UNIFORM -> (float) (-1 + 4 * r.nextDouble());
        case GAUSSIAN -> (float) (0.5 + r.nextGaussian());
        case LAPLACE -> {
          double u = r.nextDouble() - 0.5;
          yield (float) (-Math.signum(u) * Math.log(1 - 2 * Math.abs(u)));
        }
        case BIMODAL -> (float) (r.nextBoolean() ? -2 + 0.5 * r.nextGaussian() : 3 + 0.7 * r.nextGaussian());
        case HEAVY_TAILED_WITH_OUTLIERS -> {
          if (i % 10_000 == 0) {
            yield (float) ((r.nextBoolean() ? 1 : -1) * (30 + 30 * r.nextDouble()));
          }
          // Student t with 3 degrees of freedom
          double chi = 0;
          for (int k = 0; k < 3; k++) {
            double g = r.nextGaussian();
            chi += g * g;
          }
          yield (float) (r.nextGaussian() / Math.sqrt(chi / 3));
        }
        case RELU -> (float) Math.max(0, r.nextGaussian());
      };
    }
    return x;
  }

  /** Per-tensor statistics of {@code x} built through the public API, in a few batches. */
  static TensorStats stats(String name, float[] x) {
    TensorStats s = TensorStats.empty(name, StatsConfig.defaults());
    int batch = 50_000;
    for (int off = 0; off < x.length; off += batch) {
      int len = Math.min(batch, x.length - off);
      s.add(FloatBuffer.wrap(x, off, len).slice(), new long[] {len});
    }
    return s;
  }

  /** Brute-force mean squared quantize-dequantize error, one value at a time. */
  static double directMse(float[] x, QuantParams p) {
    double sse = 0;
    for (float v : x) {
      float back = LinearQuant.dequantize(LinearQuant.quantize(v, p, 0), p.scale(0), p.zeroPoint(0));
      double d = (double) v - back;
      sse += d * d;
    }
    return sse / x.length;
  }

  /** numpy's {@code inverted_cdf} percentile: the order statistic {@code x_(ceil(f n))}, f in [0, 1]. */
  static double invertedCdf(double[] sorted, double f) {
    long k = (long) Math.ceil(f * sorted.length);
    return sorted[(int) Math.max(0, Math.min(sorted.length - 1, k - 1))];
  }
}
