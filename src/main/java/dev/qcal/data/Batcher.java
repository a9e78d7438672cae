package dev.qcal.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * Packs samples into inference batches of at most {@code batchSize} samples of one shape. Samples are
 * bucketed by shape: up to {@code openBuckets} shapes fill their own batch at once, so interleaved shapes
 * (image sizes, sequence lengths) still give full batches. A bucket is sealed when it is full; a sample
 * of a new shape when every bucket is open seals the one opened first; {@link #flush} seals the rest in
 * the order they were opened. Which samples share a batch therefore depends only on the order of the
 * samples offered, never on timing.
 *
 * <p>The batch buffers are direct, in native byte order, one per input with the input's element size
 * (ONNX Runtime reads them without a copy), and reused: a returned {@link Batch} is valid until the next
 * call to {@link #offer} or {@link #flush}, so an executor holds one batch of inputs at a time (and at most
 * {@code openBuckets} partial ones being filled).
 *
 * <p>For a model with a fixed batch dimension, a padding batcher fills a partial batch up to
 * {@code batchSize} rows by repeating its last sample; {@link Batch#size()} counts the real samples only,
 * which come first, so consumers drop the padded rows ({@link Batch#padded()}).
 *
 * <p>With a {@link Padding} ({@code --pad}), samples whose padded inputs differ only on their pad axes
 * share a bucket; when it is sealed each padded input is padded at the end of each pad axis with its pad
 * value, to the model's size where the model fixes the dimension, else to the longest true length in the
 * batch, and {@link Batch#lengths()} gives each real sample's true lengths. With a mask ({@code --mask},
 * {@link Padding#masked()}) the rows are already padded: samples batch by shape as without padding, fed
 * unchanged, and the lengths come from the mask. Which samples share a batch
 * is decided as without padding (by the order offered, the batch size and the bucket key), so a
 * sample's padded length depends on its batch mates only where the model's dimension is dynamic.
 *
 * <p>With a batch size of {@link #WHOLE}, every sample is one whole input of the model: it is a batch by
 * itself, fed as it is, without a batch axis ({@link Batch#whole()}), and nothing is padded.
 */
public final class Batcher {

  /**
   * The batch size of a run of whole inputs ({@link InputSpec#whole()}): each sample runs alone, its shapes
   * the model's input shapes.
   */
  public static final int WHOLE = 0;

  /** Shapes filled at once by default. */
  public static final int DEFAULT_OPEN_BUCKETS = 4;

  private final int inputs;
  private final int batchSize;
  private final boolean pad;
  private final int openBuckets;
  /** Null, or how padded inputs are padded. */
  private final Padding padding;
  /** Open buckets, oldest first. */
  private final List<Bucket> open = new ArrayList<>();
  /** Buffer sets of sealed buckets, reused by the next buckets opened (after the caller is done with them). */
  private final ArrayDeque<ByteBuffer[]> free = new ArrayDeque<>();
  /** Samples offered and not yet placed: at most two (one carried while a batch is out, one offered). */
  private final ArrayDeque<Sample> queue = new ArrayDeque<>();

  /** The samples of one shape being packed. */
  private static final class Bucket {
    private final long[][] shapes;
    private final ByteBuffer[] buffers;
    private final String firstSource;
    private int pending;
    private Sample last;
    /** With padding: the samples, written to the buffers when sealed. */
    private final List<Sample> samples = new ArrayList<>();

    Bucket(long[][] shapes, ByteBuffer[] buffers, String firstSource) {
      this.shapes = shapes;
      this.buffers = buffers;
      this.firstSource = firstSource;
    }
  }

  /** Most float32 values in one batch buffer: a direct buffer holds at most {@code Integer.MAX_VALUE} bytes. */
  static final int MAX_BATCH_VALUES = Integer.MAX_VALUE / Float.BYTES;

  /** The largest batch size of all: a sample holds at least one value. */
  public static final int MAX_BATCH_SIZE = MAX_BATCH_VALUES;

  /** {@link #checkFits(int, long, int, String, long[])} for float32 values. */
  public static void checkFits(int batchSize, long values, String source, long[] shape) {
    checkFits(batchSize, values, Float.BYTES, source, shape);
  }

  /**
   * Refuses (naming {@code --batch-size} and its accepted range) a batch of {@code batchSize} samples of
   * {@code shape} ({@code values} values of {@code bytesPer} bytes each) that one buffer cannot hold; the
   * byte size is computed without overflow.
   */
  public static void checkFits(int batchSize, long values, int bytesPer, String source, long[] shape) {
    long most = Integer.MAX_VALUE / bytesPer;
    if (values > most) {
      throw new DataException(source + ": a sample of " + Arrays.toString(shape) + " (" + values + " values) takes "
          + values * bytesPer + " bytes, more than one buffer holds (" + Integer.MAX_VALUE + ")");
    }
    if (values > 0 && values * batchSize > most) {
      // values <= 2^31 here, so the byte count (< 2^65 / 8) fits a long
      throw new DataException("--batch-size " + batchSize + ": a batch of samples of " + Arrays.toString(shape) + " ("
          + values + " values, " + source + ") takes " + values * batchSize * bytesPer + " bytes, more than one buffer holds ("
          + Integer.MAX_VALUE + "); --batch-size must be in [1, " + most / values
          + "] for this data");
    }
  }

  public Batcher(int inputs, int batchSize) {
    this(inputs, batchSize, false);
  }

  /** A batcher that, with {@code pad}, fills partial batches to {@code batchSize} rows. */
  public Batcher(int inputs, int batchSize, boolean pad) {
    this(inputs, batchSize, pad, DEFAULT_OPEN_BUCKETS);
  }

  /** As {@link #Batcher(int, int, boolean)}, filling up to {@code openBuckets} shapes at once. */
  public Batcher(int inputs, int batchSize, boolean pad, int openBuckets) {
    this(inputs, batchSize, pad, openBuckets, null);
  }

  /** As {@link #Batcher(int, int, boolean, int)}, padding samples as {@code padding} says (null: none). */
  public Batcher(int inputs, int batchSize, boolean pad, int openBuckets, Padding padding) {
    if (batchSize < 1 && batchSize != WHOLE) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }
    if (openBuckets < 1) {
      throw new IllegalArgumentException("open buckets must be >= 1, got " + openBuckets);
    }
    this.inputs = inputs;
    this.batchSize = batchSize;
    this.pad = pad;
    this.openBuckets = openBuckets;
    this.padding = padding == null || !padding.any() ? null : padding;
  }

  /** Adds a sample; returns a batch to run when one is sealed, else null. */
  public Batch offer(Sample s) {
    if (s.values().length != inputs) {
      throw new DataException(s.source() + ": expected " + inputs + " inputs, found " + s.values().length);
    }
    if (batchSize == WHOLE) {
      return wholeBatch(s);
    }
    queue.add(s);
    return drain();
  }

  /** A whole sample as its own batch, in reused buffers. */
  private Batch wholeBatch(Sample s) {
    ByteBuffer[] buffers = free.isEmpty() ? new ByteBuffer[inputs] : free.poll();
    ByteBuffer[] data = new ByteBuffer[inputs];
    for (int i = 0; i < inputs; i++) {
      int bytes = Elements.bytesPerElement(s.values()[i]);
      checkFits(1, s.length(i), bytes, s.source(), s.shapes()[i]);
      int need = s.length(i) * bytes;
      if (buffers[i] == null || buffers[i].capacity() < need) {
        buffers[i] = ByteBuffer.allocateDirect(need).order(ByteOrder.nativeOrder());
      }
      buffers[i].clear();
      Elements.put(buffers[i], s.values()[i]);
      data[i] = buffers[i].duplicate().order(ByteOrder.nativeOrder()).flip();
    }
    free.add(buffers);
    return new Batch(data, s.shapes().clone(), 1, s.source(), null, true);
  }

  /**
   * A partial batch left (after the samples still to place), the oldest bucket first; null when nothing
   * is pending. Call until it returns null.
   */
  public Batch flush() {
    Batch b = drain();
    if (b != null) {
      return b;
    }
    return open.isEmpty() ? null : seal(open.get(0));
  }

  /**
   * Offers every sample of {@code samples} and hands each sealed batch to {@code action}, then the
   * partial batches left, the oldest first: the one loop every batching pass runs.
   */
  public void forEach(Iterator<Sample> samples, Consumer<Batch> action) {
    while (samples.hasNext()) {
      Batch b = offer(samples.next());
      if (b != null) {
        action.accept(b);
      }
    }
    for (Batch last = flush(); last != null; last = flush()) {
      action.accept(last);
    }
  }

  /** Places queued samples until one seals a batch (returned) or the queue is empty (null). */
  private Batch drain() {
    while (!queue.isEmpty()) {
      Sample s = queue.peek();
      Bucket bucket = find(key(s));
      if (bucket == null) {
        if (open.size() == openBuckets) {
          // every bucket is open: the oldest is sealed; s opens a bucket at the next call, which may reuse its buffers
          return seal(open.get(0));
        }
        bucket = openBucket(s);
      }
      queue.poll();
      append(bucket, s);
      if (bucket.pending == batchSize) {
        return seal(bucket);
      }
    }
    return null;
  }

  /** A sample's bucket key: its shapes, with -1 on the pad axes of padded inputs. */
  private long[][] key(Sample s) {
    if (padding == null || padding.masked()) { // rows already padded (--mask): fed unchanged, batched by shape
      return s.shapes();
    }
    long[][] k = s.shapes().clone();
    for (int i = 0; i < inputs; i++) {
      InputSpec in = padding.inputs().get(i);
      if (in.padded()) {
        k[i] = k[i].clone();
        for (int a : in.padAxes()) {
          k[i][a] = -1;
        }
      }
    }
    return k;
  }

  private Bucket find(long[][] shapes) {
    for (Bucket b : open) {
      if (sameShapes(b.shapes, shapes)) {
        return b;
      }
    }
    return null;
  }

  private boolean sameShapes(long[][] a, long[][] b) {
    for (int i = 0; i < inputs; i++) {
      if (!Arrays.equals(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }

  private Bucket openBucket(Sample s) {
    if (padding != null) {
      Bucket b = new Bucket(key(s), new ByteBuffer[inputs], s.source());
      open.add(b);
      return b;
    }
    ByteBuffer[] buffers = free.isEmpty() ? new ByteBuffer[inputs] : free.poll();
    for (int i = 0; i < inputs; i++) {
      int bytes = Elements.bytesPerElement(s.values()[i]);
      checkFits(batchSize, s.length(i), bytes, s.source(), s.shapes()[i]);
      int need = s.length(i) * batchSize * bytes;
      if (buffers[i] == null || buffers[i].capacity() < need) {
        buffers[i] = ByteBuffer.allocateDirect(need).order(ByteOrder.nativeOrder());
      }
      buffers[i].clear();
    }
    Bucket b = new Bucket(s.shapes(), buffers, s.source());
    open.add(b);
    return b;
  }

  private void append(Bucket b, Sample s) {
    if (b.last != null) {
      for (int i = 0; i < inputs; i++) {
        if (s.values()[i].getClass() != b.last.values()[i].getClass()) {
          throw new DataException(s.source() + ": input " + i + " holds " + Elements.className(s.values()[i])
              + " but " + b.last.source() + " holds " + Elements.className(b.last.values()[i]));
        }
      }
    }
    if (padding != null) {
      b.samples.add(s);
    } else {
      for (int i = 0; i < inputs; i++) {
        Elements.put(b.buffers[i], s.values()[i]);
      }
    }
    b.pending++;
    b.last = s;
  }

  /** Closes {@code b} and returns its batch; its buffers serve the next bucket opened. */
  private Batch seal(Bucket b) {
    if (padding != null) {
      return sealPadded(b);
    }
    int real = b.pending;
    int rows = real;
    if (pad) {
      for (; rows < batchSize; rows++) {
        for (int i = 0; i < inputs; i++) {
          Elements.put(b.buffers[i], b.last.values()[i]);
        }
      }
    }
    long[][] shapes = new long[inputs][];
    ByteBuffer[] data = new ByteBuffer[inputs];
    for (int i = 0; i < inputs; i++) {
      long[] shape = new long[b.shapes[i].length + 1];
      shape[0] = rows;
      System.arraycopy(b.shapes[i], 0, shape, 1, b.shapes[i].length);
      shapes[i] = shape;
      ByteBuffer d = b.buffers[i].duplicate().order(ByteOrder.nativeOrder());
      d.flip();
      data[i] = d;
    }
    open.remove(b);
    free.add(b.buffers);
    return new Batch(data, shapes, real, b.firstSource);
  }

  /** {@link #seal} with padding: each sample's inputs padded to the batch's shapes. */
  private Batch sealPadded(Bucket b) {
    int real = b.pending;
    int rows = pad ? batchSize : real;
    long[][] lengths = new long[real][];
    long[] longest = new long[padding.axes()];
    for (int r = 0; r < real; r++) {
      Sample s = b.samples.get(r);
      lengths[r] = padding.trueLengths(s);
      for (int k = 0; k < longest.length; k++) {
        longest[k] = Math.max(longest[k], lengths[r][k]);
      }
    }
    long[][] target = new long[inputs][];
    ByteBuffer[] buffers = free.isEmpty() ? new ByteBuffer[inputs] : free.poll();
    for (int i = 0; i < inputs; i++) {
      InputSpec in = padding.inputs().get(i);
      target[i] = b.samples.get(0).shapes()[i].clone();
      int[] axes = in.padAxes();
      for (int k = 0; k < axes.length && !padding.masked(); k++) {
        long fixed = in.dims()[axes[k]];
        target[i][axes[k]] = fixed >= 0 ? fixed : longest[k];
      }
      Object first = b.samples.get(0).values()[i];
      int bytes = Elements.bytesPerElement(first);
      long values = Sample.elements(target[i]);
      checkFits(batchSize, values, bytes, b.firstSource, target[i]);
      int need = (int) values * rows * bytes;
      if (buffers[i] == null || buffers[i].capacity() < need) {
        buffers[i] = ByteBuffer.allocateDirect(need).order(ByteOrder.nativeOrder());
      }
      buffers[i].clear();
      for (int r = 0; r < rows; r++) {
        Sample s = b.samples.get(Math.min(r, real - 1));
        Object v = s.values()[i];
        Elements.put(buffers[i], in.padded() && !padding.masked() ? Padding.padded(v, s.shapes()[i], target[i], padding.values()[i]) : v);
      }
    }
    long[][] shapes = new long[inputs][];
    ByteBuffer[] data = new ByteBuffer[inputs];
    for (int i = 0; i < inputs; i++) {
      long[] shape = new long[target[i].length + 1];
      shape[0] = rows;
      System.arraycopy(target[i], 0, shape, 1, target[i].length);
      shapes[i] = shape;
      ByteBuffer d = buffers[i].duplicate().order(ByteOrder.nativeOrder());
      d.flip();
      data[i] = d;
    }
    open.remove(b);
    free.add(buffers);
    return new Batch(data, shapes, real, b.firstSource, lengths);
  }

  /**
   * One batch: per input a native-order buffer holding {@code rows} samples of the input's type and its
   * shape {@code [rows, ...]} (or, {@code whole}, one whole input of the model's shape), of which the first
   * {@code size} are real samples and the rest padding;
   * with {@code --pad}, {@code lengths[r]} is real sample {@code r}'s true length on each pad axis
   * ({@link Padding}), else null.
   */
  public record Batch(ByteBuffer[] inputs, long[][] shapes, int size, String firstSource, long[][] lengths,
      boolean whole) {
    /** A batch without padded inputs. */
    public Batch(ByteBuffer[] inputs, long[][] shapes, int size, String firstSource) {
      this(inputs, shapes, size, firstSource, null);
    }

    /** A batch with a batch axis (not a whole input). */
    public Batch(ByteBuffer[] inputs, long[][] shapes, int size, String firstSource, long[][] lengths) {
      this(inputs, shapes, size, firstSource, lengths, false);
    }

    /** A batch of float32 inputs. */
    public static Batch ofFloats(FloatBuffer[] inputs, long[][] shapes, int size, String firstSource) {
      ByteBuffer[] b = new ByteBuffer[inputs.length];
      for (int i = 0; i < b.length; i++) {
        FloatBuffer f = inputs[i];
        b[i] = ByteBuffer.allocateDirect(f.remaining() * Float.BYTES).order(ByteOrder.nativeOrder());
        b[i].asFloatBuffer().put(f.duplicate());
      }
      return new Batch(b, shapes, size, firstSource);
    }

    /** Input {@code i}'s values as floats (a view; for a float32 input). */
    public FloatBuffer floats(int i) {
      return inputs[i].duplicate().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** The rows fed to the model, padding included (a whole input: one). */
    public int rows() {
      return whole ? size : (int) shapes[0][0];
    }

    /** Whether rows after the first {@link #size()} are padding, to be dropped from every result. */
    public boolean padded() {
      return rows() > size;
    }
  }
}
