package dev.qcal.quant;

/**
 * The linear quantization scheme {@code q = clamp(round(x / S) + Z, qmin, qmax)},
 * {@code x' = S (q - Z)}, with the rules of ONNX Runtime's Python quantizer
 * ({@code quant_utils.compute_scale_zp}, {@code quantize_data}, {@code quantize_bias_static}) so that
 * qcal's parameters equal the reference tool's for the same ranges:
 *
 * <ul>
 *   <li>the range is widened to include zero ({@code rmin <= 0 <= rmax}), so zero is exact;
 *   <li>symmetric: {@code rmax = -rmin = max(|rmin|, |rmax|)}, {@code Z = round((qmin + qmax) / 2)};
 *       signed symmetric types use the restricted range {@code [-(2^(b-1) - 1), 2^(b-1) - 1]};
 *   <li>{@code S = (rmax - rmin) / (qmax - qmin)}, the difference taken in float and the division in
 *       double, then stored as float; {@code Z = round(qmin - rmin / S)} with S still in double;
 *   <li>a range narrower than the smallest normal float (a constant-zero tensor) gives S = 1, Z = 0;
 *   <li>rounding is half to even ({@code numpy.round}).
 * </ul>
 *
 * <p><b>Power-of-two scales</b> (optional, for fixed-point accelerators whose requantization is a
 * shift: the non-linear "scale rounded up to 2^k" option): the float scale S above is replaced by
 * {@code 2^ceil(log2 S)}, the smallest power of two {@code >= S}, so the range still fits (rounded up,
 * never down, nothing more is clipped); the zero point is then recomputed with the same rule from the
 * new scale, {@code Z = round(qmin - rmin / 2^k)} (asymmetric) or the mid-range (symmetric). The
 * quantized grid may then cover up to twice the range, which costs up to one bit of resolution.
 *
 * <p><b>Weights</b> are symmetric: per tensor, per channel, or per block ({@link #blockWeightParams}):
 * each block of B consecutive values along the reduction axis gets the parameters of its own
 * {@code [min, max]} with the same rules (signed: {@code S = absmax / qmax}, Z = 0; so int4 uses
 * {@code [-7, 7]}). ONNX Runtime's MatMulNBits quantizer instead maps the block's signed absmax to -8
 * ({@code S = max / -8}); qcal keeps one rule for every granularity.
 */
public final class LinearQuant {

  private LinearQuant() {}

  /** The integer range used for {@code type}: restricted when symmetric and signed, halved by reduceRange. */
  public static long[] qrange(QuantType type, boolean symmetric, boolean reduceRange) {
    if (reduceRange) {
      return switch (type) {
        case UINT8 -> new long[] {0, 127};
        case INT8 -> new long[] {-64, 64};
        default -> throw new IllegalArgumentException("reduce_range applies to 8-bit types only, not " + type.id());
      };
    }
    if (symmetric && type.signed()) {
      return new long[] {-type.qmax(), type.qmax()};
    }
    return new long[] {type.qmin(), type.qmax()};
  }

  /** Per-tensor parameters for the observed range {@code [rmin, rmax]}. */
  public static QuantParams forRange(float rmin, float rmax, QuantType type, boolean symmetric) {
    return forRange(rmin, rmax, type, symmetric, false);
  }

  public static QuantParams forRange(
      float rmin, float rmax, QuantType type, boolean symmetric, boolean reduceRange) {
    return forRange(rmin, rmax, type, symmetric, reduceRange, false);
  }

  /** As {@link #forRange(float, float, QuantType, boolean, boolean)}, optionally with a power-of-two scale. */
  public static QuantParams forRange(
      float rmin, float rmax, QuantType type, boolean symmetric, boolean reduceRange, boolean powerOfTwoScale) {
    double[] sz = scaleZeroPoint(rmin, rmax, type, symmetric, reduceRange, powerOfTwoScale);
    return QuantParams.perTensor((float) sz[0], (long) sz[1], type);
  }

