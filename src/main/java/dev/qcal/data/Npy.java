package dev.qcal.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0), one row at a time.
 *
 * <p>A row is one sample: the sub-array at one index of the first axis. A 1-d array of shape
 * {@code (n,)} has {@code n} rows of one element each; a 0-d array (shape {@code ()}) is read as a
 * single row of one element. The reader accepts the little-endian numeric dtypes of {@link ElemType}
 * ({@code '<f4'}, {@code '<f8'}, {@code '<f2'}, {@code '<i8'}, {@code '<i4'}, {@code '<i2'},
 * {@code '|i1'}, {@code '|u1'}, {@code '<u2'}, {@code '|b1'}) in C order, read into a typed array
 * with exact-fit checks ({@link #readRow(ElemType, Object, int)}) or as floats ({@link #readRow(float[])});
 * the writers produce format 1.0 in C order.
 * See https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html.
 */
public final class Npy {

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  /** numpy aligns the start of the data (magic + version + length + header) to this many bytes. */
  private static final int ALIGN = 64;
  /** Upper bound on a header's length; numpy's own reader refuses headers larger than 10000 bytes. */
  private static final int MAX_HEADER = 1 << 20;

  private static final Pattern DESCR = Pattern.compile("['\"]descr['\"]\\s*:\\s*['\"]([^'\"]*)['\"]");
  private static final Pattern FORTRAN =
      Pattern.compile("['\"]fortran_order['\"]\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("['\"]shape['\"]\\s*:\\s*\\(([^)]*)\\)");

  private Npy() {}

  /**
   * Parses the header of a {@code .npy} stream and returns a reader positioned at the first row.
   * {@code sourceName} names the stream in error messages. The stream is buffered here if it is not
   * already, and closed when the reader is closed (or when the header is rejected).
   */
  public static Reader open(InputStream in, String sourceName) throws IOException {
    InputStream bin = in instanceof BufferedInputStream ? in : new BufferedInputStream(in, 1 << 16);
    try {
      return readHeader(bin, sourceName);
    } catch (IOException | RuntimeException e) {
      bin.close();
      throw e;
    }
  }

  /** Opens {@code file} for reading; its path is the source name in error messages. */
  public static Reader open(Path file) throws IOException {
    return open(Files.newInputStream(file), file.toString());
  }

  private static Reader readHeader(InputStream in, String source) throws IOException {
    byte[] magic = new byte[MAGIC.length + 2];
    int got = in.readNBytes(magic, 0, magic.length);
    if (got < MAGIC.length || !Arrays.equals(Arrays.copyOf(magic, MAGIC.length), MAGIC)) {
      throw new IOException(source + ": not a .npy file (bad magic bytes)");
    }
    if (got < magic.length) {
      throw new IOException(source + ": truncated header: expected 8 bytes of magic and version, found " + got);
    }
    int major = magic[6] & 0xff;
    int minor = magic[7] & 0xff;
    int lenBytes;
    if (major == 1) {
      lenBytes = 2;
    } else if (major == 2 || major == 3) {
      lenBytes = 4;
    } else {
      throw new IOException(
          source + ": expected .npy format version 1.0, 2.0 or 3.0, found " + major + "." + minor);
    }
    byte[] lenBuf = readFully(in, lenBytes, source, "header length");
    long headerLen = ByteBuffer.wrap(lenBuf).order(ByteOrder.LITTLE_ENDIAN).getShort(0) & 0xffffL;
    if (lenBytes == 4) {
      headerLen = ByteBuffer.wrap(lenBuf).order(ByteOrder.LITTLE_ENDIAN).getInt(0) & 0xffffffffL;
    }
    if (headerLen > MAX_HEADER) {
      throw new IOException(
          source + ": expected a header of at most " + MAX_HEADER + " bytes, found length " + headerLen);
    }
    byte[] hb = readFully(in, (int) headerLen, source, "header dictionary");
    String header = new String(hb, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    return parseHeader(in, header.strip(), source);
  }

  private static Reader parseHeader(InputStream in, String header, String source) throws IOException {
    String oneLine = header.replace('\n', ' ');
    Matcher d = DESCR.matcher(header);
    Matcher f = FORTRAN.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!header.startsWith("{") || !header.endsWith("}") || !d.find() || !f.find() || !s.find()) {
      throw new IOException(
          source
              + ": expected a header dict with 'descr', 'fortran_order' and 'shape', found "
              + abbreviate(oneLine));
    }
    String descr = d.group(1);
    boolean fortran = f.group(1).equals("True");
    ElemType type = elemType(descr);
    if (type == null) {
      throw new IOException(source + ": expected " + DTYPES + ", found '" + descr + "'" + named(descr));
    }
    int itemSize = type.bytes();
    if (fortran) {
      throw new IOException(source + ": expected " + DTYPES + ", found '" + descr + "' in Fortran order");
    }
    long[] shape = parseShape(s.group(1), source);
    long rows = shape.length == 0 ? 1 : shape[0];
    long elems = 1;
    try {
      for (int i = 1; i < shape.length; i++) {
        elems = Math.multiplyExact(elems, shape[i]);
      }
      Math.multiplyExact(elems, (long) itemSize);
    } catch (ArithmeticException e) {
      elems = Long.MAX_VALUE / itemSize;
    }
    if (elems * itemSize > Integer.MAX_VALUE - 8) {
      throw new IOException(
          source + ": expected rows of at most 2 GiB, found shape " + shapeString(shape) + " of " + itemSize
              + "-byte elements");
    }
    return new Reader(in, source, shape, descr, type, rows, (int) elems, itemSize);
  }

  private static final String DTYPES = "a numeric dtype (float32, float64, float16, int64, int32, int16, int8, uint8,"
      + " uint16 or bool) in little-endian C order";

  /** The element type of a little-endian (or single-byte) numpy dtype descriptor, or null. */
  static ElemType elemType(String descr) {
    if (descr.length() != 3 || "<|=".indexOf(descr.charAt(0)) < 0) {
      return null; // '>' is big-endian; '=' is native order, little-endian on every platform qcal runs on
    }
    ElemType t = switch (descr.substring(1)) {
      case "f4" -> ElemType.FLOAT32;
      case "f8" -> ElemType.FLOAT64;
      case "f2" -> ElemType.FLOAT16;
      case "i8" -> ElemType.INT64;
      case "i4" -> ElemType.INT32;
      case "i2" -> ElemType.INT16;
      case "i1" -> ElemType.INT8;
      case "u1" -> ElemType.UINT8;
      case "u2" -> ElemType.UINT16;
      case "b1" -> ElemType.BOOL;
      default -> null;
    };
    return t != null && descr.charAt(0) == '|' && t.bytes() > 1 ? null : t;
  }

  /** numpy's name of a dtype qcal does not read, for messages, e.g. {@code " (complex64)"}; else "". */
  private static String named(String descr) {
    if (descr.length() < 2) {
      return "";
    }
    char kind = descr.charAt(1);
    String size = descr.substring(2);
    return switch (kind) {
      case 'c' -> " (complex" + (size.isEmpty() ? "" : Integer.parseInt("0" + size.replaceAll("\\D", "")) * 8) + ")";
      case 'U', 'S' -> " (a string dtype)";
      case 'O' -> " (Python objects)";
      case 'V' -> " (raw bytes or a structured dtype)";
      case 'M', 'm' -> " (dates or times)";
      default -> descr.charAt(0) == '>' ? " (big-endian)" : "";
    };
  }

  private static long[] parseShape(String inner, String source) throws IOException {
    List<Long> dims = new ArrayList<>();
    for (String part : inner.split(",")) {
      String p = part.strip();
      if (p.endsWith("L")) { // Python 2 longs, e.g. (3L, 4L)
        p = p.substring(0, p.length() - 1);
      }
      if (p.isEmpty()) {
        continue;
      }
      try {
        long v = Long.parseLong(p);
        if (v < 0) {
          throw new NumberFormatException();
        }
        dims.add(v);
      } catch (NumberFormatException e) {
        throw new IOException(
            source + ": expected a shape of non-negative integers, found (" + inner.strip() + ")");
      }
    }
    return dims.stream().mapToLong(Long::longValue).toArray();
  }

  private static byte[] readFully(InputStream in, int n, String source, String what) throws IOException {
    byte[] b = in.readNBytes(n);
    if (b.length != n) {
      throw new IOException(
          source + ": truncated " + what + ": expected " + n + " bytes, found " + b.length);
    }
    return b;
  }

  private static String abbreviate(String s) {
    return s.length() <= 120 ? s : s.substring(0, 117) + "...";
  }

  /** Streaming reader of one {@code .npy} array, one row (first-axis index) at a time. */
  public static final class Reader implements Closeable {
    private final InputStream in;
    private final String source;
    private final long[] shape;
    private final String dtype;
    private final ElemType type;
    private final long rows;
    private final int rowElements;
    private final int itemSize;
    private final byte[] buf;
    private final ByteBuffer bb;
    private long next;

    private Reader(
        InputStream in, String source, long[] shape, String dtype, ElemType type, long rows, int rowElements,
        int itemSize) {
      this.in = in;
      this.source = source;
      this.shape = shape;
      this.dtype = dtype;
      this.type = type;
      this.rows = rows;
      this.rowElements = rowElements;
      this.itemSize = itemSize;
      this.buf = new byte[rowElements * itemSize];
      this.bb = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The array's shape; empty for a 0-d array. */
    public long[] shape() {
      return shape.clone();
    }

    /** The dtype descriptor as written in the header, e.g. {@code "<f4"}. */
    public String dtype() {
      return dtype;
    }

    /** The element type of the file's dtype. */
    public ElemType type() {
      return type;
    }

    /** Number of rows: {@code shape[0]}, or 1 for a 0-d array. */
    public long rows() {
      return rows;
    }

    /** Elements per row: the product of {@code shape[1:]} (1 for 0-d and 1-d arrays). */
    public int rowElements() {
      return rowElements;
    }

    /** Index of the next row {@link #readRow} will read. */
    public long position() {
      return next;
    }

    /**
     * Reads the next row as floats into {@code dst[0 .. rowElements())}, each element cast to float
     * (rounded; no range checks: for tools and labels, not for model inputs); returns false, leaving
     * {@code dst} unchanged, once all rows have been read.
     *
     * @throws IOException if the stream ends before the row is complete
     */
    public boolean readRow(float[] dst) throws IOException {
      if (dst.length < rowElements) {
        throw new IllegalArgumentException(
            source + ": row needs " + rowElements + " floats but dst has length " + dst.length);
      }
      if (!fill()) {
        return false;
      }
      switch (type) {
        case FLOAT32 -> bb.asFloatBuffer().get(dst, 0, rowElements);
        case FLOAT64 -> {
          var db = bb.asDoubleBuffer();
          for (int i = 0; i < rowElements; i++) {
            dst[i] = (float) db.get(i);
          }
        }
        case INT64 -> {
          var lb = bb.asLongBuffer();
          for (int i = 0; i < rowElements; i++) {
            dst[i] = (float) lb.get(i);
          }
        }
        case UINT8, BOOL -> {
          for (int i = 0; i < rowElements; i++) {
            dst[i] = buf[i] & 0xff;
          }
        }
        default -> {
          for (int i = 0; i < rowElements; i++) {
            dst[i] = switch (type) {
              case INT32 -> bb.getInt(i * 4);
              case INT16 -> bb.getShort(i * 2);
              case UINT16 -> bb.getShort(i * 2) & 0xffff;
              case INT8 -> buf[i];
              default -> Elements.fromHalf(bb.getShort(i * 2)); // FLOAT16
            };
          }
        }
      }
      next++;
      return true;
    }

    /**
     * Reads the next row into {@code dst[offset .. offset + rowElements())}, an array of type {@code to},
     * converting each element exactly (see {@link Elements#convert}); returns null, or why an element does
     * not fit {@code to} ({@code "element i: ..."}, the row counted as read).
     *
     * @throws IOException if all rows have been read or the stream ends before the row is complete
     */
    public String readRow(ElemType to, Object dst, int offset) throws IOException {
      if (!fill()) {
        throw new IOException(source + ": no row " + next + " (the file holds " + rows + ")");
      }
      next++;
      return Elements.convert(bb, type, rowElements, to, dst, offset);
    }

    /** Reads the next row's bytes into the buffer; false when all rows have been read. */
    private boolean fill() throws IOException {
      if (next >= rows) {
        return false;
      }
      int got = in.readNBytes(buf, 0, buf.length);
      if (got != buf.length) {
        throw new IOException(
            String.format(
                "%s: truncated at row %d of %d: expected %d bytes for the row (%d in total for shape %s), found %d",
                source, next, rows, buf.length, rows * buf.length, shapeString(shape), got));
      }
      bb.clear();
      return true;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /**
   * Streaming writer of a C-order format 1.0 {@code .npy} file whose shape is known up front; rows
   * are appended one at a time and {@link #close} checks that all were written.
   */
  public static final class Writer implements Closeable {
    private final Path file;
    private final OutputStream out;
    private final long rows;
    private final int rowElements;
    private final int itemSize;
    private final ByteBuffer bb;
    private long written;

    private Writer(Path file, String descr, int itemSize, long[] shape) throws IOException {
      this.file = file;
      this.itemSize = itemSize;
      this.rows = shape.length == 0 ? 1 : shape[0];
      long elems = 1;
      for (int i = 1; i < shape.length; i++) {
        elems = Math.multiplyExact(elems, shape[i]);
      }
      if (elems * itemSize > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(file + ": row of " + elems + " elements is too large");
      }
      this.rowElements = (int) elems;
      this.bb = ByteBuffer.allocate(rowElements * itemSize).order(ByteOrder.LITTLE_ENDIAN);
      this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
      try {
        out.write(header(descr, shape));
      } catch (IOException e) {
        out.close();
        throw e;
      }
    }

    /** Creates (or truncates) {@code file} for a float32 array of the given shape. */
    public static Writer float32(Path file, long[] shape) throws IOException {
      return new Writer(file, "<f4", 4, checkShape(shape));
    }

    /** Creates (or truncates) {@code file} for an int64 array of the given shape. */
    public static Writer int64(Path file, long[] shape) throws IOException {
      return new Writer(file, "<i8", 8, checkShape(shape));
    }

    /** Elements per row: the product of {@code shape[1:]}. */
    public int rowElements() {
      return rowElements;
    }

    /** Appends the next row from {@code src[0 .. rowElements())} to a float32 file. */
    public void writeRow(float[] src) throws IOException {
      checkRow(4, src.length);
      bb.clear();
      bb.asFloatBuffer().put(src, 0, rowElements);
      out.write(bb.array(), 0, rowElements * 4);
      written++;
    }

    /** Appends the next row from {@code src[0 .. rowElements())} to an int64 file. */
    public void writeRow(long[] src) throws IOException {
      checkRow(8, src.length);
      bb.clear();
      bb.asLongBuffer().put(src, 0, rowElements);
      out.write(bb.array(), 0, rowElements * 8);
      written++;
    }

    private void checkRow(int size, int length) {
      if (size != itemSize) {
        throw new IllegalArgumentException(
            file + ": expected rows of " + (itemSize == 4 ? "float" : "long") + ", got the other type");
      }
      if (length < rowElements) {
        throw new IllegalArgumentException(
            file + ": row needs " + rowElements + " elements but src has length " + length);
      }
      if (written >= rows) {
        throw new IllegalStateException(file + ": all " + rows + " rows have already been written");
      }
    }

    /** Flushes and closes the file; fails if fewer rows were written than the shape declares. */
    @Override
    public void close() throws IOException {
      out.close();
      if (written != rows) {
        throw new IOException(file + ": expected " + rows + " rows to be written, got " + written);
      }
    }
  }

  /** Writes {@code data} (C order) as a float32 {@code .npy} file of the given shape. */
  public static void writeFloat32(Path file, float[] data, long[] shape) throws IOException {
    checkLength(file, data.length, shape);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      out.write(header("<f4", shape));
      ByteBuffer bb = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (int off = 0; off < data.length; off += bb.capacity() / 4) {
        int n = Math.min(bb.capacity() / 4, data.length - off);
        bb.clear();
        bb.asFloatBuffer().put(data, off, n);
        out.write(bb.array(), 0, n * 4);
      }
    }
  }

  /** Writes {@code data} (C order) as an int64 {@code .npy} file of the given shape. */
  public static void writeInt64(Path file, long[] data, long[] shape) throws IOException {
    checkLength(file, data.length, shape);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      out.write(header("<i8", shape));
      ByteBuffer bb = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (int off = 0; off < data.length; off += bb.capacity() / 8) {
        int n = Math.min(bb.capacity() / 8, data.length - off);
        bb.clear();
        bb.asLongBuffer().put(data, off, n);
        out.write(bb.array(), 0, n * 8);
      }
    }
  }

  private static long[] checkShape(long[] shape) {
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("shape " + shapeString(shape) + " has a negative dimension");
      }
    }
    return shape.clone();
  }

  private static void checkLength(Path file, int length, long[] shape) {
    checkShape(shape);
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    if (n != length) {
      throw new IllegalArgumentException(
          file + ": shape " + shapeString(shape) + " holds " + n + " elements but data has " + length);
    }
  }

  /** The shape as Python prints a tuple: {@code ()}, {@code (5,)}, {@code (2, 3)}. */
  static String shapeString(long[] shape) {
    if (shape.length == 1) {
      return "(" + shape[0] + ",)";
    }
    StringBuilder sb = new StringBuilder("(");
    for (int i = 0; i < shape.length; i++) {
      sb.append(i == 0 ? "" : ", ").append(shape[i]);
    }
    return sb.append(')').toString();
  }

  /**
   * The magic, version and header dict exactly as {@code numpy.save} writes them: version 1.0 (2.0
   * only if the dict exceeds 65535 bytes), space-padded so the data starts at a multiple of 64 bytes,
   * ending with a newline.
   */
  public static byte[] header(String descr, long[] shape) {
    String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeString(shape) + ", }";
    int prefix = MAGIC.length + 2 + 2;
    int total = prefix + dict.length() + 1;
    boolean v2 = false;
    if (total - prefix > 0xffff) {
      v2 = true;
      prefix += 2;
      total += 2;
    }
    int pad = (ALIGN - total % ALIGN) % ALIGN;
    byte[] body = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.ISO_8859_1);
    ByteBuffer bb = ByteBuffer.allocate(prefix + body.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.put(MAGIC).put((byte) (v2 ? 2 : 1)).put((byte) 0);
    if (v2) {
      bb.putInt(body.length);
    } else {
      bb.putShort((short) body.length);
    }
    bb.put(body);
    return bb.array();
  }
}
