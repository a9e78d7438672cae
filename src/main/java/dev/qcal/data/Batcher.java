package dev.qcal.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Packs consecutive samples of equal shape into inference batches of at most {@code batchSize}
 * samples. The batch buffers are direct, in native byte order, one per input with the input's element
 * size (ONNX Runtime reads them without a copy), and reused: a
 * returned {@link Batch} is valid until the next call to {@link #offer} or {@link #flush}, so an
 * executor holds one batch of inputs at a time.
 *
 * <p>For a model with a fixed batch dimension, a padding batcher fills the last, partial batch up to
 * {@code batchSize} rows by repeating its last sample; {@link Batch#size()} counts the real samples only,
 * which come first, so consumers drop the padded rows ({@link Batch#padded()}).
 */
public final class Batcher {
  private final int inputs;
  private final int batchSize;
  private final boolean pad;
  private final ByteBuffer[] buffers;
  private long[][] sampleShapes;
  private int pending;
  private String firstSource;
  private Sample carry;
  private Sample last;

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

  /** A batcher that, with {@code pad}, fills the last partial batch of a shape to {@code batchSize} rows. */
  public Batcher(int inputs, int batchSize, boolean pad) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }
    this.inputs = inputs;
    this.batchSize = batchSize;
    this.pad = pad;
    this.buffers = new ByteBuffer[inputs];
  }

  /** Adds a sample; returns a full batch to run when one is complete, else null. */
  public Batch offer(Sample s) {
    if (s.values().length != inputs) {
      throw new DataException(s.source() + ": expected " + inputs + " inputs, found " + s.values().length);
    }
    restoreCarry();
    if (pending > 0 && (pending == batchSize || !sameShapes(s.shapes()))) {
      // A full batch or a change of shape closes the batch; the sample starts the next one once
      // the caller is done with the returned batch (its buffers are reused).
      Batch b = seal();
      carry = s;
      return b;
    }
    append(s);
    return pending == batchSize ? seal() : null;
  }

  /** The last, partial batch, or null when nothing is pending. */
  public Batch flush() {
    restoreCarry();
    return pending > 0 ? seal() : null;
  }

  private void restoreCarry() {
    if (carry != null) {
      Sample c = carry;
      carry = null;
      append(c);
    }
  }

  private boolean sameShapes(long[][] shapes) {
    for (int i = 0; i < inputs; i++) {
      if (!Arrays.equals(shapes[i], sampleShapes[i])) {
        return false;
      }
    }
    return true;
  }

  private void append(Sample s) {
    if (pending == 0) {
      sampleShapes = s.shapes();
      firstSource = s.source();
      for (int i = 0; i < inputs; i++) {
        int bytes = Elements.bytesPerElement(s.values()[i]);
        checkFits(batchSize, s.length(i), bytes, s.source(), s.shapes()[i]);
        int need = s.length(i) * batchSize * bytes;
        if (buffers[i] == null || buffers[i].capacity() < need) {
          buffers[i] = ByteBuffer.allocateDirect(need).order(ByteOrder.nativeOrder());
        }
        buffers[i].clear();
      }
    } else {
      for (int i = 0; i < inputs; i++) {
        if (s.values()[i].getClass() != last.values()[i].getClass()) {
          throw new DataException(s.source() + ": input " + i + " holds " + Elements.className(s.values()[i])
              + " but " + last.source() + " holds " + Elements.className(last.values()[i]));
        }
      }
    }
    for (int i = 0; i < inputs; i++) {
      Elements.put(buffers[i], s.values()[i]);
    }
    pending++;
    last = s;
  }

  private Batch seal() {
    int real = pending;
    if (pad) {
      for (int k = pending; k < batchSize; k++) {
        for (int i = 0; i < inputs; i++) {
          Elements.put(buffers[i], last.values()[i]);
        }
      }
      pending = batchSize;
    }
    long[][] shapes = new long[inputs][];
    ByteBuffer[] data = new ByteBuffer[inputs];
    for (int i = 0; i < inputs; i++) {
      long[] shape = new long[sampleShapes[i].length + 1];
      shape[0] = pending;
      System.arraycopy(sampleShapes[i], 0, shape, 1, sampleShapes[i].length);
      shapes[i] = shape;
      ByteBuffer b = buffers[i].duplicate().order(ByteOrder.nativeOrder());
      b.flip();
      data[i] = b;
    }
    Batch batch = new Batch(data, shapes, real, firstSource);
    pending = 0;
    last = null;
    return batch;
  }

  /**
   * One batch: per input a native-order buffer holding {@code rows} samples of the input's type and its
   * shape {@code [rows, ...]}, of which the first {@code size} are real samples and the rest padding.
   */
  public record Batch(ByteBuffer[] inputs, long[][] shapes, int size, String firstSource) {
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

    /** The rows fed to the model, padding included. */
    public int rows() {
      return (int) shapes[0][0];
    }

    /** Whether rows after the first {@link #size()} are padding, to be dropped from every result. */
    public boolean padded() {
      return rows() > size;
    }
  }
}
