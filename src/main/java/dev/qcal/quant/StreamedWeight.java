package dev.qcal.quant;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Symmetric weight quantization of a tensor seen in chunks of its C-order values, for weights too large
 * to hold in a Java array: a first pass over the chunks ({@link #observe}) collects each parameter's min
 * and max (one per tensor, per channel along an axis, or per block of {@code blockSize} values along an
 * axis: a per-(block, column) reduction), {@link #params} turns them into parameters exactly as
 * {@link LinearQuant#weightParamsPerTensor}, {@link LinearQuant#weightParams} or
 * {@link LinearQuant#blockWeightParams} do for the whole tensor, and a second pass ({@link #quantize},
 * then {@link #finish}) writes the quantized values into a buffer as ONNX stores them: little-endian,
 * 4-bit values two per byte, the even flat index in the low nibble. Chunks may split a channel, a block or
 * a byte anywhere.
 */
public final class StreamedWeight {
  private final Layout layout;
  private final Integer axis;
  private final int blockSize;
  private final long count;
  private final float[] min;
  private final float[] max;
  private long observed;
  private long quantized;
  private int pendingNibble = -1;
  private float[] scratch;

  /** A weight of {@code shape} to be quantized per channel along {@code axis}. */
  public StreamedWeight(long[] shape, int axis) {
    this(shape, Integer.valueOf(axis), 0);
  }

  /**
   * A weight of {@code shape} to be quantized per tensor ({@code axis} null), per channel along
   * {@code axis} ({@code blockSize} 0) or per block of {@code blockSize} values along {@code axis}.
   */
  public StreamedWeight(long[] shape, Integer axis, int blockSize) {
    this.layout = Layout.of(shape, axis, blockSize);
    this.axis = axis;
    this.blockSize = blockSize;
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    this.count = n;
    this.min = new float[layout.params];
    this.max = new float[layout.params];
    Arrays.fill(min, Float.POSITIVE_INFINITY);
    Arrays.fill(max, Float.NEGATIVE_INFINITY);
  }

  /** Adds the values of flat indices {@code first ..} to the ranges; chunks come in order. */
  public void observe(long first, FloatBuffer chunk) {
    if (first != observed) {
      throw new IllegalArgumentException("chunk starts at flat index " + first + ", expected " + observed);
    }
    int n = chunk.remaining();
    float[] v = values(chunk);
    for (int i = 0; i < n; ) {
      long g = first + i;
      int k = layout.index(g);
      int step = layout.step;
      int end = (int) Math.min(n, i + layout.run(g));
      if (step == 0) {
        float mn = min[k];
        float mx = max[k];
        for (; i < end; i++) {
          float x = v[i];
          if (!(Math.abs(x) <= Float.MAX_VALUE)) {
            throw new IllegalArgumentException("weight value at flat index " + (first + i) + " is " + x);
          }
          mn = Math.min(mn, x);
          mx = Math.max(mx, x);
        }
        min[k] = mn;
        max[k] = mx;
      } else {
        for (; i < end; i++, k++) {
          float x = v[i];
          if (!(Math.abs(x) <= Float.MAX_VALUE)) {
            throw new IllegalArgumentException("weight value at flat index " + (first + i) + " is " + x);
          }
          min[k] = Math.min(min[k], x);
          max[k] = Math.max(max[k], x);
        }
      }
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
    if (axis == null) {
      return count == 0 ? LinearQuant.forRange(0, 0, type, true) : LinearQuant.forRange(min[0], max[0], type, true);
    }
    QuantParams flat = LinearQuant.forRanges(min, max, type, true, axis);
    return blockSize > 0 ? new QuantParams(flat.scale(), flat.zeroPoint(), type, axis, blockSize) : flat;
  }

  /** Minimum of the observed values per parameter (one, per channel, or per block in C order). */
  public float[] min() {
    return min.clone();
  }

  /** Maximum of the observed values per parameter. */
  public float[] max() {
    return max.clone();
  }

  /** Bytes per quantized value of an 8- or 16-bit {@code type} as stored in an ONNX tensor. */
  public static int width(QuantType type) {
    return switch (type) {
      case UINT8, INT8 -> 1;
      case UINT16, INT16 -> 2;
      default -> throw new IllegalArgumentException(type.id() + " weights have no whole-byte width");
    };
  }

  /** Bytes of {@code count} quantized values of {@code type} as ONNX stores them (4-bit: two per byte). */
  public static long byteLength(QuantType type, long count) {
    return switch (type) {
      case UINT4, INT4 -> (count + 1) / 2;
      case UINT8, INT8, UINT16, INT16 -> Math.multiplyExact(count, width(type));
      default -> throw new IllegalArgumentException(type.id() + " weights cannot be quantized in chunks");
    };
  }

  /** At most how many bytes {@link #quantize} puts for a chunk of {@code chunkValues} values. */
  public static int maxChunkBytes(QuantType type, int chunkValues) {
    return type.bits() == 4 ? chunkValues / 2 + 1 : chunkValues * width(type);
  }

  /**
   * Quantizes the values of flat indices {@code first ..} with {@code p} (from {@link #params}, possibly
   * with raised scales) and puts them into {@code out}, little-endian; 4-bit values are packed two per
   * byte, so an odd value count leaves a nibble for the next chunk or {@link #finish}. Chunks come in order.
   */
  public void quantize(long first, FloatBuffer chunk, QuantParams p, ByteBuffer out) {
    if (first != quantized) {
      throw new IllegalArgumentException("chunk starts at flat index " + first + ", expected " + quantized);
    }
    if (p.channels() != layout.params) {
      throw new IllegalArgumentException("params have " + p.channels() + " scales, the weight needs " + layout.params);
    }
    int bits = p.type().bits();
    if (bits != 4) {
      width(p.type());
    }
    int n = chunk.remaining();
    float[] v = values(chunk);
    long qmin = p.type().qmin();
    long qmax = p.type().qmax();
    for (int i = 0; i < n; ) {
      long g = first + i;
      int k = layout.index(g);
      int step = layout.step;
      int end = (int) Math.min(n, i + layout.run(g));
      for (; i < end; i++, k += step) {
        long q = LinearQuant.quantize(v[i], p.scale(k), p.zeroPoint(k), qmin, qmax);
        if (bits == 8) {
          out.put((byte) q);
        } else if (bits == 16) {
          out.putShort((short) q);
        } else if (pendingNibble < 0) {
          pendingNibble = (int) q & 0xF;
        } else {
          out.put((byte) (pendingNibble | (((int) q & 0xF) << 4)));
          pendingNibble = -1;
        }
      }
    }
    quantized += n;
  }

  /**
   * After the last chunk: puts a 4-bit tensor's last byte when its count is odd (high nibble 0). The values
   * can then be written again from the first chunk, e.g. with other params for another reader.
   */
  public void finish(ByteBuffer out) {
    if (quantized != count) {
      throw new IllegalStateException("quantized " + quantized + " of " + count + " values");
    }
    if (pendingNibble >= 0) {
      out.put((byte) pendingNibble);
      pendingNibble = -1;
    }
    quantized = 0;
  }

  /**
   * Maps flat C-order indices to parameter indices in runs: from index {@code i}, {@link #run} values whose
   * parameter index starts at {@link #index} and grows by {@link #step} (0 or 1) per value.
   */
  public static final class Layout {
    private final int mode; // 0 per tensor, 1 per channel, 2 per channel inner 1, 3 blocks, 4 blocks inner 1
    private final long inner;
    private final long len;
    private final long perOuter;
    private final int size;
    private final int params;
    final int step;

    private Layout(int mode, long inner, long len, long perOuter, int size, int params) {
      this.mode = mode;
      this.inner = inner;
      this.len = len;
      this.perOuter = perOuter;
      this.size = size;
      this.params = params;
      this.step = mode == 2 || mode == 3 ? 1 : 0;
    }

    /** Per tensor ({@code axis} null), per channel along {@code axis}, or per block of {@code blockSize}. */
    public static Layout of(long[] shape, Integer axis, int blockSize) {
      if (axis == null) {
        if (blockSize != 0) {
          throw new IllegalArgumentException("block size " + blockSize + " needs an axis");
        }
        return new Layout(0, 1, 1, 1, 0, 1);
      }
      if (axis < 0 || axis >= shape.length) {
        throw new IllegalArgumentException("axis " + axis + " out of range for rank " + shape.length);
      }
      long inner = 1;
      for (int i = axis + 1; i < shape.length; i++) {
        inner = Math.multiplyExact(inner, shape[i]);
      }
      long len = shape[axis];
      if (blockSize <= 0) {
        return new Layout(inner == 1 ? 2 : 1, inner, len, len, 0, Math.toIntExact(len));
      }
      long[] pd = LinearQuant.blockParamDims(shape, axis, blockSize);
      long params = 1;
      for (long d : pd) {
        params = Math.multiplyExact(params, d);
      }
      return new Layout(inner == 1 ? 4 : 3, inner, len, pd[axis], blockSize, Math.toIntExact(params));
    }

    /** The number of parameters (scales). */
    public int params() {
      return params;
    }

    /** How much the parameter index grows per value within a run (0 or 1). */
    public int step() {
      return step;
    }

    /** The parameter index of flat index {@code i}. */
    public int index(long i) {
      return switch (mode) {
        case 0 -> 0;
        case 1 -> (int) ((i / inner) % len);
        case 2 -> (int) (i % len);
        case 3 -> {
          long outer = i / (len * inner);
          long k = (i / inner) % len;
          yield (int) ((outer * perOuter + k / size) * inner + i % inner);
        }
        default -> (int) ((i / len) * perOuter + (i % len) / size);
      };
    }

    /** How many values from flat index {@code i} on follow the run rule (at least 1). */
    public long run(long i) {
      return switch (mode) {
        case 0 -> Long.MAX_VALUE;
        case 1, 3 -> inner - i % inner;
        case 2 -> len - i % len;
        default -> {
          long k = i % len;
          yield Math.min((k / size + 1) * size, len) - k;
        }
      };
    }
  }
}