  /** The smallest power of two {@code >= s} for finite {@code s > 0} (s itself when it is one). */
  public static float powerOfTwoCeil(float s) {
    if (!(s > 0) || !Float.isFinite(s)) {
      throw new IllegalArgumentException("scale must be finite and > 0, got " + s);
    }
    float p = Math.scalb(1f, Math.getExponent(s));
    if (Math.getExponent(s) < Float.MIN_EXPONENT) {
      // subnormal: find the power of two by doubling from the smallest float
      p = Float.MIN_VALUE;
      while (p < s) {
        p *= 2;
      }
      return p;
    }
    return p == s ? p : 2 * p;
  }

  /**
   * Per-channel parameters: channel {@code c} gets the parameters of {@code [rmin[c], rmax[c]]}.
   */
  public static QuantParams forRanges(
      float[] rmin, float[] rmax, QuantType type, boolean symmetric, int axis) {
    return forRanges(rmin, rmax, type, symmetric, axis, false);
  }

  /** As {@link #forRanges(float[], float[], QuantType, boolean, int)}, optionally with power-of-two scales. */
  public static QuantParams forRanges(
      float[] rmin, float[] rmax, QuantType type, boolean symmetric, int axis, boolean powerOfTwoScale) {
    if (rmin.length != rmax.length) {
      throw new IllegalArgumentException("rmin and rmax lengths differ: " + rmin.length + " != " + rmax.length);
    }
    float[] scale = new float[rmin.length];
    long[] zp = new long[rmin.length];
    for (int c = 0; c < rmin.length; c++) {
      double[] sz = scaleZeroPoint(rmin[c], rmax[c], type, symmetric, false, powerOfTwoScale);
      scale[c] = (float) sz[0];
      zp[c] = (long) sz[1];
    }
    return new QuantParams(scale, zp, type, axis);
  }

  private static double[] scaleZeroPoint(
      float rmin, float rmax, QuantType type, boolean symmetric, boolean reduceRange, boolean powerOfTwoScale) {
    if (Float.isNaN(rmin) || Float.isNaN(rmax) || Float.isInfinite(rmin) || Float.isInfinite(rmax)) {
      throw new IllegalArgumentException("range must be finite, got [" + rmin + ", " + rmax + "]");
    }
    if (rmin > rmax) {
      throw new IllegalArgumentException("empty range: min " + rmin + " > max " + rmax);
    }
    long[] q = qrange(type, symmetric, reduceRange);
    long qmin = q[0];
    long qmax = q[1];
    rmin = Math.min(rmin, 0f);
    rmax = Math.max(rmax, 0f);
    if (symmetric) {
      float absmax = Math.max(Math.abs(rmin), Math.abs(rmax));
      rmin = -absmax;
      rmax = absmax;
    }
    double dr = (double) (rmax - rmin);
    double scale = dr / ((double) qmax - (double) qmin);
    if (scale < Float.MIN_NORMAL) {
      return new double[] {1.0, 0};
    }
    if (powerOfTwoScale) {
      scale = powerOfTwoCeil((float) scale);
    }
    double zp = symmetric ? Math.rint((qmin + qmax) / 2.0) : Math.rint(qmin - rmin / scale);
    return new double[] {(float) scale, zp};
  }

  /** {@code clamp(round(x / scale) + zp)}; the division in float as ONNX Runtime does it. */
  public static long quantize(float x, float scale, long zeroPoint, long qmin, long qmax) {
    double r = Math.rint(x / scale) + zeroPoint;
    if (r < qmin) {
      return qmin;
    }
    if (r > qmax) {
      return qmax;
    }
    return (long) r;
  }

  public static long quantize(float x, QuantParams p, int channel) {
    return quantize(x, p.scale(channel), p.zeroPoint(channel), p.type().qmin(), p.type().qmax());
  }

  public static float dequantize(long q, float scale, long zeroPoint) {
    return scale * (float) (q - zeroPoint);
  }

