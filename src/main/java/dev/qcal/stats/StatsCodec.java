package dev.qcal.stats;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The persisted format of merged statistics, {@code stats/stats.bin}. Equal states give equal bytes.
 *
 * <p>Version 1, all numbers little-endian, floats as IEEE 754 bits:
 *
 * <pre>
 * file      := magic version config samples:int64 tensorCount:int32 tensor*  (end of file)
 * magic     := the 8 ASCII bytes "QCALSTAT"
 * version   := int32, 1
 * config    := histogramBins:int32 channelHistogramBins:int32 axisCount:int32
 *              (name:string axis:int32)*          axis overrides sorted by name, -1 = per tensor
 * tensor    := name:string axis:int32 channels:int32 summary [histogram]
 *              (summary [channelHist])*          one per channel when axis &gt;= 0
 *     axis     -2 = no batch seen (channel axis not fixed yet), -1 = per-tensor only, else the
 *              channel axis; channels is 0 unless axis &gt;= 0 (at most 2^24)
 *     [histogram]   present iff histogramBins &gt; 0
 *     [channelHist] present iff channelHistogramBins &gt; 0
 * summary   := min:float32 max:float32 count:int64 nan:int64 posInf:int64 negInf:int64
 *              min/max of the finite values (+Inf/-Inf when there are none); count = finite values
 * histogram := exponent:int32 firstBin:int64 bins:int32 count:int64 * bins
 *              only the meaningful bins firstBin .. firstBin + bins - 1 (no trailing zeros);
 *              bins = 0, exponent = -149, firstBin = 0 when empty. Its range is the enclosing
 *              summary's [min, max] and the reader checks that exponent, firstBin and bins are the
 *              canonical ones for it and that the counts add up to the summary's count.
 * string    := byteLength:int32 UTF-8 bytes
 * </pre>
 *
 * The batch count is not stored: it depends on the batch size, the statistics do not.
 */
public final class StatsCodec {
  /** Format version written and read. */
  public static final int VERSION = 1;
  private static final byte[] MAGIC = "QCALSTAT".getBytes(StandardCharsets.US_ASCII);
  private static final int NO_BATCH = -2;
  private static final int MAX_CHANNELS = 1 << 24;
  private static final int MAX_STRING = 1 << 20;

  private StatsCodec() {}

  /** Writes {@code s} to {@code out} (not closed). */
  public static void write(StatsSet s, OutputStream out) throws IOException {
    Writer w = new Writer(new BufferedOutputStream(out, 1 << 16));
    w.out.write(MAGIC);
    w.i32(VERSION);
    StatsConfig c = s.config();
    w.i32(c.histogramBins());
    w.i32(c.channelHistogramBins());
    w.i32(c.axes().size());
    for (Map.Entry<String, Integer> e : c.axes().entrySet()) {
      w.str(e.getKey());
      w.i32(e.getValue());
    }
    w.i64(s.samples());
    w.i32(s.tensors().size());
    for (TensorStats t : s.tensors().values()) {
      w.str(t.tensor());
      w.i32(!t.shaped() ? NO_BATCH : t.axis() == null ? -1 : t.axis());
      w.i32(t.channels());
      w.summary(t.min(), t.max(), t.count(), t.nanCount(), t.posInfCount(), t.negInfCount());
      if (c.histogramBins() > 0) {
        w.histogram(t.histogram());
      }
      if (t.axis() != null) {
        for (int ch = 0; ch < t.channels(); ch++) {
          w.summary(t.channelMin(ch), t.channelMax(ch), t.channelCount(ch), t.channelNanCount(ch),
              t.channelPosInfCount(ch), t.channelNegInfCount(ch));
          if (c.channelHistogramBins() > 0) {
            w.histogram(t.channelHistogram(ch));
          }
        }
      }
    }
    w.out.flush();
  }

