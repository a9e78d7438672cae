package dev.qcal.stats;

import java.io.Serializable;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Statistics of one activation tensor over all elements seen, per tensor and optionally per channel:
 * exact min and max of the finite values (a zero extreme is always {@code +0.0}), the count of finite values, separate counts of NaN, +Inf
 * and -Inf (non-finite values are counted, never put in ranges or histograms) and exact
 * {@link Histogram}s.
 *
 * <p>Shapes may vary between batches (dynamic batch, width, sequence length): statistics are over
 * elements. Only the channel dimension must stay fixed. The channel axis comes from
 * {@link StatsConfig#channelAxis} at the first {@link #add}; for channel axis {@code a} and shape
 * {@code [d0, .., dr-1]}, channel {@code c} of outer index {@code o} is the contiguous run
 * {@code [(o * C + c) * inner, + inner)} with {@code C = d_a}, {@code inner = d_a+1 * .. * dr-1}.
 *
 * <p>The state has a fixed size (channels and histogram bins are fixed), so it never grows with the
 * data, and it is a function of the multiset of values seen (plus the axis and channel count), so
 * it is identical for any partitioning, batch size or retry.
 */
public final class TensorStats implements Serializable {
  private static final long serialVersionUID = 2L;

  private final String tensor;
  private final StatsConfig config;

  private float min = Float.POSITIVE_INFINITY;
  private float max = Float.NEGATIVE_INFINITY;
  private long count;
  private long nanCount;
  private long posInfCount;
  private long negInfCount;
  private final Histogram histogram;

  /** Whether a batch was added, fixing {@link #axis} and {@link #channels}. */
  private boolean shaped;
  /** Channel axis, -1 for per-tensor statistics only. */
  private int axis = -1;
  private int channels;
  private float[] channelMin;
  private float[] channelMax;
  private long[] channelCount;
  private long[] channelNan;
  private long[] channelPosInf;
  private long[] channelNegInf;
  private Histogram[] channelHistograms;

  private transient RangeScan scan;
  private transient long[] batchNonFinite;
  private transient float[] rowMin;
  private transient float[] rowMax;
  private transient FloatBuffer boxScratch;

  private TensorStats(String tensor, StatsConfig config) {
    this.tensor = Objects.requireNonNull(tensor, "tensor");
    this.config = Objects.requireNonNull(config, "config");
    this.histogram = config.histogramBins() > 0 ? Histogram.empty(config.histogramBins()) : null;
  }

  /** The identity of {@link #merge}: no values seen, channel axis not fixed yet. */
  public static TensorStats empty(String tensor, StatsConfig config) {
    return new TensorStats(tensor, config);
  }

  /**
   * Adds one batch: the {@code remaining()} values of {@code values}, row-major with {@code shape}
   * (batch dimension included), leaving the position unchanged.
   *
   * @throws IllegalArgumentException naming the tensor if the shape does not match the values, the
   *     channel axis is out of range or the channel count differs from earlier batches
   */
  public TensorStats add(FloatBuffer values, long[] shape) {
    int n = values.remaining();
    checkShape(n, shape);
    Integer a = channelAxisOf(shape);
    fixShape(a == null ? -1 : a, a == null ? 0 : shape[a], shape);
    if (scan == null) {
      scan = new RangeScan();
    }
    int pos = values.position();
    if (axis < 0) {
      addPerTensor(values, pos, n);
    } else {
      addPerChannel(values, pos, n, shape);
    }
    return this;
  }

  /**
   * Adds one batch known to hold only finite values, given by its shape and its minima and maxima
   * (computed elsewhere, e.g. reduced inside ONNX Runtime): per channel ({@code C} values along the
   * channel axis) when this tensor has one, else one value each. The state becomes exactly what
   * {@link #add} of the values would give. Only without histograms, which need the values.
   *
   * @throws IllegalArgumentException naming the tensor if the shape is not valid, the channel axis or
   *     count differs from earlier batches, or the minima and maxima do not match the channel count
   * @throws IllegalStateException if this configuration collects histograms
   */
  public TensorStats addFinite(long[] shape, float[] mins, float[] maxs) {
    if (histogram != null || config.channelHistogramBins() > 0) {
      throw new IllegalStateException("tensor '" + tensor + "': histograms need the values, not only minima and maxima");
    }
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(String.format("tensor '%s': invalid shape %s", tensor, Arrays.toString(shape)));
      }
      n = Math.multiplyExact(n, d);
    }
    Integer a = channelAxisOf(shape);
    int expected = a == null ? 1 : (int) shape[a];
    fixShape(a == null ? -1 : a, a == null ? 0 : shape[a], shape);
    if (n == 0) {
      return this;
    }
    if (mins.length != expected || maxs.length != expected) {
      throw new IllegalArgumentException(String.format("tensor '%s': %d minima and %d maxima for shape %s, expected %d",
          tensor, mins.length, maxs.length, Arrays.toString(shape), expected));
    }
    float tmin = Float.POSITIVE_INFINITY;
    float tmax = Float.NEGATIVE_INFINITY;
    long perChannel = a == null ? n : n / expected;
    for (int ch = 0; ch < expected; ch++) {
      float mn = RangeScan.canonical(mins[ch]);
      float mx = RangeScan.canonical(maxs[ch]);
      if (!(mn >= -Float.MAX_VALUE && mx <= Float.MAX_VALUE && mn <= mx)) {
        throw new IllegalArgumentException(String.format(
            "tensor '%s': channel %d range [%s, %s] of a batch said to hold only finite values", tensor, ch, mn, mx));
      }
      tmin = Math.min(tmin, mn);
      tmax = Math.max(tmax, mx);
      if (axis >= 0) {
        channelMin[ch] = Math.min(channelMin[ch], mn);
        channelMax[ch] = Math.max(channelMax[ch], mx);
        channelCount[ch] += perChannel;
      }
    }
    min = Math.min(min, tmin);
    max = Math.max(max, tmax);
    count += n;
    return this;
  }

  /**
   * Adds the valid box of one row of a batch: of the {@code remaining()} values of {@code values}, row-major
   * with {@code shape} ({@code [rows, d1, ..., dk]}), those of row {@code row} at indices below {@code ends}
   * ({@code k} values, {@code 0 <= ends[a] <= d(a+1)}), as one batch of shape {@code [1, ends...]}: the state
   * becomes exactly what {@link #add} of those values alone gives, so the merge contract is unchanged.
   * Leaves the position unchanged. Used to leave padded positions ({@code --pad}) out of the statistics.
   *
   * @throws IllegalArgumentException naming the tensor if the shape does not match the values, the row or
   *     the ends are out of range, or as {@link #add}
   */
  public TensorStats addBox(FloatBuffer values, long[] shape, int row, long[] ends) {
    checkShape(values.remaining(), shape);
    if (shape.length != ends.length + 1 || row < 0 || row >= shape[0]) {
      throw new IllegalArgumentException(String.format("tensor '%s': row %d, ends %s for shape %s", tensor, row,
          Arrays.toString(ends), Arrays.toString(shape)));
    }
    long[] box = new long[shape.length];
    box[0] = 1;
    boolean full = true;
    for (int a = 0; a < ends.length; a++) {
      if (ends[a] < 0 || ends[a] > shape[a + 1]) {
        throw new IllegalArgumentException(String.format("tensor '%s': ends %s outside shape %s", tensor,
            Arrays.toString(ends), Arrays.toString(shape)));
      }
      box[a + 1] = ends[a];
      full &= ends[a] == shape[a + 1];
    }
    int rowSize = (int) (values.remaining() / shape[0]);
    int start = values.position() + row * rowSize;
    if (full) {
      return add(values.duplicate().position(start).limit(start + rowSize), box);
    }
    long n = 1;
    for (long d : box) {
      n *= d;
    }
    if (boxScratch == null || boxScratch.capacity() < n) {
      boxScratch = FloatBuffer.allocate((int) n);
    }
    FloatBuffer dst = boxScratch.clear();
    int k = ends.length;
    if (n > 0) {
      // copy runs along the last axis: one per index of the leading box axes
      int run = (int) ends[k - 1];
      long[] idx = new long[k];
      FloatBuffer src = values.duplicate();
      while (true) {
        long off = 0;
        for (int a = 0; a < k; a++) {
          off = off * shape[a + 1] + idx[a];
        }
        src.limit(start + (int) off + run).position(start + (int) off);
        dst.put(src);
        int a = k - 2;
        for (; a >= 0; a--) {
          if (++idx[a] < ends[a]) {
            break;
          }
          idx[a] = 0;
        }
        if (a < 0) {
          break;
        }
      }
    }
    dst.flip();
    return add(dst, box);
  }

  /** Adds a 1-D batch ({@code shape = [values.length]}); for tests and small tools. */
  public TensorStats add(float[] values) {
    return add(FloatBuffer.wrap(values), new long[] {values.length});
  }

  /** The configured channel axis for a batch of {@code shape}, null for per tensor; checked in range. */
  private Integer channelAxisOf(long[] shape) {
    Integer a = config.channelAxis(tensor, shape.length);
    if (a != null && a >= shape.length) {
      throw new IllegalArgumentException(String.format(
          "tensor '%s': channel axis %d out of range for shape %s", tensor, a, Arrays.toString(shape)));
    }
    return a;
  }

  private void checkShape(int n, long[] shape) {
    long p = 1;
    for (long d : shape) {
      if (d < 0) {
        p = -1;
        break;
      }
      p = Math.multiplyHigh(p, d) != 0 ? -1 : p * d;
      if (p < 0) {
        break;
      }
    }
    if (p != n) {
      throw new IllegalArgumentException(String.format(
          "tensor '%s': shape %s does not hold the %d values given", tensor, Arrays.toString(shape), n));
    }
  }

  private void fixShape(int a, long c, long[] shape) {
    if (!shaped) {
      allocate(a, (int) c);
    } else if (a != axis) {
      throw new IllegalArgumentException(String.format(
          "tensor '%s': channel axis changed from %s to %s (shape %s)", tensor, axisName(axis), axisName(a),
          Arrays.toString(shape)));
    } else if (c != channels) {
      throw new IllegalArgumentException(String.format(
          "tensor '%s': channel count changed from %d to %d (axis %d, shape %s)", tensor, channels, c, a,
          Arrays.toString(shape)));
    }
  }

  private static String axisName(int a) {
    return a < 0 ? "none (per tensor)" : Integer.toString(a);
  }

  private void allocate(int a, int c) {
    shaped = true;
    axis = a;
    channels = c;
    if (a < 0) {
      return;
    }
    channelMin = new float[c];
    channelMax = new float[c];
    Arrays.fill(channelMin, Float.POSITIVE_INFINITY);
    Arrays.fill(channelMax, Float.NEGATIVE_INFINITY);
    channelCount = new long[c];
    channelNan = new long[c];
    channelPosInf = new long[c];
    channelNegInf = new long[c];
    if (config.channelHistogramBins() > 0) {
      channelHistograms = new Histogram[c];
      for (int i = 0; i < c; i++) {
        channelHistograms[i] = Histogram.empty(config.channelHistogramBins());
      }
    }
  }

  private void addPerTensor(FloatBuffer values, int pos, int n) {
    RangeScan r = scan.scan(values, pos, n);
    min = Math.min(min, r.min);
    max = Math.max(max, r.max);
    count += r.finite;
    nanCount += r.nan;
    posInfCount += r.posInf;
    negInfCount += r.negInf;
    if (histogram != null && r.finite > 0) {
      histogram.include(r.min, r.max);
      histogram.bin(values, pos, n, r.finite == n, r.chunks);
    }
  }

  private void addPerChannel(FloatBuffer values, int pos, int n, long[] shape) {
    if (n == 0) {
      return;
    }
    int inner = 1;
    for (int i = axis + 1; i < shape.length; i++) {
      inner *= (int) shape[i];
    }
    int outer = n / channels / inner;
    if (batchNonFinite == null) {
      batchNonFinite = new long[channels];
    }
    Arrays.fill(batchNonFinite, 0);
    BatchRange b = inner == 1 && channels <= Chunks.SIZE && scanRows(values, pos, outer)
        ? rowsRange(n) // channel-last, all finite: rows already folded in
        : scanRuns(values, pos, outer, inner);
    min = Math.min(min, b.min);
    max = Math.max(max, b.max);
    count += b.finite;
    if (histogram != null && b.finite > 0) {
      histogram.include(b.min, b.max);
      histogram.bin(values, pos, n, b.nonFinite == 0, scan.chunks);
    }
    if (channelHistograms != null) {
      binChannels(values, pos, outer, inner);
    }
  }

  /** One batch's range and counts over all channels, folded into the tensor's by {@link #addPerChannel}. */
  private static final class BatchRange {
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    long finite;
    long nonFinite;
  }

  /** The batch's range after {@link #scanRows} folded its {@code n} values, all finite, into the channels. */
  private BatchRange rowsRange(int n) {
    BatchRange b = new BatchRange();
    for (int ch = 0; ch < channels; ch++) {
      b.min = Math.min(b.min, rowMin[ch]);
      b.max = Math.max(b.max, rowMax[ch]);
    }
    b.finite = n;
    return b;
  }

  /**
   * Scans the batch run by run ({@code outer * C} runs of {@code inner} values, channel {@code run % C}),
   * folding each into its channel's state ({@link #foldRun}); returns the batch's range and counts.
   */
  private BatchRange scanRuns(FloatBuffer values, int pos, int outer, int inner) {
    // Runs shorter than a chunk are read a chunk of whole runs at a time: one bulk copy out of ONNX
    // Runtime's buffer for many runs instead of one per run.
    int perLoad = inner <= Chunks.SIZE ? Chunks.SIZE / inner : 1;
    int runs = outer * channels;
    Chunks chunks = scan.chunks;
    BatchRange b = new BatchRange();
    for (int run0 = 0, ch = 0; run0 < runs; run0 += perLoad) {
      int m = Math.min(perLoad, runs - run0);
      float[] a = null;
      int base = 0;
      if (perLoad > 1) {
        chunks.load(values, pos + run0 * inner, m * inner);
        a = chunks.array;
        base = chunks.offset;
      }
      for (int j = 0; j < m; j++, base += inner) {
        if (a != null) {
          scan.scan(a, base, base + inner);
        } else {
          scan.scan(values, pos + (run0 + j) * inner, inner);
        }
        foldRun(ch, inner, b);
        if (++ch == channels) {
          ch = 0;
        }
      }
    }
    return b;
  }

  /** Folds the run of {@code inner} values {@link #scan} just scanned, of channel {@code ch}, into the state and b. */
  private void foldRun(int ch, int inner, BatchRange b) {
    RangeScan r = scan;
    channelMin[ch] = Math.min(channelMin[ch], r.min);
    channelMax[ch] = Math.max(channelMax[ch], r.max);
    b.min = Math.min(b.min, r.min);
    b.max = Math.max(b.max, r.max);
    channelCount[ch] += r.finite;
    b.finite += r.finite;
    if (r.finite != inner) {
      channelNan[ch] += r.nan;
      channelPosInf[ch] += r.posInf;
      channelNegInf[ch] += r.negInf;
      nanCount += r.nan;
      posInfCount += r.posInf;
      negInfCount += r.negInf;
      batchNonFinite[ch] += inner - r.finite;
      b.nonFinite += inner - r.finite;
    }
  }

  /** Bins the batch's runs into the per-channel histograms, each first widened to its channel's whole range. */
  private void binChannels(FloatBuffer values, int pos, int outer, int inner) {
    int c = channels;
    for (int ch = 0; ch < c; ch++) {
      if (channelCount[ch] > 0) {
        channelHistograms[ch].include(channelMin[ch], channelMax[ch]);
      }
    }
    for (int o = 0; o < outer; o++) {
      for (int ch = 0; ch < c; ch++) {
        channelHistograms[ch].bin(values, pos + (o * c + ch) * inner, inner, batchNonFinite[ch] == 0, scan.chunks);
      }
    }
  }

  /**
   * Channel-last fast path ({@code inner == 1}): channel {@code c} of row {@code o} is value
   * {@code o * C + c}, so the rows are scanned as vectors of channels. Folds the batch into the
   * per-channel state and returns true when every value is finite; otherwise changes nothing and
   * returns false (the caller then scans channel by channel, counting non-finite values).
   */
  private boolean scanRows(FloatBuffer values, int pos, int outer) {
    int c = channels;
    if (rowMin == null) {
      rowMin = new float[c];
      rowMax = new float[c];
    }
    float[] mn = rowMin;
    float[] mx = rowMax;
    Arrays.fill(mn, Float.POSITIVE_INFINITY);
    Arrays.fill(mx, Float.NEGATIVE_INFINITY);
    Chunks chunks = scan.chunks;
    int rowsPerChunk = Chunks.SIZE / c;
    for (int o = 0; o < outer; o += rowsPerChunk) {
      int rows = Math.min(rowsPerChunk, outer - o);
      chunks.load(values, pos + o * c, rows * c);
      float[] a = chunks.array;
      for (int row = 0, base = chunks.offset; row < rows; row++, base += c) {
        for (int ch = 0; ch < c; ch++) {
          float v = a[base + ch];
          mn[ch] = Math.min(mn[ch], v);
          mx[ch] = Math.max(mx[ch], v);
        }
      }
    }
    for (int ch = 0; ch < c; ch++) {
      // Math.min/max propagate NaN and keep infinities: finite results mean finite values only
      if (!(mn[ch] >= -Float.MAX_VALUE && mx[ch] <= Float.MAX_VALUE)) {
        return false;
      }
    }
    for (int ch = 0; ch < c; ch++) {
      mn[ch] = RangeScan.canonical(mn[ch]);
      mx[ch] = RangeScan.canonical(mx[ch]);
      channelMin[ch] = Math.min(channelMin[ch], mn[ch]);
      channelMax[ch] = Math.max(channelMax[ch], mx[ch]);
      channelCount[ch] += outer;
    }
    return true;
  }

  /**
   * Merges {@code other} into this state and returns this.
   *
   * <p>Contract: associative and commutative, {@link #empty} is the identity, so the merged state
   * equals the state of one pass of {@link #add} over the batches of both sides in any order,
   * whatever the partitioning: min/max are exact (no arithmetic), counts are integer sums and
   * histograms merge exactly ({@link Histogram#merge}). Compatibility is checked first: both sides
   * must describe the same tensor under the same {@link StatsConfig} and, once both have seen data,
   * the same channel axis and channel count; otherwise an {@link IllegalArgumentException} names the
   * tensor and both values.
   */
  public TensorStats merge(TensorStats other) {
    if (!tensor.equals(other.tensor)) {
      throw new IllegalArgumentException(
          "Cannot merge statistics of tensor '" + tensor + "' with those of tensor '" + other.tensor + "'");
    }
    return mergeValues(other);
  }

  /** A deep copy under the name {@code name}: the same values, seen where a graph rewrite renamed the tensor. */
  public TensorStats copyAs(String name) {
    return empty(name, config).mergeValues(this);
  }

  private TensorStats mergeValues(TensorStats other) {
    if (!config.equals(other.config)) {
      throw new IllegalArgumentException(String.format(
          "Cannot merge statistics of tensor '%s': collected with different configurations %s != %s", tensor,
          config, other.config));
    }
    if (other.shaped) {
      if (!shaped) {
        allocate(other.axis, other.channels);
      } else if (axis != other.axis) {
        throw new IllegalArgumentException(String.format("Cannot merge statistics of tensor '%s': channel axis %s != %s",
            tensor, axisName(axis), axisName(other.axis)));
      } else if (channels != other.channels) {
        throw new IllegalArgumentException(String.format(
            "Cannot merge statistics of tensor '%s': %d != %d channels", tensor, channels, other.channels));
      }
    }
    min = Math.min(min, other.min);
    max = Math.max(max, other.max);
    count += other.count;
    nanCount += other.nanCount;
    posInfCount += other.posInfCount;
    negInfCount += other.negInfCount;
    if (histogram != null) {
      histogram.merge(other.histogram);
    }
    if (other.shaped && axis >= 0) {
      for (int c = 0; c < channels; c++) {
        channelMin[c] = Math.min(channelMin[c], other.channelMin[c]);
        channelMax[c] = Math.max(channelMax[c], other.channelMax[c]);
        channelCount[c] += other.channelCount[c];
        channelNan[c] += other.channelNan[c];
        channelPosInf[c] += other.channelPosInf[c];
        channelNegInf[c] += other.channelNegInf[c];
        if (channelHistograms != null) {
          channelHistograms[c].merge(other.channelHistograms[c]);
        }
      }
    }
    return this;
  }

  /** A deep copy. */
  public TensorStats copy() {
    return empty(tensor, config).merge(this);
  }

  /** Restores the shape part of a state read from a file; -2 = no batch added yet. */
  void restoreShape(int a, int c) {
    if (a >= -1) {
      allocate(a, c);
    }
  }

  void restoreTensor(float mn, float mx, long cnt, long nan, long pinf, long ninf, Histogram h) {
    min = mn;
    max = mx;
    count = cnt;
    nanCount = nan;
    posInfCount = pinf;
    negInfCount = ninf;
    if (histogram != null) {
      histogram.merge(h);
    }
  }

  void restoreChannel(int c, float mn, float mx, long cnt, long nan, long pinf, long ninf, Histogram h) {
    channelMin[c] = mn;
    channelMax[c] = mx;
    channelCount[c] = cnt;
    channelNan[c] = nan;
    channelPosInf[c] = pinf;
    channelNegInf[c] = ninf;
    if (channelHistograms != null) {
      channelHistograms[c].merge(h);
    }
  }

  /** Whether a batch was added (or merged in), fixing the channel axis and count. */
  boolean shaped() {
    return shaped;
  }

  public String tensor() {
    return tensor;
  }

  public StatsConfig config() {
    return config;
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

  /** Histogram of the finite values; null when histograms are off. */
  public Histogram histogram() {
    return histogram;
  }

  /** Channel axis, null for per-tensor statistics only (and before the first batch). */
  public Integer axis() {
    return axis < 0 ? null : axis;
  }

  /** Number of channels; 0 for per-tensor statistics and before the first batch. */
  public int channels() {
    return channels;
  }

  public float channelMin(int c) {
    return channelMin[checkChannel(c)];
  }

  public float channelMax(int c) {
    return channelMax[checkChannel(c)];
  }

  public long channelCount(int c) {
    return channelCount[checkChannel(c)];
  }

  public long channelNanCount(int c) {
    return channelNan[checkChannel(c)];
  }

  public long channelPosInfCount(int c) {
    return channelPosInf[checkChannel(c)];
  }

  public long channelNegInfCount(int c) {
    return channelNegInf[checkChannel(c)];
  }

  public long channelNonFiniteCount(int c) {
    return channelNan[checkChannel(c)] + channelPosInf[c] + channelNegInf[c];
  }

  /** Histogram of channel {@code c}; null when per-channel histograms are off. */
  public Histogram channelHistogram(int c) {
    checkChannel(c);
    return channelHistograms == null ? null : channelHistograms[c];
  }

  private int checkChannel(int c) {
    if (c < 0 || c >= channels) {
      throw new IndexOutOfBoundsException(String.format("tensor '%s': channel %d of %d", tensor, c, channels));
    }
    return c;
  }

  /** Nothing seen yet: no batch shaped the state and no value was counted. */
  boolean isEmpty() {
    return !shaped && count == 0 && nanCount == 0 && posInfCount == 0 && negInfCount == 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorStats s
        && tensor.equals(s.tensor)
        && config.equals(s.config)
        && Float.compare(min, s.min) == 0
        && Float.compare(max, s.max) == 0
        && count == s.count
        && nanCount == s.nanCount
        && posInfCount == s.posInfCount
        && negInfCount == s.negInfCount
        && Objects.equals(histogram, s.histogram)
        && shaped == s.shaped
        && axis == s.axis
        && channels == s.channels
        && Arrays.equals(channelMin, s.channelMin)
        && Arrays.equals(channelMax, s.channelMax)
        && Arrays.equals(channelCount, s.channelCount)
        && Arrays.equals(channelNan, s.channelNan)
        && Arrays.equals(channelPosInf, s.channelPosInf)
        && Arrays.equals(channelNegInf, s.channelNegInf)
        && Arrays.equals(channelHistograms, s.channelHistograms);
  }

  @Override
  public int hashCode() {
    return Objects.hash(tensor, min, max, count, nanCount, posInfCount, negInfCount, histogram, axis, channels,
        Arrays.hashCode(channelMin), Arrays.hashCode(channelMax), Arrays.hashCode(channelCount));
  }

  @Override
  public String toString() {
    return tensor + "[min=" + min + ", max=" + max + ", count=" + count + ", nan=" + nanCount
        + ", +inf=" + posInfCount + ", -inf=" + negInfCount
        + (axis >= 0 ? ", axis=" + axis + ", channels=" + channels : "")
        + (histogram != null ? ", " + histogram : "") + "]";
  }
}