  /**
   * Symmetric per-channel parameters for a weight tensor, one channel per index along {@code axis}
   * (ONNX Runtime's {@code quantize_data} with {@code symmetric=True} applied per channel).
   */
  public static QuantParams weightParams(float[] data, long[] shape, int axis, QuantType type) {
    Strides st = Strides.of(data, shape, axis);
    float[] mn = new float[st.channels];
    float[] mx = new float[st.channels];
    java.util.Arrays.fill(mn, Float.POSITIVE_INFINITY);
    java.util.Arrays.fill(mx, Float.NEGATIVE_INFINITY);
    for (int i = 0; i < data.length; i++) {
      int c = st.channelOf(i);
      float v = data[i];
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException("weight value at flat index " + i + " is " + v);
      }
      mn[c] = Math.min(mn[c], v);
      mx[c] = Math.max(mx[c], v);
    }
    return forRanges(mn, mx, type, true, axis);
  }

  /** Symmetric per-tensor parameters for a weight tensor (its whole {@code [min, max]}). */
  public static QuantParams weightParamsPerTensor(float[] data, QuantType type) {
    float mn = Float.POSITIVE_INFINITY;
    float mx = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < data.length; i++) {
      float v = data[i];
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException("weight value at flat index " + i + " is " + v);
      }
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
    }
    if (data.length == 0) {
      mn = 0;
      mx = 0;
    }
    return forRange(mn, mx, type, true);
  }

  /**
   * The shape of blocked scales and zero points: {@code shape} with {@code shape[axis]} replaced by
   * {@code ceil(shape[axis] / blockSize)}.
   */
  public static long[] blockParamDims(long[] shape, int axis, int blockSize) {
    if (axis < 0 || axis >= shape.length) {
      throw new IllegalArgumentException("axis " + axis + " out of range for rank " + shape.length);
    }
    if (blockSize < 1) {
      throw new IllegalArgumentException("block size must be >= 1, got " + blockSize);
    }
    long[] d = shape.clone();
    d[axis] = (shape[axis] + blockSize - 1) / blockSize;
    return d;
  }

  /**
   * Symmetric blocked parameters: along {@code axis}, each run of {@code blockSize} values (the last one
   * possibly shorter) gets the parameters of its own {@code [min, max]}; scales laid out as
   * {@link #blockParamDims}.
   */
  public static QuantParams blockWeightParams(float[] data, long[] shape, int axis, int blockSize, QuantType type) {
    Blocks b = Blocks.of(data.length, shape, axis, blockSize);
    float[] mn = new float[b.count()];
    float[] mx = new float[b.count()];
    java.util.Arrays.fill(mn, Float.POSITIVE_INFINITY);
    java.util.Arrays.fill(mx, Float.NEGATIVE_INFINITY);
    for (int i = 0; i < data.length; i++) {
      float v = data[i];
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException("weight value at flat index " + i + " is " + v);
      }
      int k = b.blockOf(i);
      mn[k] = Math.min(mn[k], v);
      mx[k] = Math.max(mx[k], v);
    }
    QuantParams flat = forRanges(mn, mx, type, true, axis);
    return new QuantParams(flat.scale(), flat.zeroPoint(), type, axis, blockSize);
  }

  /**
   * For each flat C-order index of a tensor of {@code shape}, the index of its scale and zero point in
   * {@code p} (0 per tensor, the channel, or the block).
   */
  public static int[] paramIndices(long[] shape, QuantParams p) {
    long total = 1;
    for (long d : shape) {
      total *= d;
    }
    int n = Math.toIntExact(total);
    int[] out = new int[n];
    if (p.blocked()) {
      Blocks b = Blocks.of(n, shape, p.axis(), p.blockSize());
      for (int i = 0; i < n; i++) {
        out[i] = b.blockOf(i);
      }
    } else if (p.perChannel()) {
      Strides st = Strides.of(new float[n], shape, p.axis());
      for (int i = 0; i < n; i++) {
        out[i] = st.channelOf(i);
      }
    }
    return out;
  }

  /** Quantizes {@code data} (shape {@code shape}) with per-tensor, per-channel or blocked params. */
  public static long[] quantizeAll(float[] data, long[] shape, QuantParams p) {
    long[] out = new long[data.length];
    if (p.blocked()) {
      Blocks b = Blocks.of(data.length, shape, p.axis(), p.blockSize());
      if (b.count() != p.channels()) {
        throw new IllegalArgumentException("tensor has " + b.count() + " blocks of " + p.blockSize() + " on axis "
            + p.axis() + " but params have " + p.channels());
      }
      for (int i = 0; i < data.length; i++) {
        out[i] = quantize(data[i], p, b.blockOf(i));
      }
      return out;
    }
    if (!p.perChannel()) {
      for (int i = 0; i < data.length; i++) {
        out[i] = quantize(data[i], p, 0);
      }
      return out;
    }
    Strides st = Strides.of(data, shape, p.axis());
    if (st.channels != p.channels()) {
      throw new IllegalArgumentException(
          "tensor has " + st.channels + " channels on axis " + p.axis() + " but params have " + p.channels());
    }
    for (int i = 0; i < data.length; i++) {
      out[i] = quantize(data[i], p, st.channelOf(i));
    }
    return out;
  }

  /**
   * Bias quantization for Conv/Gemm: int32 with scale {@code inputScale * weightScale[c]} (float
   * product) and zero point 0, values {@code round(b / scale)} clamped to int32.
   */
  public static QuantParams biasParams(float inputScale, QuantParams weight) {
    float[] s = new float[weight.channels()];
    for (int c = 0; c < s.length; c++) {
      s[c] = inputScale * weight.scale(c);
      if (!(s[c] > 0f)) {
        throw new IllegalArgumentException(
            "bias scale underflows to 0 (input scale " + inputScale + ", weight scale " + weight.scale(c) + ")");
      }
    }
    return new QuantParams(s, new long[s.length], QuantType.INT32, weight.perChannel() ? 0 : null);
  }

  public static int[] quantizeBias(float[] bias, QuantParams biasParams) {
    int[] out = new int[bias.length];
    for (int i = 0; i < bias.length; i++) {
      float s = biasParams.scale(biasParams.perChannel() ? i : 0);
      out[i] = (int) quantize(bias[i], s, 0, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }
    return out;
  }

  /** Maps a flat C-order index to its block: {@code outer x ceil(len / size) x inner} blocks. */
  private record Blocks(long len, long inner, long perOuter, int size, int count) {
    static Blocks of(int n, long[] shape, int axis, int size) {
      long[] pd = blockParamDims(shape, axis, size);
      long total = 1;
      for (long d : shape) {
        total *= d;
      }
      if (total != n) {
        throw new IllegalArgumentException("shape holds " + total + " elements but data has " + n);
      }
      long inner = 1;
      for (int i = axis + 1; i < shape.length; i++) {
        inner *= shape[i];
      }
      long count = 1;
      for (long d : pd) {
        count *= d;
      }
      return new Blocks(shape[axis], inner, pd[axis], size, Math.toIntExact(count));
    }

    int blockOf(int flatIndex) {
      long outer = flatIndex / (len * inner);
      long k = (flatIndex / inner) % len;
      long in = flatIndex % inner;
      return (int) ((outer * perOuter + k / size) * inner + in);
    }
  }

  /** Maps a flat C-order index to its channel along one axis. */
  private record Strides(int channels, long inner) {
    static Strides of(float[] data, long[] shape, int axis) {
      if (axis < 0 || axis >= shape.length) {
        throw new IllegalArgumentException("axis " + axis + " out of range for rank " + shape.length);
      }
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      if (n != data.length) {
        throw new IllegalArgumentException("shape holds " + n + " elements but data has " + data.length);
      }
      long inner = 1;
      for (int i = axis + 1; i < shape.length; i++) {
        inner *= shape[i];
      }
      return new Strides((int) shape[axis], inner);
    }

    int channelOf(int flatIndex) {
      return (int) ((flatIndex / inner) % channels);
    }
  }
}
