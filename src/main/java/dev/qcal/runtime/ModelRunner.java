package dev.qcal.runtime;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.qcal.data.Batcher.Batch;
import dev.qcal.data.DataException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs batches through a shared session for one task and hands each requested float output to a
 * sink, without copying it: after the first batch of a given input shape, outputs are written by
 * ONNX Runtime straight into direct buffers allocated once for that shape and reused ("pinned"
 * outputs). A runner belongs to one task at a time (it is not thread-safe). A runner from
 * {@link #pooled} goes back to a per-JVM pool on {@link #close}, so the next task of the executor
 * reuses its buffers and native memory stays flat however many tasks run; other runners free their
 * buffers on close. Every input tensor and result is closed before {@link #run} returns.
 */
public final class ModelRunner implements AutoCloseable {
  /** Input shape patterns remembered at once; more (very variable shapes) evict the oldest. */
  private static final int MAX_SHAPE_KEYS = 4;
  /** Idle runners kept per pool key: enough for the task slots of one executor. */
  private static final int MAX_IDLE = 8;
  private static final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.ConcurrentLinkedDeque<ModelRunner>>
      IDLE = new java.util.concurrent.ConcurrentHashMap<>();

  private final String poolKey;

  private final OrtSession session;
  private final List<String> inputNames;
  /** Requested outputs computed by the model. */
  private final Set<String> outputNames;
  /** Requested outputs that are float model inputs: handed over from the batch, never through ONNX Runtime. */
  private final List<String> passThrough;
  /** Each input's element type as the session declares it. */
  private final OnnxJavaType[] inputTypes;
  private final LinkedHashMap<String, Pinned> pinned = new LinkedHashMap<>();
  private final Set<String> unpinnable = new java.util.HashSet<>();

  /** Receives one output tensor of one batch; buffer and shape are only valid during the call. */
  @FunctionalInterface
  public interface OutputSink {
    void accept(String tensor, FloatBuffer values, long[] shape);
  }

  /** Output tensors pre-allocated for one input shape. */
  private record Pinned(Map<String, OnnxTensor> tensors, Map<String, FloatBuffer> buffers, Map<String, long[]> shapes) {
    void close() {
      tensors.values().forEach(OnnxTensor::close);
    }
  }

  public ModelRunner(OrtSession session, List<String> inputNames, List<String> outputNames) {
    this(null, session, inputNames, outputNames);
  }

  /**
   * A runner for {@code session} from this JVM's pool (or a new one), returned to the pool by
   * {@link #close}. {@code sessionKey} identifies the session's model (e.g. its SHA-256).
   */
  public static ModelRunner pooled(
      String sessionKey, OrtSession session, List<String> inputNames, List<String> outputNames) {
    String key = sessionKey + '\u0000' + inputNames + '\u0000' + outputNames;
    var idle = IDLE.get(key);
    ModelRunner r = idle == null ? null : idle.pollFirst();
    return r != null ? r : new ModelRunner(key, session, inputNames, outputNames);
  }

  private ModelRunner(String poolKey, OrtSession session, List<String> inputNames, List<String> outputNames) {
    this.poolKey = poolKey;
    this.session = session;
    this.inputNames = List.copyOf(inputNames);
    this.inputTypes = inputTypes(session, this.inputNames);
    Set<String> computed = new LinkedHashSet<>();
    List<String> fromInputs = new ArrayList<>();
    Set<String> known = session.getOutputNames();
    for (String o : outputNames) {
      if (this.inputNames.contains(o)) {
        // ONNX Runtime does not write a graph input that is also an output into a pinned buffer. Only a
        // float input has statistics: an integer or bool input (token ids, a mask) is never one.
        if (inputTypes[this.inputNames.indexOf(o)] == OnnxJavaType.FLOAT) {
          fromInputs.add(o);
        }
      } else if (known.contains(o)) {
        computed.add(o);
      } else {
        throw new IllegalArgumentException("model has no output '" + o + "'");
      }
    }
    this.outputNames = Collections.unmodifiableSet(computed);
    this.passThrough = List.copyOf(fromInputs);
  }

  /**
   * {@code sink} seeing only the real samples' rows of {@code batch}'s outputs: for a padded batch each
   * output is cut to its first {@link Batch#size()} rows (its first dimension must be the batch's rows,
   * which preparation checks), else {@code sink} itself.
   */
  public static OutputSink realRows(Batch batch, OutputSink sink) {
    if (!batch.padded()) {
      return sink;
    }
    int rows = batch.rows();
    int real = batch.size();
    return (tensor, values, shape) -> {
      if (shape.length == 0 || shape[0] != rows) {
        throw new IllegalStateException("output '" + tensor + "' has shape " + Arrays.toString(shape)
            + ", expected the padded batch's " + rows + " rows first");
      }
      FloatBuffer v = values.duplicate();
      v.limit(v.position() + v.remaining() / rows * real);
      long[] s = shape.clone();
      s[0] = real;
      sink.accept(tensor, v, s);
    };
  }

  public void run(Batch batch, OutputSink sink) {
    for (String name : passThrough) {
      int i = inputNames.indexOf(name);
      sink.accept(name, batch.floats(i), batch.shapes()[i]);
    }
    if (outputNames.isEmpty()) {
      return;
    }
    Map<String, OnnxTensor> feeds = new HashMap<>();
    String key = Arrays.deepToString(batch.shapes());
    try {
      putInputs(feeds, inputNames, inputTypes, batch);
      Pinned p = pinned.get(key);
      if (p == null) {
        runAndLearn(feeds, key, sink);
        return;
      }
      try {
        runPinned(feeds, p, sink);
      } catch (OrtException shapeChanged) {
        // output shapes that depend on values, not only on input shapes: stop pinning for this shape
        pinned.remove(key).close();
        unpinnable.add(key);
        runAndLearn(feeds, key, sink);
      }
    } catch (OrtException e) {
      throw new DataException("inference failed on the batch starting at " + batch.firstSource()
          + " (input shapes " + shapes(batch.shapes()) + "): " + Ort.oneLine(e.getMessage()), e);
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  /** The element type {@code session} declares for each of {@code inputNames}. */
  static OnnxJavaType[] inputTypes(OrtSession session, List<String> inputNames) {
    try {
      Map<String, ai.onnxruntime.NodeInfo> info = session.getInputInfo();
      OnnxJavaType[] types = new OnnxJavaType[inputNames.size()];
      for (int i = 0; i < types.length; i++) {
        ai.onnxruntime.NodeInfo n = info.get(inputNames.get(i));
        if (n == null || !(n.getInfo() instanceof TensorInfo t)) {
          throw new IllegalArgumentException("model has no tensor input '" + inputNames.get(i) + "'");
        }
        types[i] = OnnxJavaType.mapFromOnnxTensorType(t.onnxType);
      }
      return types;
    } catch (OrtException e) {
      throw new IllegalStateException("cannot read the model's inputs: " + Ort.oneLine(e.getMessage()), e);
    }
  }

  /**
   * Puts one tensor per input of {@code batch} into {@code feeds}, of the type {@code session} declares,
   * viewing the batch's buffers (no copy). The caller closes what is in {@code feeds}, also when this
   * throws part way.
   */
  static void putInputs(Map<String, OnnxTensor> feeds, OrtSession session, List<String> inputNames, Batch batch)
      throws OrtException {
    putInputs(feeds, inputNames, inputTypes(session, inputNames), batch);
  }

  private static void putInputs(Map<String, OnnxTensor> feeds, List<String> inputNames, OnnxJavaType[] types,
      Batch batch) throws OrtException {
    OrtEnvironment env = Ort.env();
    for (int i = 0; i < inputNames.size(); i++) {
      ByteBuffer b = batch.inputs()[i].duplicate().order(ByteOrder.nativeOrder());
      long elements = 1;
      for (long d : batch.shapes()[i]) {
        elements *= d;
      }
      if (b.remaining() != elements * types[i].size) {
        // a sample decoded for another type: never feed its bytes as this one
        throw new IllegalStateException("input '" + inputNames.get(i) + "' is " + types[i] + " but the batch holds "
            + b.remaining() + " bytes for " + elements + " values");
      }
      feeds.put(inputNames.get(i), OnnxTensor.createTensor(env, b, batch.shapes()[i], types[i]));
    }
  }

  private void runPinned(Map<String, OnnxTensor> feeds, Pinned p, OutputSink sink) throws OrtException {
    try (OrtSession.Result ignored = session.run(feeds, Collections.emptySet(), p.tensors())) {
      for (String name : outputNames) {
        FloatBuffer b = p.buffers().get(name).duplicate();
        b.clear();
        sink.accept(name, b, p.shapes().get(name));
      }
    }
  }

  /** Runs without pinned outputs, hands the results over, and pins buffers for this input shape. */
  private void runAndLearn(Map<String, OnnxTensor> feeds, String key, OutputSink sink) throws OrtException {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    try (OrtSession.Result result = session.run(feeds, outputNames)) {
      for (Map.Entry<String, OnnxValue> e : result) {
        OnnxValue v = e.getValue();
        if (!(v instanceof OnnxTensor t) || ((TensorInfo) t.getInfo()).type != OnnxJavaType.FLOAT) {
          throw new IllegalStateException("output '" + e.getKey() + "' is not a float tensor: " + v.getInfo());
        }
        long[] shape = ((TensorInfo) t.getInfo()).getShape();
        shapes.put(e.getKey(), shape);
        sink.accept(e.getKey(), t.getFloatBuffer(), shape);
      }
    }
    if (!unpinnable.contains(key)) {
      pin(key, shapes);
    }
  }

  private void pin(String key, Map<String, long[]> shapes) throws OrtException {
    if (pinned.size() >= MAX_SHAPE_KEYS) {
      String oldest = pinned.keySet().iterator().next();
      pinned.remove(oldest).close();
    }
    Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
    Map<String, FloatBuffer> buffers = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        long n = 1;
        for (long d : e.getValue()) {
          n *= d;
        }
        if (n * Float.BYTES > Integer.MAX_VALUE) {
          unpinnable.add(key); // too large for one direct buffer: keep reading ONNX Runtime's copies
          tensors.values().forEach(OnnxTensor::close);
          return;
        }
        FloatBuffer b = ByteBuffer.allocateDirect((int) n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
        buffers.put(e.getKey(), b);
        tensors.put(e.getKey(), OnnxTensor.createTensor(Ort.env(), b, e.getValue()));
      }
    } catch (OrtException | RuntimeException e) {
      tensors.values().forEach(OnnxTensor::close);
      throw e;
    }
    pinned.put(key, new Pinned(tensors, buffers, shapes));
  }

  @Override
  public void close() {
    if (poolKey == null) {
      free();
      return;
    }
    var idle = IDLE.computeIfAbsent(poolKey, k -> new java.util.concurrent.ConcurrentLinkedDeque<>());
    idle.offerFirst(this);
    while (idle.size() > MAX_IDLE) {
      ModelRunner extra = idle.pollLast();
      if (extra != null) {
        extra.free();
      }
    }
  }

  private void free() {
    pinned.values().forEach(Pinned::close);
    pinned.clear();
  }

  private static String shapes(long[][] shapes) {
    List<String> s = new ArrayList<>();
    for (long[] sh : shapes) {
      s.add(Arrays.toString(sh));
    }
    return String.join(", ", s);
  }
}
