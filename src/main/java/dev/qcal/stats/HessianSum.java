package dev.qcal.stats;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.Serializable;
import java.math.BigInteger;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * The Hessian {@code H = sum x x^T} of one layer input, for GPTQ: x runs over the rows of the input's last
 * axis (K values each), every other axis counting as rows. H is symmetric; its upper triangle is kept.
 *
 * <p><b>Fixed point, merged exactly.</b> Before the pass a bound {@code 2^b} on {@code |x|} is fixed (from
 * the observe pass's max |x| of the tensor, {@link #empty}: b is two above that max's binary exponent, so
 * the bound is at least twice the max); the scale is {@code 2^e} with {@code e = 62 - 2b}. Each product
 * {@code x_i x_j} of two floats is exact in double, and exact once scaled by the power of two (its 48
 * significant bits fit; values so small that they are not are far below one unit), so the only rounding
 * is that of each scaled product to the nearest integer (half to even), at most {@code 2^62} in magnitude;
 * the integers are summed in 128 bits (two longs with carry), which is exact for fewer than {@code 2^65}
 * rows. The state is therefore a function of the multiset of rows added, identical for any partitioning
 * and merge order, and each entry of {@link #matrix()} differs from the true sum by at most
 * {@code rows * 2^-(e+1)} (plus the final rounding to double). A value above the bound, or not finite, is
 * refused.
 */
public final class HessianSum implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The largest input width held: K(K+1)/2 entries of 16 bytes, 8 GiB at this width. */
  public static final int MAX_K = 1 << 15;

  private final String tensor;
  private final int k;
  private final int boundExponent;
  private final long[] hi;
  private final long[] lo;
  private long rows;

  private HessianSum(String tensor, int k, int boundExponent) {
    this.tensor = Objects.requireNonNull(tensor, "tensor");
    if (k < 1 || k > MAX_K) {
      throw new IllegalArgumentException(String.format("tensor '%s': input width %d, expected 1 to %d", tensor, k,
          MAX_K));
    }
    if (boundExponent < -200 || boundExponent > 200) {
      throw new IllegalArgumentException(String.format("tensor '%s': bound 2^%d out of range", tensor, boundExponent));
    }
    this.k = k;
    this.boundExponent = boundExponent;
    int n = entries(k);
    this.hi = new long[n];
    this.lo = new long[n];
  }

  /**
   * No rows yet, of width {@code k}, for values of magnitude at most {@code maxAbs} (finite): the bound is
   * {@code 2^(getExponent(maxAbs) + 2)}, with {@code maxAbs} taken as at least the smallest normal float.
   */
  public static HessianSum empty(String tensor, int k, double maxAbs) {
    if (!(maxAbs >= 0) || Double.isInfinite(maxAbs)) {
      throw new IllegalArgumentException(String.format("tensor '%s': max |x| %s, expected finite", tensor, maxAbs));
    }
    return new HessianSum(tensor, k, Math.getExponent(Math.max(maxAbs, Float.MIN_NORMAL)) + 2);
  }

  /** The bytes the state of width {@code k} holds: {@code K(K+1)/2} entries of 16 bytes. */
  public static long stateBytes(int k) {
    return (long) k * (k + 1) / 2 * 16;
  }

  private static int entries(int k) {
    return (int) ((long) k * (k + 1) / 2);
  }

  /**
   * Adds the rows of one batch: the {@code remaining()} values of {@code values}, row-major with
   * {@code shape} whose last dimension is K, leaving the position unchanged.
   *
   * @throws IllegalArgumentException naming the tensor, with the state unchanged, if the shape does not
   *     hold the values or its last dimension is not K, or a value is not finite or above the bound
   */
  public HessianSum add(FloatBuffer values, long[] shape) {
    int n = checkShape(values.remaining(), shape);
    int pos = values.position();
    double bound = Math.scalb(1.0, boundExponent);
    for (int i = 0; i < n; i++) {
      float v = values.get(pos + i);
      if (!Float.isFinite(v) || Math.abs(v) > bound) {
        throw new IllegalArgumentException(String.format("tensor '%s': value %s at flat index %d of shape %s;"
            + " expected finite values of magnitude at most %s (2^%d, twice the observed max |x| or more)", tensor,
            v, i, Arrays.toString(shape), bound, boundExponent));
      }
    }
    int e = exponent();
    double[] a = new double[k];
    double[] b = new double[k];
    for (int r = 0; r < n; r += k) {
      for (int i = 0; i < k; i++) {
        float v = values.get(pos + r + i);
        a[i] = Math.scalb((double) v, e / 2);
        b[i] = Math.scalb((double) v, e - e / 2);
      }
      addRow(a, b);
    }
    rows += n / k;
    return this;
  }

  /** Adds one batch given as an array; as {@link #add(FloatBuffer, long[])}. */
  public HessianSum add(float[] values, long[] shape) {
    return add(FloatBuffer.wrap(values), shape);
  }

  /** Adds round(a_i b_j) to entry (i, j >= i): a and b the row scaled by two powers of two making 2^e. */
  private void addRow(double[] a, double[] b) {
    int m = 0;
    for (int i = 0; i < k; i++) {
      double ai = a[i];
      for (int j = i; j < k; j++, m++) {
        long v = (long) Math.rint(ai * b[j]);
        long s = lo[m] + v;
        hi[m] += (v >> 63) + (Long.compareUnsigned(s, lo[m]) < 0 ? 1 : 0);
        lo[m] = s;
      }
    }
  }

  private int checkShape(int n, long[] shape) {
    long p = Shapes.elements(shape);
    if (p != n || shape.length == 0 || shape[shape.length - 1] != k) {
      throw new IllegalArgumentException(String.format("tensor '%s': shape %s with %d values, expected a last"
          + " dimension of %d (the layer's input width) holding them", tensor, Arrays.toString(shape), n, k));
    }
    return n;
  }

  /**
   * Merges {@code other} into this state and returns this: the 128-bit integer sums add, so the result is
   * associative and commutative to the bit, {@link #empty} the identity. Both sides must describe the same
   * tensor, width and bound; otherwise an {@link IllegalArgumentException} names both.
   */
  public HessianSum merge(HessianSum other) {
    if (!tensor.equals(other.tensor) || k != other.k || boundExponent != other.boundExponent) {
      throw new IllegalArgumentException(String.format("Cannot merge the Hessian of tensor '%s' (K %d, bound 2^%d)"
          + " with that of tensor '%s' (K %d, bound 2^%d)", tensor, k, boundExponent, other.tensor, other.k,
          other.boundExponent));
    }
    for (int m = 0; m < hi.length; m++) {
      long s = lo[m] + other.lo[m];
      hi[m] += other.hi[m] + (Long.compareUnsigned(s, lo[m]) < 0 ? 1 : 0);
      lo[m] = s;
    }
    rows += other.rows;
    return this;
  }

  /** A deep copy. */
  public HessianSum copy() {
    return new HessianSum(tensor, k, boundExponent).merge(this);
  }

  /** H as a full symmetric matrix: each entry's integer sum times {@code 2^-e}, rounded once to double. */
  public double[][] matrix() {
    double[][] h = new double[k][k];
    int m = 0;
    int e = exponent();
    for (int i = 0; i < k; i++) {
      for (int j = i; j < k; j++, m++) {
        double v = Math.scalb(integer(m).doubleValue(), -e);
        h[i][j] = v;
        h[j][i] = v;
      }
    }
    return h;
  }

  /** The exact integer sum of entry m of the upper triangle, in units of {@code 2^-e}. */
  private BigInteger integer(int m) {
    return BigInteger.valueOf(hi[m]).shiftLeft(64).add(new BigInteger(Long.toUnsignedString(lo[m])));
  }

  /** The exact value of entry (i, j), as the integer sum in units of {@code 2^-e} (for tests and checks). */
  public BigInteger integer(int i, int j) {
    int a = Math.min(i, j);
    int b = Math.max(i, j);
    return integer((int) ((long) a * k - (long) a * (a - 1) / 2 + (b - a)));
  }

  public String tensor() {
    return tensor;
  }

  /** K, the width of the input's last axis. */
  public int width() {
    return k;
  }

  /** b: values are at most {@code 2^b} in magnitude. */
  public int boundExponent() {
    return boundExponent;
  }

  /** e: each product is rounded to a multiple of {@code 2^-e}. */
  public int exponent() {
    return 62 - 2 * boundExponent;
  }

  /** Rows (K-vectors) added. */
  public long rows() {
    return rows;
  }

  /** The bound on each entry's distance from the true sum: {@code rows * 2^-(e+1)}. */
  public double errorBound() {
    return Math.scalb((double) rows, -exponent() - 1);
  }

  /** Writes the state: {@code tensor:UTF k:int32 bound:int32 rows:int64 (hi:int64 lo:int64)*}; equal states give equal bytes. */
  public void writeTo(DataOutput out) throws IOException {
    out.writeUTF(tensor);
    out.writeInt(k);
    out.writeInt(boundExponent);
    out.writeLong(rows);
    for (int m = 0; m < hi.length; m++) {
      out.writeLong(hi[m]);
      out.writeLong(lo[m]);
    }
  }

  /**
   * Reads a state written by {@link #writeTo}.
   *
   * @throws IOException naming the tensor if the bytes are not a valid state
   */
  public static HessianSum readFrom(DataInput in) throws IOException {
    String tensor = in.readUTF();
    int k = in.readInt();
    int b = in.readInt();
    long rows = in.readLong();
    HessianSum h;
    try {
      h = new HessianSum(tensor, k, b);
    } catch (IllegalArgumentException e) {
      throw new IOException("Hessian: " + e.getMessage(), e);
    }
    if (rows < 0) {
      throw new IOException(String.format("Hessian of tensor '%s': %d rows", tensor, rows));
    }
    h.rows = rows;
    for (int m = 0; m < h.hi.length; m++) {
      h.hi[m] = in.readLong();
      h.lo[m] = in.readLong();
    }
    return h;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HessianSum h && tensor.equals(h.tensor) && k == h.k && boundExponent == h.boundExponent
        && rows == h.rows && Arrays.equals(hi, h.hi) && Arrays.equals(lo, h.lo);
  }

  @Override
  public int hashCode() {
    return Objects.hash(tensor, k, boundExponent, rows, Arrays.hashCode(hi), Arrays.hashCode(lo));
  }

  @Override
  public String toString() {
    return "HessianSum[" + tensor + ", K=" + k + ", bound=2^" + boundExponent + ", rows=" + rows + "]";
  }
}
