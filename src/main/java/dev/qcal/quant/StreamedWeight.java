package dev.qcal.quant;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Symmetric per-channel weight quantization of a tensor seen in chunks of its C-order values, for
 * weights too large to hold in a Java array: a first pass over the chunks ({@link #observe}) collects
 * each channel's min and max, {@link #params} turns them into parameters exactly as
 * {@link LinearQuant#weightParams} does for the whole tensor, and a second pass ({@link #quantize})
 * writes the quantized values little-endian into a buffer. Chunks may split a channel anywhere.
 */
public final class StreamedWeight {
  private final int axis;
  private final int channels;
  private final long inner;
  private final long count;
  private final float[] min;
  private final float[] max;
  private long observed;
  private float[] scratch;

  /** A weight of {@code shape} to be quantized per channel along {@code axis}. */
  public StreamedWeight(long[] shape, int axis) {
    if (axis < 0 || axis >= shape.length) {
      throw new IllegalArgumentException("axis " + axis + " out of range for rank " + shape.length);
    }
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    long in = 1;
    for (int i = axis + 1; i < shape.length; i++) {
      in *= shape[i];
    }
    this.axis = axis;
    this.channels = Math.toIntExact(shape[axis]);
    this.inner = in;
    this.count = n;
    this.min = new float[channels];
    this.max = new float[channels];
    Arrays.fill(min, Float.POSITIVE_INFINITY);
    Arrays.fill(max, Float.NEGATIVE_INFINITY);
  }

  /** Adds the values of flat indices {@code first ..} to the channel ranges; chunks come in order. */
  public void observe(long first, FloatBuffer chunk) {
    if (first != observed) {
      throw new IllegalArgumentException("chunk starts at flat index " + first + ", expected " + observed);
    }
    int n = chunk.remaining();
    float[] v = values(chunk);
    // runs of one channel, so no division per value
    int c = channelOf(first);
    long inRun = inner - first % inner;
    for (int i = 0; i < n; ) {
      int end = (int) Math.min(n, i + inRun);
      float mn = min[c];
      float mx = max[c];
      for (; i < end; i++) {
        float x = v[i];
        if (!(Math.abs(x) <= Float.MAX_VALUE)) {
          throw new IllegalArgumentException("weight value at flat index " + (first + i) + " is " + x);
        }
        mn = Math.min(mn, x);
        mx = Math.max(mx, x);
      }
      min[c] = mn;
      max[c] = mx;
      c = c + 1 == channels ? 0 : c + 1;
      inRun = inner;
    }
    observed += n;
  }

  /** The chunk's values in a reused array (bulk copy; the loops then read a plain array). */
  private float[] values(FloatBuffer chunk) {
    int n = chunk.remaining();
    if (scratch == null || scratch.length < n) {
      scratch = new float[n];
    }
    chunk.duplicate().get(scratch, 0, n);
    return scratch;
  }

  /** The parameters for {@code type}, after every value was observed. */
  public QuantParams params(QuantType type) {
    if (observed != count) {
      throw new IllegalStateException("observed " + observed + " of " + count + " values");
    }
    return LinearQuant.forRanges(min, max, type, true, axis);
  }

  /** Per-channel minimum of the observed values. */
  public float[] min() {
    return min.clone();
  }

  /** Per-channel maximum of the observed values. */
  public float[] max() {
    return max.clone();
  }

  /** Bytes per quantized value of {@code type} as stored in an ONNX tensor. */
  public static int width(QuantType type) {
    return switch (type) {
      case UINT8, INT8 -> 1;
      case UINT16, INT16 -> 2;
      default -> throw new IllegalArgumentException(type.id() + " weights cannot be quantized in chunks");
    };
  }

  /**
   * Quantizes the values of flat indices {@code first ..} with {@code p} (from {@link #params}) and puts
   * them into {@code out}, {@link #width} bytes each, little-endian.
   */
  public void quantize(long first, FloatBuffer chunk, QuantParams p, ByteBuffer out) {
    int width = width(p.type());
    int n = chunk.remaining();
    float[] v = values(chunk);
    long qmin = p.type().qmin();
    long qmax = p.type().qmax();
    int c = p.perChannel() ? channelOf(first) : 0;
    long inRun = p.perChannel() ? inner - first % inner : Long.MAX_VALUE;
    for (int i = 0; i < n; ) {
      int end = (int) Math.min(n, i + inRun);
      float scale = p.scale(c);
      long zp = p.zeroPoint(c);
      for (; i < end; i++) {
        long q = LinearQuant.quantize(v[i], scale, zp, qmin, qmax);
        if (width == 1) {
          out.put((byte) q);
        } else {
          out.putShort((short) q);
        }
      }
      c = c + 1 == channels ? 0 : c + 1;
      inRun = inner;
    }
  }

  private int channelOf(long flatIndex) {
    return (int) ((flatIndex / inner) % channels);
  }
}