  /** The bytes {@link #write} writes. */
  public static byte[] toBytes(StatsSet s) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try {
      write(s, b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return b.toByteArray();
  }

  /**
   * Reads a file written by {@link #write}, to its end.
   *
   * @throws IOException on a bad magic, an unsupported version, a truncated file (naming what was
   *     expected), trailing bytes or inconsistent contents
   */
  public static StatsSet read(InputStream in) throws IOException {
    Reader r = new Reader(new BufferedInputStream(in, 1 << 16));
    r.where = "file header";
    byte[] magic = r.bytes(MAGIC.length, "8-byte magic");
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new IOException("not a qcal statistics file: bad magic " + hex(magic) + ", expected "
          + hex(MAGIC) + " (\"QCALSTAT\")");
    }
    int version = r.i32("format version");
    if (version != VERSION) {
      throw new IOException(
          "unsupported statistics format version " + version + " (this qcal reads version " + VERSION + ")");
    }
    r.where = "configuration";
    int bins = r.i32("histogram bins");
    int channelBins = r.i32("channel histogram bins");
    int axisCount = r.count(r.i32("axis override count"), Integer.MAX_VALUE, "axis override count");
    Map<String, Integer> axes = new LinkedHashMap<>();
    String previous = null;
    for (int i = 0; i < axisCount; i++) {
      String name = r.str("axis override tensor name");
      if (previous != null && previous.compareTo(name) >= 0) {
        throw new IOException("corrupt statistics file: axis overrides not sorted by name at '" + name + "'");
      }
      previous = name;
      axes.put(name, r.i32("axis of tensor '" + name + "'"));
    }
    StatsConfig config;
    try {
      config = new StatsConfig(bins, channelBins, axes);
    } catch (IllegalArgumentException e) {
      throw new IOException("corrupt statistics file: " + e.getMessage(), e);
    }
    long samples = r.i64("sample count");
    if (samples < 0) {
      throw new IOException("corrupt statistics file: negative sample count " + samples);
    }
    int tensorCount = r.count(r.i32("tensor count"), Integer.MAX_VALUE, "tensor count");
    List<TensorStats> tensors = new ArrayList<>();
    for (int i = 0; i < tensorCount; i++) {
      r.where = "tensor " + i + " of " + tensorCount;
      String name = r.str("tensor name");
      r.where = "tensor '" + name + "'";
      try {
        tensors.add(readTensor(r, name, config));
      } catch (IllegalArgumentException e) {
        throw new IOException("corrupt statistics file, " + r.where + ": " + e.getMessage(), e);
      }
    }
    if (r.in.read() != -1) {
      throw new IOException("corrupt statistics file: bytes after the last of " + tensorCount + " tensors");
    }
    try {
      return StatsSet.restored(config, samples, tensors);
    } catch (IllegalArgumentException e) {
      throw new IOException("corrupt statistics file: " + e.getMessage(), e);
    }
  }

  private static TensorStats readTensor(Reader r, String name, StatsConfig config) throws IOException {
    TensorStats t = TensorStats.empty(name, config);
    int axis = r.i32("channel axis");
    int channels = r.i32("channel count");
    if (axis < NO_BATCH || (axis < 0 && channels != 0)) {
      throw new IllegalArgumentException("channel axis " + axis + " with " + channels + " channels");
    }
    r.count(channels, MAX_CHANNELS, "channel count");
    t.restoreShape(axis, channels);
    Summary s = r.summary();
    t.restoreTensor(s.min, s.max, s.count, s.nan, s.posInf, s.negInf,
        config.histogramBins() > 0 ? r.histogram(config.histogramBins(), s) : null);
    if (axis >= 0) {
      String tensorWhere = r.where;
      for (int c = 0; c < channels; c++) {
        r.where = tensorWhere + ", channel " + c;
        Summary cs = r.summary();
        t.restoreChannel(c, cs.min, cs.max, cs.count, cs.nan, cs.posInf, cs.negInf,
            config.channelHistogramBins() > 0 ? r.histogram(config.channelHistogramBins(), cs) : null);
      }
      r.where = tensorWhere;
    }
    return t;
  }

  private static String hex(byte[] b) {
    StringBuilder s = new StringBuilder("0x");
    for (byte x : b) {
      s.append(String.format("%02x", x));
    }
    return s.toString();
  }

