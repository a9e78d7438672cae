package dev.qcal.stats;

import java.io.IOException;
import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Exact, mergeable histogram of the finite values of a float tensor (non-finite values are skipped;
 * the owner counts them).
 *
 * <p><b>Bins.</b> Bin widths are powers of two aligned at zero: at exponent {@code e} bin {@code k}
 * covers {@code [k * 2^e, (k + 1) * 2^e)} and value {@code v} falls in bin {@code floor(v / 2^e)}.
 * For the finite range {@code [lo, hi]} of the values seen, the exponent is
 *
 * <pre>E*(lo, hi) = the smallest e in [E_MIN, E_MAX] such that
 *     floor(hi / 2^e) - floor(lo / 2^e) + 1 &lt;= B      (at most B bins span the range) and
 *     max(|lo|, |hi|) / 2^e &lt; 2^53                     (bin indices exact in a double and a long)</pre>
 *
 * Both conditions only get harder as the range grows, so E* of a part of the data never exceeds E*
 * of all of it. The state is canonical, a function of the multiset of finite values alone:
 * {@code exponent = E*(min, max)}, {@code firstBin = floor(min / 2^e)} and the counts of bins
 * {@code firstBin .. floor(max / 2^e)}, held in a fixed {@code long[B]} (trailing zeros) so the
 * state never grows with the data.
 *
 * <p><b>Why it is exact.</b> Going from exponent {@code e} to {@code e + d} maps bin {@code k} to
 * bin {@code floor(k / 2^d)} ({@code k >> d}): every bin nests in exactly one coarser bin, so
 * coarsening sums counts without any approximation. {@link #add} and {@link #merge} move to
 * E*(union) and coarsen what they hold; the result equals a histogram built in one pass over all
 * values, whatever the split, order or batch size.
 *
 * <p><b>Resolution.</b> When the bin-count rule decides E* (the usual case), E* - 1 needed more than B
 * bins, i.e. at least B + 1, and halving a span of n bins leaves at least n / 2 of them, so at least
 * {@code B/2 + 1} bins span the final range: 2049 for the default B = 4096. A wide range is resolved
 * into between B/2 + 1 and B bins. {@link #E_MIN} = -149: every float is an integer multiple of
 * 2^-149 ({@link Float#MIN_VALUE}), so at that width each bin holds a single float value and finer
 * bins could not separate anything more; the 2^53 rule raises the floor for larger magnitudes
 * (constant 1.0 gets e = -52, constant 1e38 e = 74). A zero-width range (a constant tensor, a single
 * value) gets that floor and one bin. {@link #E_MAX} = 128 &gt; log2({@link Float#MAX_VALUE}), where any
 * finite range spans at most 2 bins, so E* always exists for B &gt;= 2.
 */
public final class Histogram implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Finest bin width exponent: 2^-149 is the spacing of the smallest floats. */
  public static final int E_MIN = -149;
  /** Coarsest bin width exponent: every finite float range spans at most 2 bins. */
  public static final int E_MAX = 128;
  /** Largest supported maximum bin count. */
  public static final int MAX_BINS = 1 << 20;

  private final int maxBins;
  private int exponent = E_MIN;
  private long firstBin;
  private int bins;
  /**
   * Counts of bins firstBin .. firstBin + bins - 1, zeros after; maxBins long from the first value on
   * (an empty histogram, such as each task's zero value, holds no array). Serialized as the meaningful
   * counts only, each a variable-length integer ({@link #writeObject}).
   */
  private transient long[] counts = NO_COUNTS;
  private long total;
  private float min = Float.POSITIVE_INFINITY;
  private float max = Float.NEGATIVE_INFINITY;

  private Histogram(int maxBins) {
    if (maxBins < 2 || maxBins > MAX_BINS) {
      throw new IllegalArgumentException("histogram bins must be in [2, " + MAX_BINS + "], got " + maxBins);
    }
    this.maxBins = maxBins;
  }

  private static final long[] NO_COUNTS = new long[0];

  /** The identity of {@link #merge}: no values, at most {@code maxBins} bins once values arrive. */
  public static Histogram empty(int maxBins) {
    return new Histogram(maxBins);
  }

  /**
   * Exact state as read from a file: {@code counts} are the meaningful bins from {@code firstBin}.
   * Checks that the state is the canonical one for {@code [min, max]}.
   */
  static Histogram restore(int maxBins, float min, float max, int exponent, long firstBin, long[] counts) {
    Histogram h = new Histogram(maxBins);
    if (counts.length == 0) {
      if (!(min > max)) {
        throw new IllegalArgumentException("empty histogram with range [" + min + ", " + max + "]");
      }
      return h;
    }
    if (!(Float.isFinite(min) && Float.isFinite(max) && min <= max)) {
      throw new IllegalArgumentException("histogram of " + counts.length + " bins with range [" + min + ", " + max + "]");
    }
    int e = exponentFor(min, max, maxBins);
    long first = index(min, e);
    long bins = index(max, e) - first + 1;
    if (e != exponent || first != firstBin || bins != counts.length) {
      throw new IllegalArgumentException(String.format(
          "histogram of range [%s, %s] must have exponent %d, first bin %d and %d bins, not %d, %d, %d",
          min, max, e, first, bins, exponent, firstBin, counts.length));
    }
    if (counts[0] == 0 || counts[counts.length - 1] == 0) {
      throw new IllegalArgumentException("the first and last histogram bins hold the min and max, yet one is 0");
    }
    long total = 0;
    for (long c : counts) {
      if (c < 0) {
        throw new IllegalArgumentException("negative histogram count " + c);
      }
      total += c;
    }
    h.exponent = e;
    h.firstBin = first;
    h.bins = counts.length;
    h.counts = new long[maxBins];
    System.arraycopy(counts, 0, h.counts, 0, counts.length);
    h.total = total;
    h.min = min;
    h.max = max;
    return h;
  }

  /** E*(lo, hi) for finite {@code lo <= hi}; see the class comment. */
  static int exponentFor(float lo, float hi, int maxBins) {
    float mag = Math.max(Math.abs(lo), Math.abs(hi));
    // |v| < 2^(getExponent + 1), so e >= getExponent - 52 keeps |v| / 2^e < 2^53 (and less fails)
    int e = Math.max(E_MIN, Math.getExponent(mag) - 52);
    double width = (double) hi - (double) lo;
    if (width > 0) {
      // span > width / 2^e, so E* > log2(width) - log2(B); start a little below that bound
      int hint = Math.getExponent(width) - (31 - Integer.numberOfLeadingZeros(maxBins)) - 2;
      e = Math.max(e, hint);
    }
    while (e < E_MAX && index(hi, e) - index(lo, e) + 1 > maxBins) {
      e++;
    }
    return e;
  }

  /** floor(v / 2^e), exact: a float times a power of two is exact in a double for e in [E_MIN, E_MAX]. */
  static long index(float v, int e) {
    return (long) Math.floor(Math.scalb((double) v, -e));
  }

  /** Adds the finite values of {@code values}; non-finite ones are skipped. */
  public Histogram add(float[] values) {
    RangeScan r = new RangeScan().scan(values, 0, values.length);
    if (r.finite > 0) {
      include(r.min, r.max);
      bin(values, 0, values.length, r.finite == values.length);
    }
    return this;
  }

  /** Adds the finite values among the {@code remaining()} ones, leaving the position unchanged. */
  public Histogram add(FloatBuffer values) {
    RangeScan r = new RangeScan().scan(values, values.position(), values.remaining());
    if (r.finite > 0) {
      include(r.min, r.max);
      bin(values, values.position(), values.remaining(), r.finite == values.remaining(), r.chunks);
    }
    return this;
  }

  /**
   * Merges {@code other} into this histogram and returns this.
   *
   * <p>Contract: associative and commutative, {@link #empty} is the identity, and the result equals
   * the histogram of one {@link #add} over the values of both sides: the exponent becomes
   * {@code max(e1, e2, E*(union)) = E*(union)}, both sides are coarsened to it by summing nested
   * bins (exact) and the aligned counts are added. Both sides must have the same maximum bin count.
   */
  public Histogram merge(Histogram other) {
    if (maxBins != other.maxBins) {
      throw new IllegalArgumentException(
          "Cannot merge histograms of " + maxBins + " and " + other.maxBins + " bins");
    }
    if (other.total == 0) {
      return this;
    }
    include(other.min, other.max);
    int shift = Math.min(63, exponent - other.exponent);
    for (int j = 0; j < other.bins; j++) {
      counts[(int) (((other.firstBin + j) >> shift) - firstBin)] += other.counts[j];
    }
    total += other.total;
    return this;
  }

  /**
   * Widens the range to include finite {@code [lo, hi]}: moves to E* of the union and the union's
   * first bin, coarsening and shifting the counts held. Values in the range are then binned with
   * {@link #bin}, which must follow before the state is observed.
   */
  void include(float lo, float hi) {
    float nmin = Math.min(min, lo);
    float nmax = Math.max(max, hi);
    if (Float.compare(nmin, min) == 0 && Float.compare(nmax, max) == 0) {
      return;
    }
    if (counts.length == 0) {
      counts = new long[maxBins];
    }
    int e = exponentFor(nmin, nmax, maxBins);
    long first = index(nmin, e);
    if (e != exponent || first != firstBin) {
      if (total > 0) {
        move(Math.min(63, e - exponent), first);
      }
      exponent = e;
      firstBin = first;
    }
    bins = (int) (index(nmax, e) - first + 1);
    min = nmin;
    max = nmax;
  }

  /**
   * Moves the counts, in place, to bins {@code shift} exponents coarser ({@code shift >= 0}) starting at
   * bin {@code first} of the new width, which is at most the old first bin coarsened. Coarsening maps
   * old bin {@code j} to {@code ((firstBin + j) >> shift) - (firstBin >> shift)}, never above {@code j},
   * so one ascending pass sums them into place; then the bins shift up to start at {@code first}.
   */
  private void move(int shift, long first) {
    long[] c = counts;
    long from = firstBin;
    int held = bins;
    if (shift > 0) {
      from = firstBin >> shift;
      for (int j = 0; j < bins; j++) {
        long v = c[j];
        c[j] = 0;
        c[(int) (((firstBin + j) >> shift) - from)] += v;
      }
      held = (int) (((firstBin + bins - 1) >> shift) - from + 1);
    }
    int up = (int) (from - first);
    if (up > 0) {
      System.arraycopy(c, 0, c, up, held);
      Arrays.fill(c, 0, Math.min(up, held), 0);
    }
  }

  /** Bins {@code a[from, to)}, all within the included range; {@code allFinite} skips the checks. */
  void bin(float[] a, int from, int to, boolean allFinite) {
    double scale = Math.scalb(1.0, -exponent);
    long first = firstBin;
    long[] c = counts;
    if (allFinite) {
      for (int i = from; i < to; i++) {
        c[(int) ((long) Math.floor(a[i] * scale) - first)]++;
      }
      total += to - from;
    } else {
      long n = 0;
      for (int i = from; i < to; i++) {
        float v = a[i];
        if (Float.isFinite(v)) {
          c[(int) ((long) Math.floor(v * scale) - first)]++;
          n++;
        }
      }
      total += n;
    }
  }

  /**
   * Bins {@code len} values of {@code b} from absolute {@code index}, as {@link #bin(float[], int, int, boolean)}.
   * Long all-finite windows go through {@link #binLanes}.
   */
  void bin(FloatBuffer b, int index, int len, boolean allFinite, Chunks chunks) {
    if (allFinite && len >= LANE_MIN_FACTOR * bins) {
      binLanes(b, index, len, chunks);
      return;
    }
    for (int off = 0; off < len; off += Chunks.SIZE) {
      int n = Math.min(Chunks.SIZE, len - off);
      chunks.load(b, index + off, n);
      bin(chunks.array, chunks.offset, chunks.offset + n, allFinite);
    }
  }

  /** Number of interleaved counters per bin in {@link #binLanes}. */
  private static final int LANES = 4;
  /** {@link #binLanes} pays for summing its counters once a window holds this many values per bin. */
  private static final int LANE_MIN_FACTOR = 2;
  /**
   * Scratch of {@link #binLanes}, one per thread (an executor's task threads reuse theirs across tasks
   * and tensors): LANES int counters per bin, interleaved; all zero between calls.
   */
  private static final ThreadLocal<int[]> LANE_SCRATCH = new ThreadLocal<>();

  /**
   * Bins a long all-finite window into {@link #LANES} counters per bin, value {@code i} into counter
   * {@code i % LANES}, then adds the counters to the counts. Runs of values in one bin (the zeros after a
   * ReLU, a saturated tail) otherwise chain every increment on the previous one's store; interleaving
   * lets four of them run at once. The four bin indices are computed before the four increments: with
   * each index computed right before its own increment, C2 compiled the loop into code running at less
   * than half the speed (histograms of the ResNet-style benchmark model: 43 vs 17-22 ms per batch of 16).
   * The counts are the same integers either way.
   */
  private void binLanes(FloatBuffer b, int index, int len, Chunks chunks) {
    int[] l = LANE_SCRATCH.get();
    if (l == null || l.length < LANES * maxBins) {
      l = new int[LANES * maxBins];
      LANE_SCRATCH.set(l);
    }
    double scale = Math.scalb(1.0, -exponent);
    // floor(v / 2^e) and firstBin are integers below 2^53 in magnitude: their difference is exact
    double first = firstBin;
    for (int off = 0; off < len; off += Chunks.SIZE) {
      int n = Math.min(Chunks.SIZE, len - off);
      chunks.load(b, index + off, n);
      float[] a = chunks.array;
      int i = chunks.offset;
      int to = i + n;
      for (; i + 3 < to; i += 4) {
        int k0 = (int) (Math.floor(a[i] * scale) - first);
        int k1 = (int) (Math.floor(a[i + 1] * scale) - first);
        int k2 = (int) (Math.floor(a[i + 2] * scale) - first);
        int k3 = (int) (Math.floor(a[i + 3] * scale) - first);
        l[k0 << 2]++;
        l[(k1 << 2) + 1]++;
        l[(k2 << 2) + 2]++;
        l[(k3 << 2) + 3]++;
      }
      for (; i < to; i++) {
        l[((int) (Math.floor(a[i] * scale) - first) << 2)]++;
      }
    }
    long[] c = counts;
    for (int k = 0, j = 0; k < bins; k++, j += LANES) {
      c[k] += (long) l[j] + l[j + 1] + l[j + 2] + l[j + 3];
    }
    Arrays.fill(l, 0, bins * LANES, 0);
    total += len;
  }

  /**
   * Java serialization (Spark ships states between tasks and to the driver): the fields, then the
   * {@code bins} meaningful counts as unsigned LEB128 integers. Most counts are small, so a state takes a
   * byte or two per bin instead of eight per maximum bin, and an empty histogram (the zero value every
   * task receives) none at all.
   */
  private void writeObject(ObjectOutputStream out) throws IOException {
    out.defaultWriteObject();
    for (int j = 0; j < bins; j++) {
      long v = counts[j];
      while ((v & ~0x7FL) != 0) {
        out.writeByte((int) (v & 0x7F) | 0x80);
        v >>>= 7;
      }
      out.writeByte((int) v);
    }
  }

  private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    if (maxBins < 2 || maxBins > MAX_BINS || bins < 0 || bins > maxBins) {
      throw new InvalidObjectException("histogram of " + bins + " bins of at most " + maxBins);
    }
    counts = bins == 0 ? NO_COUNTS : new long[maxBins];
    for (int j = 0; j < bins; j++) {
      long v = 0;
      for (int shift = 0; ; shift += 7) {
        int b = in.readUnsignedByte();
        if (shift > 63) {
          throw new InvalidObjectException("histogram count " + j + " is longer than 64 bits");
        }
        v |= (long) (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          break;
        }
      }
      counts[j] = v;
    }
  }

  /** Maximum number of bins B. */
  public int maxBins() {
    return maxBins;
  }

  /** Bin width exponent e: bins are 2^e wide. {@link #E_MIN} when empty. */
  public int exponent() {
    return exponent;
  }

  /** Bin width 2^e. */
  public double binWidth() {
    return Math.scalb(1.0, exponent);
  }

  /** Index k of the first bin, {@code floor(min / 2^e)}; bin i of this histogram is bin firstBin + i. */
  public long firstBin() {
    return firstBin;
  }

  /** Number of meaningful bins, {@code floor(max / 2^e) - firstBin + 1}; 0 when empty. */
  public int bins() {
    return bins;
  }

  /** Count of bin {@code i} in {@code [0, bins())}, covering {@code [lowerEdge(i), lowerEdge(i + 1))}. */
  public long count(int i) {
    if (i < 0 || i >= bins) {
      throw new IndexOutOfBoundsException("bin " + i + " of " + bins);
    }
    return counts[i];
  }

  /** The meaningful counts, a copy. */
  public long[] counts() {
    return Arrays.copyOf(counts, bins);
  }

  /** Lower edge {@code (firstBin + i) * 2^e} of bin {@code i} (exact; i may be bins() for the upper edge). */
  public double lowerEdge(int i) {
    return Math.scalb((double) (firstBin + i), exponent);
  }

  /** Number of values binned: the finite values seen. */
  public long total() {
    return total;
  }

  /** Smallest value binned; +Inf when empty. */
  public float min() {
    return min;
  }

  /** Largest value binned; -Inf when empty. */
  public float max() {
    return max;
  }

  public Histogram copy() {
    return new Histogram(maxBins).merge(this);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Histogram h
        && maxBins == h.maxBins
        && exponent == h.exponent
        && firstBin == h.firstBin
        && bins == h.bins
        && total == h.total
        && Float.compare(min, h.min) == 0
        && Float.compare(max, h.max) == 0
        && Arrays.equals(counts, 0, bins, h.counts, 0, h.bins);
  }

  @Override
  public int hashCode() {
    int h = Integer.hashCode(maxBins);
    h = 31 * h + exponent;
    h = 31 * h + Long.hashCode(firstBin);
    h = 31 * h + Long.hashCode(total);
    for (int i = 0; i < bins; i++) {
      h = 31 * h + Long.hashCode(counts[i]);
    }
    return h;
  }

  @Override
  public String toString() {
    return "Histogram[e=" + exponent + ", firstBin=" + firstBin + ", bins=" + bins + "/" + maxBins
        + ", total=" + total + ", range=[" + min + ", " + max + "]]";
  }
}
