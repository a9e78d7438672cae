package dev.qcal.stats;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.Serializable;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Exact per-channel means of one tensor, for bias correction: per channel an {@link ExactSum} and a
 * count of the values added. Typically the values are the errors {@code y_q - y_fp32} of a quantized
 * output ({@link #addErrors}), whose exact sum is the exact sum of {@code y_q} minus that of
 * {@code y_fp32}: the difference is never rounded.
 *
 * <p>Batches are laid out as for {@link TensorStats#add}: row-major with their shape, the channel axis
 * {@code a} fixed up front; channel {@code c} of outer index {@code o} is the contiguous run
 * {@code [(o * C + c) * inner, + inner)} with {@code C = d_a}, {@code inner = d_a+1 * .. * dr-1}. Other
 * dimensions may vary between batches. The state has a fixed size ({@code C} sums and counts) and is a
 * function of the multiset of (channel, value) pairs added, so it is identical for any partitioning.
 */
public final class ChannelMeans implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int MAX_CHANNELS = 1 << 24;

  private final String tensor;
  private final int axis;
  private final ExactSum[] sums;
  private final long[] counts;

  private ChannelMeans(String tensor, int axis, int channels) {
    this.tensor = Objects.requireNonNull(tensor, "tensor");
    if (axis < 0 || channels < 1 || channels > MAX_CHANNELS) {
      throw new IllegalArgumentException(String.format("tensor '%s': channel axis %d, %d channels", tensor, axis,
          channels));
    }
    this.axis = axis;
    this.sums = new ExactSum[channels];
    for (int c = 0; c < channels; c++) {
      sums[c] = ExactSum.empty();
    }
    this.counts = new long[channels];
  }

  /** The identity of {@link #merge}: no values yet for {@code channels} channels along {@code axis}. */
  public static ChannelMeans empty(String tensor, int axis, int channels) {
    return new ChannelMeans(tensor, axis, channels);
  }

  /**
   * Adds one batch: the {@code remaining()} values of {@code values}, row-major with {@code shape},
   * leaving the position unchanged.
   *
   * @throws IllegalArgumentException naming the tensor, with the state unchanged, if the shape does
   *     not hold the values or has the wrong channel count, or a value is NaN or infinite
   */
  public ChannelMeans add(FloatBuffer values, long[] shape) {
    int inner = inner(values.remaining(), shape);
    checkFinite(values, shape, inner, "value");
    int pos = values.position();
    int n = values.remaining();
    for (int i = 0; i < n; i += inner) {
      int c = (i / inner) % sums.length;
      ExactSum s = sums[c];
      for (int j = i; j < i + inner; j++) {
        s.add(values.get(pos + j));
      }
      counts[c] += inner;
    }
    return this;
  }

  /** Adds one batch given as an array; as {@link #add(FloatBuffer, long[])}. */
  public ChannelMeans add(float[] values, long[] shape) {
    return add(FloatBuffer.wrap(values), shape);
  }

  /**
   * Adds the errors {@code quantized - reference} of one batch, element by element, both row-major with
   * {@code shape}; exactly (nothing is rounded), leaving both positions unchanged.
   *
   * @throws IllegalArgumentException naming the tensor, with the state unchanged, as {@link #add} for
   *     either buffer, or if they hold different numbers of values
   */
  public ChannelMeans addErrors(FloatBuffer quantized, FloatBuffer reference, long[] shape) {
    if (quantized.remaining() != reference.remaining()) {
      throw new IllegalArgumentException(String.format("tensor '%s': %d quantized values but %d reference values",
          tensor, quantized.remaining(), reference.remaining()));
    }
    int inner = inner(quantized.remaining(), shape);
    checkFinite(quantized, shape, inner, "quantized value");
    checkFinite(reference, shape, inner, "reference value");
    int q0 = quantized.position();
    int r0 = reference.position();
    int n = quantized.remaining();
    for (int i = 0; i < n; i += inner) {
      int c = (i / inner) % sums.length;
      ExactSum s = sums[c];
      for (int j = i; j < i + inner; j++) {
        s.add(quantized.get(q0 + j));
        s.add(-(double) reference.get(r0 + j));
      }
      counts[c] += inner;
    }
    return this;
  }

  /** The run length {@code inner} of a batch of {@code n} values and {@code shape}, after checking both. */
  private int inner(int n, long[] shape) {
    long p = Shapes.elements(shape);
    if (p != n) {
      throw new IllegalArgumentException(String.format("tensor '%s': shape %s does not hold the %d values given",
          tensor, Arrays.toString(shape), n));
    }
    if (axis >= shape.length || shape[axis] != sums.length) {
      throw new IllegalArgumentException(String.format("tensor '%s': shape %s, expected %d channels along axis %d",
          tensor, Arrays.toString(shape), sums.length, axis));
    }
    long inner = 1;
    for (int i = axis + 1; i < shape.length; i++) {
      inner *= shape[i];
    }
    return (int) inner;
  }

  private void checkFinite(FloatBuffer values, long[] shape, int inner, String what) {
    int pos = values.position();
    for (int i = 0; i < values.remaining(); i++) {
      float v = values.get(pos + i);
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException(String.format("tensor '%s': %s %s at flat index %d (channel %d) of shape %s;"
            + " expected finite values", tensor, what, v, i, (i / inner) % sums.length, Arrays.toString(shape)));
      }
    }
  }

  /**
   * Merges {@code other} into this state and returns this.
   *
   * <p>Contract: associative and commutative to the bit, {@link #empty} is the identity, so the merged
   * state equals the state of one pass of {@link #add} over the batches of both sides in any order,
   * whatever the partitioning: sums merge exactly ({@link ExactSum#merge}) and counts are integer sums.
   * Both sides must describe the same tensor, channel axis and channel count; otherwise an
   * {@link IllegalArgumentException} names the tensor and both values.
   */
  public ChannelMeans merge(ChannelMeans other) {
    if (!tensor.equals(other.tensor) || axis != other.axis || sums.length != other.sums.length) {
      throw new IllegalArgumentException(String.format(
          "Cannot merge channel means of tensor '%s' (axis %d, %d channels) with those of tensor '%s' (axis %d, %d"
              + " channels)", tensor, axis, sums.length, other.tensor, other.axis, other.sums.length));
    }
    for (int c = 0; c < sums.length; c++) {
      sums[c].merge(other.sums[c]);
      counts[c] += other.counts[c];
    }
    return this;
  }

  /** A deep copy. */
  public ChannelMeans copy() {
    return empty(tensor, axis, sums.length).merge(this);
  }

  /**
   * Per channel, the exact sum rounded once to the nearest double divided by the count (one more
   * rounding), so a function of the exact state; NaN for a channel with no values.
   */
  public double[] means() {
    double[] m = new double[sums.length];
    for (int c = 0; c < m.length; c++) {
      m[c] = counts[c] == 0 ? Double.NaN : sums[c].doubleValue() / counts[c];
    }
    return m;
  }

  public String tensor() {
    return tensor;
  }

  public int axis() {
    return axis;
  }

  public int channels() {
    return sums.length;
  }

  /** Number of values (errors) added to channel {@code c}. */
  public long count(int c) {
    return counts[c];
  }

  /** The exact sum of channel {@code c} (a copy). */
  public ExactSum sum(int c) {
    return sums[c].copy();
  }

  /**
   * Writes the state: {@code tensor:UTF axis:int32 channels:int32 (count:int64 sum)*}, each sum as
   * {@link ExactSum#writeTo}. Equal states give equal bytes.
   */
  public void writeTo(DataOutput out) throws IOException {
    out.writeUTF(tensor);
    out.writeInt(axis);
    out.writeInt(sums.length);
    for (int c = 0; c < sums.length; c++) {
      out.writeLong(counts[c]);
      sums[c].writeTo(out);
    }
  }

  /**
   * Reads a state written by {@link #writeTo}.
   *
   * @throws IOException naming the tensor if the bytes are not a valid state
   */
  public static ChannelMeans readFrom(DataInput in) throws IOException {
    String tensor = in.readUTF();
    int axis = in.readInt();
    int channels = in.readInt();
    if (axis < 0 || channels < 1 || channels > MAX_CHANNELS) {
      throw new IOException(String.format("channel means of tensor '%s': axis %d, %d channels", tensor, axis,
          channels));
    }
    ChannelMeans m = empty(tensor, axis, channels);
    for (int c = 0; c < channels; c++) {
      long n = in.readLong();
      ExactSum s;
      try {
        s = ExactSum.readFrom(in);
      } catch (IOException e) {
        throw new IOException(String.format("channel means of tensor '%s', channel %d: %s", tensor, c, e.getMessage()),
            e);
      }
      if (n < 0 || n == 0 && !s.isZero()) {
        throw new IOException(String.format("channel means of tensor '%s': channel %d has count %d and sum %s",
            tensor, c, n, s));
      }
      m.counts[c] = n;
      m.sums[c].merge(s);
    }
    return m;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChannelMeans m && tensor.equals(m.tensor) && axis == m.axis
        && Arrays.equals(counts, m.counts) && Arrays.equals(sums, m.sums);
  }

  @Override
  public int hashCode() {
    return Objects.hash(tensor, axis, Arrays.hashCode(counts), Arrays.hashCode(sums));
  }

  @Override
  public String toString() {
    return "ChannelMeans[" + tensor + ", axis=" + axis + ", means=" + Arrays.toString(means()) + "]";
  }
}
