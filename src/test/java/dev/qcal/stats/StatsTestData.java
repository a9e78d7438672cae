package dev.qcal.stats;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Random activations and brute-force oracles for the statistics tests. */
final class StatsTestData {
  private StatsTestData() {}

  /** Kinds of value distributions, including the edge cases the state must handle. */
  enum Kind {
    GAUSSIAN_WITH_SPECIALS, CONSTANT, HUGE, TINY_AND_SUBNORMAL, NEGATIVE_ONLY, POSITIVE_ONLY, ALL_MAGNITUDES,
    RELU_WITH_SIGNED_ZEROS, ONLY_NON_FINITE
  }

  /** One value generator per test case: a constant kind draws its constant once. */
  static final class Values {
    final Kind kind;
    final Random r;
    final float constant;

    Values(Kind kind, Random r) {
      this.kind = kind;
      this.r = r;
      this.constant = switch (r.nextInt(4)) {
        case 0 -> 0f;
        case 1 -> Float.MIN_VALUE;
        case 2 -> -1e38f;
        default -> (float) r.nextGaussian();
      };
    }

    float next() {
      int special = r.nextInt(100);
      if (kind == Kind.ONLY_NON_FINITE || special < 3 && kind != Kind.CONSTANT) {
        return switch (r.nextInt(3)) {
          case 0 -> Float.NaN;
          case 1 -> Float.POSITIVE_INFINITY;
          default -> Float.NEGATIVE_INFINITY;
        };
      }
      return switch (kind) {
        case GAUSSIAN_WITH_SPECIALS -> (float) (r.nextGaussian() * 3 + (r.nextInt(50) == 0 ? 40 : 0));
        case CONSTANT -> constant;
        case HUGE -> (float) (r.nextGaussian() * 1e38);
        case TINY_AND_SUBNORMAL -> r.nextBoolean()
            ? (float) (r.nextGaussian() * 1e-38)
            : Float.MIN_VALUE * (r.nextInt(2001) - 1000);
        case NEGATIVE_ONLY -> -1e-3f - (float) Math.abs(r.nextGaussian() * 5);
        case POSITIVE_ONLY -> 7f + (float) Math.abs(r.nextGaussian());
        case ALL_MAGNITUDES -> (r.nextBoolean() ? 1 : -1) * Math.scalb(1f + r.nextFloat(), r.nextInt(277) - 149);
        case RELU_WITH_SIGNED_ZEROS -> switch (r.nextInt(3)) {
          case 0 -> 0f;
          case 1 -> -0f;
          default -> (float) Math.abs(r.nextGaussian());
        };
        case ONLY_NON_FINITE -> throw new AssertionError();
      };
    }