  private record Summary(float min, float max, long count, long nan, long posInf, long negInf) {}

  private static final class Writer {
    final OutputStream out;
    final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    Writer(OutputStream out) {
      this.out = out;
    }

    void i32(int v) throws IOException {
      out.write(buf.clear().putInt(v).array(), 0, 4);
    }

    void i64(long v) throws IOException {
      out.write(buf.clear().putLong(v).array(), 0, 8);
    }

    void f32(float v) throws IOException {
      i32(Float.floatToRawIntBits(v));
    }

    void str(String s) throws IOException {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      i32(b.length);
      out.write(b);
    }

    void summary(float min, float max, long count, long nan, long posInf, long negInf) throws IOException {
      f32(min);
      f32(max);
      i64(count);
      i64(nan);
      i64(posInf);
      i64(negInf);
    }

    void histogram(Histogram h) throws IOException {
      i32(h.exponent());
      i64(h.firstBin());
      i32(h.bins());
      for (int i = 0; i < h.bins(); i++) {
        i64(h.count(i));
      }
    }
  }

  private static final class Reader {
    final InputStream in;
    final byte[] b8 = new byte[8];
    final ByteBuffer buf = ByteBuffer.wrap(b8).order(ByteOrder.LITTLE_ENDIAN);
    /** Where in the file we are, for messages. */
    String where = "";

    Reader(InputStream in) {
      this.in = in;
    }

    private void fill(byte[] dst, int n, String what) throws IOException {
      int got = in.readNBytes(dst, 0, n);
      if (got < n) {
        throw new EOFException("statistics file truncated: expected " + what + " (" + n + " bytes) in "
            + where + ", got " + got);
      }
    }

    byte[] bytes(int n, String what) throws IOException {
      byte[] b = new byte[n];
      fill(b, n, what);
      return b;
    }

    int i32(String what) throws IOException {
      fill(b8, 4, "int32 " + what);
      return buf.getInt(0);
    }

    long i64(String what) throws IOException {
      fill(b8, 8, "int64 " + what);
      return buf.getLong(0);
    }

    float f32(String what) throws IOException {
      fill(b8, 4, "float32 " + what);
      return buf.getFloat(0);
    }

    int count(int n, int max, String what) throws IOException {
      if (n < 0 || n > max) {
        throw new IOException("corrupt statistics file, " + where + ": " + what + " " + n);
      }
      return n;
    }

    String str(String what) throws IOException {
      int n = count(i32("byte length of " + what), MAX_STRING, "byte length of " + what);
      return new String(bytes(n, what), StandardCharsets.UTF_8);
    }

    Summary summary() throws IOException {
      Summary s = new Summary(f32("min"), f32("max"), i64("finite count"), i64("NaN count"),
          i64("+Inf count"), i64("-Inf count"));
      if (s.count < 0 || s.nan < 0 || s.posInf < 0 || s.negInf < 0) {
        throw new IllegalArgumentException("negative count in " + s);
      }
      if (s.count == 0 ? !(s.min == Float.POSITIVE_INFINITY && s.max == Float.NEGATIVE_INFINITY)
          : !(Float.isFinite(s.min) && Float.isFinite(s.max) && s.min <= s.max)) {
        throw new IllegalArgumentException("range [" + s.min + ", " + s.max + "] with " + s.count + " finite values");
      }
      return s;
    }

    Histogram histogram(int maxBins, Summary s) throws IOException {
      int e = i32("histogram exponent");
      long first = i64("histogram first bin");
      int n = count(i32("histogram bin count"), maxBins, "histogram bin count");
      long[] counts = new long[n];
      for (int i = 0; i < n; i++) {
        counts[i] = i64("histogram count " + i + " of " + n);
      }
      Histogram h = Histogram.restore(maxBins, s.min, s.max, e, first, counts);
      if (h.total() != s.count) {
        throw new IllegalArgumentException("histogram counts add up to " + h.total() + ", not " + s.count);
      }
      return h;
    }
  }
}
