package dev.qcal.stats;

import java.io.Serializable;
import java.nio.FloatBuffer;

/**
 * Per-tensor statistics of one activation over all elements seen: exact min and max of the finite
 * values, the count of finite values and separate counts of NaN, +Inf and -Inf (non-finite values
 * are reported, never folded into the range).
 */
public final class TensorStats implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String tensor;
  private float min = Float.POSITIVE_INFINITY;
  private float max = Float.NEGATIVE_INFINITY;
  private long count;
  private long nanCount;
  private long posInfCount;
  private long negInfCount;

  private TensorStats(String tensor) {
    this.tensor = tensor;
  }

  /** The identity of {@link #merge}: no values seen. */
  public static TensorStats empty(String tensor) {
    return new TensorStats(tensor);
  }

  /** Exact state, as read back from a saved file or built in tests. */
  public static TensorStats of(
      String tensor, float min, float max, long count, long nan, long posInf, long negInf) {
    TensorStats s = new TensorStats(tensor);
    s.min = min;
    s.max = max;
    s.count = count;
    s.nanCount = nan;
    s.posInfCount = posInf;
    s.negInfCount = negInf;
    return s;
  }

  /** Adds the {@code remaining()} values of {@code values}, leaving its position unchanged. */
  public TensorStats add(FloatBuffer values) {
    float mn = min;
    float mx = max;
    long finite = 0;
    long nan = 0;
    long pinf = 0;
    long ninf = 0;
    for (int i = values.position(), end = values.limit(); i < end; i++) {
      float v = values.get(i);
      if (Float.isFinite(v)) {
        if (v < mn) {
          mn = v;
        }
        if (v > mx) {
          mx = v;
        }
        finite++;
      } else if (v != v) {
        nan++;
      } else if (v > 0) {
        pinf++;
      } else {
        ninf++;
      }
    }
    min = mn;
    max = mx;
    count += finite;
    nanCount += nan;
    posInfCount += pinf;
    negInfCount += ninf;
    return this;
  }

  public TensorStats add(float[] values) {
    return add(FloatBuffer.wrap(values));
  }

  /**
   * Merges {@code other} into this state and returns this.
   *
   * <p>Contract: the merge is associative and commutative and {@link #empty} is its identity, so the
   * merged state equals the state of one {@link #add} over the concatenation of both inputs in any
   * order, whatever the partitioning: min/max are exact (no arithmetic), counts are integer sums.
   * Both sides must describe the same tensor.
   */
  public TensorStats merge(TensorStats other) {
    if (!tensor.equals(other.tensor)) {
      throw new IllegalArgumentException(
          "Cannot merge statistics of tensor '" + tensor + "' with those of '" + other.tensor + "'");
    }
    min = Math.min(min, other.min);
    max = Math.max(max, other.max);
    count += other.count;
    nanCount += other.nanCount;
    posInfCount += other.posInfCount;
    negInfCount += other.negInfCount;
    return this;
  }

  public TensorStats copy() {
    return of(tensor, min, max, count, nanCount, posInfCount, negInfCount);
  }

  public String tensor() {
    return tensor;
  }

  /** Smallest finite value; {@code +Inf} when no finite value was seen. */
  public float min() {
    return min;
  }

  /** Largest finite value; {@code -Inf} when no finite value was seen. */
  public float max() {
    return max;
  }

  /** Number of finite values seen. */
  public long count() {
    return count;
  }

  public long nanCount() {
    return nanCount;
  }

  public long posInfCount() {
    return posInfCount;
  }

  public long negInfCount() {
    return negInfCount;
  }

  public long nonFiniteCount() {
    return nanCount + posInfCount + negInfCount;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorStats s
        && tensor.equals(s.tensor)
        && Float.compare(min, s.min) == 0
        && Float.compare(max, s.max) == 0
        && count == s.count
        && nanCount == s.nanCount
        && posInfCount == s.posInfCount
        && negInfCount == s.negInfCount;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(tensor, min, max, count, nanCount, posInfCount, negInfCount);
  }

  @Override
  public String toString() {
    return tensor + "[min=" + min + ", max=" + max + ", count=" + count + ", nan=" + nanCount
        + ", +inf=" + posInfCount + ", -inf=" + negInfCount + "]";
  }
}