    float[] next(int n) {
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = next();
      }
      return v;
    }
  }

  /** One batch: values and shape. */
  record Batch(float[] values, long[] shape) {
    FloatBuffer heap() {
      return FloatBuffer.wrap(values);
    }

    /** A direct buffer like ONNX Runtime's, with its window not starting at 0. */
    FloatBuffer direct() {
      FloatBuffer b = ByteBuffer.allocateDirect((values.length + 3) * 4).order(ByteOrder.nativeOrder())
          .asFloatBuffer();
      b.position(2);
      b.put(values);
      b.position(2).limit(2 + values.length);
      return b;
    }
  }

  /**
   * Samples of shape {@code [C, rest..]} with the last dimension drawn from {@code widths}; grouped
   * into batches of 1..maxBatch consecutive samples of equal shape.
   */
  static List<Batch> batches(Values v, int samples, int channels, int[] rest, int[] widths, int maxBatch) {
    List<Batch> out = new ArrayList<>();
    int i = 0;
    while (i < samples) {
      int w = widths[v.r.nextInt(widths.length)];
      int n = Math.min(samples - i, 1 + v.r.nextInt(maxBatch));
      long[] shape = new long[rest.length + 3];
      shape[0] = n;
      shape[1] = channels;
      for (int k = 0; k < rest.length; k++) {
        shape[2 + k] = rest[k];
      }
      shape[shape.length - 1] = w;
      int size = 1;
      for (long d : shape) {
        size *= (int) d;
      }
      out.add(new Batch(v.next(size), shape));
      i += n;
    }
    return out;
  }

  /** The same samples, each as its own batch of 1 (a different batch size). */
  static List<Batch> oneByOne(List<Batch> batches) {
    List<Batch> out = new ArrayList<>();
    for (Batch b : batches) {
      int per = b.values().length / (int) b.shape()[0];
      for (int s = 0; s < b.shape()[0]; s++) {
        long[] shape = b.shape().clone();
        shape[0] = 1;
        float[] v = new float[per];
        System.arraycopy(b.values(), s * per, v, 0, per);
        out.add(new Batch(v, shape));
      }
    }
    return out;
  }

  /** Values of channel {@code c} (along {@code axis}) over all batches, by index arithmetic. */
  static List<Float> channelValues(List<Batch> batches, int axis, int c) {
    List<Float> out = new ArrayList<>();
    for (Batch b : batches) {
      long[] s = b.shape();
      int[] strides = new int[s.length];
      int st = 1;
      for (int k = s.length - 1; k >= 0; k--) {
        strides[k] = st;
        st *= (int) s[k];
      }
      for (int i = 0; i < b.values().length; i++) {
        if ((i / strides[axis]) % s[axis] == c) {
          out.add(b.values()[i]);
        }
      }
    }
    return out;
  }

  static List<Float> allValues(List<Batch> batches) {
    List<Float> out = new ArrayList<>();
    for (Batch b : batches) {
      for (float x : b.values()) {
        out.add(x);
      }
    }
    return out;
  }

  // ---- brute-force histogram oracle with exact decimal arithmetic ----

  private static final BigDecimal TWO_53 = new BigDecimal(BigInteger.ONE.shiftLeft(53));

  /** v * 2^-e, exactly. */
  static BigDecimal scaled(float v, int e) {
    BigDecimal x = new BigDecimal((double) v);
    BigDecimal p = new BigDecimal(BigInteger.ONE.shiftLeft(Math.abs(e)));
    return e <= 0 ? x.multiply(p) : x.divide(p);
  }

  static long floorIndex(float v, int e) {
    return scaled(v, e).setScale(0, RoundingMode.FLOOR).longValueExact();
  }

  /** E*(lo, hi) by trying every exponent from E_MIN up, in exact arithmetic. */
  static int exponentOracle(float lo, float hi, int maxBins) {
    float mag = Math.max(Math.abs(lo), Math.abs(hi));
    for (int e = Histogram.E_MIN; e <= Histogram.E_MAX; e++) {
      if (scaled(mag, e).compareTo(TWO_53) >= 0) {
        continue;
      }
      BigDecimal span = scaled(hi, e).setScale(0, RoundingMode.FLOOR)
          .subtract(scaled(lo, e).setScale(0, RoundingMode.FLOOR)).add(BigDecimal.ONE);
      if (span.compareTo(BigDecimal.valueOf(maxBins)) <= 0) {
        return e;
      }
    }
    throw new AssertionError("no exponent for [" + lo + ", " + hi + "]");
  }

  /** The expected histogram of the finite values: exponent, firstBin, counts; null when none. */
  record HistOracle(int exponent, long firstBin, long[] counts, long total) {}

  static HistOracle histogramOracle(List<Float> values, int maxBins) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    long n = 0;
    for (float v : values) {
      if (Float.isFinite(v)) {
        // zero extremes are recorded as +0.0, whatever the sign of the zeros seen
        float z = v == 0f ? 0f : v;
        lo = Float.compare(z, lo) < 0 ? z : lo;
        hi = Float.compare(z, hi) > 0 ? z : hi;
        n++;
      }
    }
    if (n == 0) {
      return null;
    }
    int e = exponentOracle(lo, hi, maxBins);
    long first = floorIndex(lo, e);
    long[] counts = new long[(int) (floorIndex(hi, e) - first + 1)];
    for (float v : values) {
      if (Float.isFinite(v)) {
        counts[(int) (floorIndex(v, e) - first)]++;
      }
    }
    return new HistOracle(e, first, counts, n);
  }
}
