package dev.qcal.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one door to ONNX Runtime: the shared environment, offline graph optimization and a run helper for verification. */
public final class Ort {

  private static final Logger LOG = LoggerFactory.getLogger(Ort.class);

  /** ONNX Runtime's graph optimization levels, mirrored so callers outside this package need no ORT import. */
  public enum OptLevel {
    /** No graph rewrites. */
    NONE(OrtSession.SessionOptions.OptLevel.NO_OPT),
    /** Semantics-preserving rewrites that apply to every provider: constant folding, Conv+BatchNorm fusion. */
    BASIC(OrtSession.SessionOptions.OptLevel.BASIC_OPT),
    /** BASIC plus provider-specific fusions (may introduce com.microsoft operators). */
    EXTENDED(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT),
    /** Everything, including layout optimizations; what a deployed session runs. */
    ALL(OrtSession.SessionOptions.OptLevel.ALL_OPT);

    private final OrtSession.SessionOptions.OptLevel ort;

    OptLevel(OrtSession.SessionOptions.OptLevel ort) {
      this.ort = ort;
    }
  }

  /** ONNX Runtime could not load, optimize or run a model; the message names the model file and the input or output. */
  public static final class Failure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    Failure(String message) {
      super(message);
    }

    Failure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private Ort() {}

  private static final java.util.concurrent.atomic.AtomicBoolean NATIVE_FOLDER_REMOVED =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** The process-wide ONNX Runtime environment. */
  public static OrtEnvironment env() {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    if (NATIVE_FOLDER_REMOVED.compareAndSet(false, true)) {
      removeNativeFolder();
    }
    return env;
  }

  /**
   * ONNX Runtime extracts its native libraries into a new {@code onnxruntime-java*} folder of
   * {@code java.io.tmpdir} (whatever {@code onnxruntime.native.path} says) and asks the JVM to delete the
   * folder at exit before the files in it, so every process left one behind. Once the libraries are
   * loaded the folder is no longer needed (qcal loads no other execution provider): it is removed now,
   * or at exit where a loaded library cannot be deleted (Windows).
   */
  static void removeNativeFolder() {
    Path dir;
    try {
      java.lang.reflect.Field f = Class.forName("ai.onnxruntime.OnnxRuntime").getDeclaredField("tempDirectory");
      f.setAccessible(true);
      dir = (Path) f.get(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("ONNX Runtime's native library folder not found; left to ONNX Runtime", e);
      return;
    }
    if (dir == null || !dir.getFileName().toString().startsWith("onnxruntime-java") || deleteTree(dir)) {
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir), "qcal-ort-native-cleanup"));
  }

  /** Deletes {@code dir} and the files in it; whether it is gone. */
  private static boolean deleteTree(Path dir) {
    try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
      return true;
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      LOG.debug("cannot remove {} yet: {}", dir, e.toString());
      return false;
    }
  }

  /** The ONNX Runtime version in use, for provenance. */
  public static String version() {
    return env().getVersion();
  }

  /**
   * Writes the model ONNX Runtime builds from {@code in} at {@code level} to {@code out} (CPU provider).
   *
   * @throws Failure when the session cannot be created or nothing was written
   */
  public static void optimize(Path in, Path out, OptLevel level) {
    optimize(in, out, level, null);
  }

  /**
   * As {@link #optimize(Path, Path, OptLevel)}; with {@code externalDataFile} non-null, initializers of at
   * least 1 KiB are written to that file next to {@code out} (ONNX Runtime's
   * {@code session.optimized_model_external_initializers_file_name}), so models over the 2 GB protobuf
   * limit can be saved and the weights are never inlined.
   */
  public static void optimize(Path in, Path out, OptLevel level, String externalDataFile) {
    requireFile(in);
    try {
      Path parent = out.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Files.deleteIfExists(out);
    } catch (java.io.IOException e) {
      throw new Failure(out + ": cannot prepare output path (" + e + ")", e);
    }
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(level.ort);
      options.setOptimizedModelFilePath(out.toString());
      if (externalDataFile != null) {
        Files.deleteIfExists(out.resolveSibling(externalDataFile));
        options.addConfigEntry("session.optimized_model_external_initializers_file_name", externalDataFile);
        options.addConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
      }
      try (OrtSession session = env().createSession(in.toString(), options)) {
        LOG.debug("optimized {} at {} into {} ({} inputs, {} outputs)", in, level, out,
            session.getNumInputs(), session.getNumOutputs());
      }
    } catch (OrtException e) {
      throw new Failure(in + ": ONNX Runtime could not optimize the model at " + level + " (" + oneLine(e.getMessage()) + ")", e);
    } catch (java.io.IOException e) {
      throw new Failure(out + ": cannot prepare output path (" + e + ")", e);
    }
    if (!Files.isRegularFile(out)) {
      throw new Failure(in + ": ONNX Runtime wrote no optimized model to " + out);
    }
  }

  /**
   * Runs {@code model} once on the CPU with default session options.
   *
   * @param inputs flattened row-major float data per graph input, converted exactly to the type the
   *     model declares (values for an integer or bool input must be integers of its range)
   * @param shapes the shape of each input; its element count must equal the data length
   * @return every graph output, in graph order, flattened row-major; FLOAT outputs as they are, DOUBLE
   *     and integer or bool outputs converted to float (for comparison only)
   * @throws Failure naming the model and input or output at fault
   */
  public static Map<String, float[]> run(Path model, Map<String, float[]> inputs, Map<String, long[]> shapes) {
    requireFile(model);
    OrtEnvironment env = env();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = env.createSession(model.toString(), options)) {
      for (String name : session.getInputNames()) {
        if (!inputs.containsKey(name)) {
          throw new Failure(model + ": no data for input '" + name + "' (given " + inputs.keySet() + ")");
        }
      }
      List<OnnxTensor> tensors = new ArrayList<>();
      try {
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : inputs.entrySet()) {
          long[] shape = shapes.get(e.getKey());
          if (shape == null) {
            throw new Failure(model + ": no shape for input '" + e.getKey() + "'");
          }
          long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
          if (count != e.getValue().length) {
            throw new Failure(model + ": input '" + e.getKey() + "' has shape " + Arrays.toString(shape)
                + " (" + count + " elements) but " + e.getValue().length + " values");
          }
          OnnxTensor t = tensor(env, session, model, e.getKey(), e.getValue(), shape);
          tensors.add(t);
          feed.put(e.getKey(), t);
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        try (OrtSession.Result result = session.run(feed)) {
          for (Map.Entry<String, OnnxValue> e : result) {
            if (!(e.getValue() instanceof OnnxTensor t)) {
              throw new Failure(model + ": output '" + e.getKey() + "' is a " + e.getValue().getType()
                  + ", expected a tensor");
            }
            out.put(e.getKey(), toFloat(model, e.getKey(), t));
          }
        }
        return out;
      } finally {
        for (OnnxTensor t : tensors) {
          t.close();
        }
      }
    } catch (OrtException e) {
      throw new Failure(model + ": ONNX Runtime failed (" + oneLine(e.getMessage()) + ")", e);
    }
  }

  /** The qcal element type of a tensor's ONNX Runtime type, or null when qcal cannot feed it. */
  static dev.qcal.data.ElemType elemType(TensorInfo info) {
    String n = info.onnxType.name().substring("ONNX_TENSOR_ELEMENT_DATA_TYPE_".length());
    for (dev.qcal.data.ElemType t : dev.qcal.data.ElemType.values()) {
      if (t.name().equals(n.equals("FLOAT") ? "FLOAT32" : n.equals("DOUBLE") ? "FLOAT64" : n)) {
        return t;
      }
    }
    return null;
  }

  /** A tensor of {@code values} in the type {@code session} declares for input {@code name}. */
  private static OnnxTensor tensor(OrtEnvironment env, OrtSession session, Path model, String name, float[] values,
      long[] shape) throws OrtException {
    TensorInfo info = (TensorInfo) session.getInputInfo().get(name).getInfo();
    if (info.type == OnnxJavaType.FLOAT) {
      return OnnxTensor.createTensor(env, FloatBuffer.wrap(values), shape);
    }
    dev.qcal.data.ElemType type = elemType(info);
    if (type == null) {
      throw new Failure(model + ": input '" + name + "' is " + info.onnxType + ", which qcal cannot feed");
    }
    Object typed = type.newArray(values.length);
    for (int k = 0; k < values.length; k++) {
      String why = type.isFloat() ? dev.qcal.data.Elements.putDouble(typed, type, k, values[k])
          : values[k] == (long) values[k] ? dev.qcal.data.Elements.putLong(typed, type, k, (long) values[k])
          : values[k] + " is not an integer";
      if (why != null) {
        throw new Failure(model + ": input '" + name + "' (" + type + "): element " + k + ": " + why);
      }
    }
    ByteBuffer b = ByteBuffer.allocateDirect(values.length * type.bytes())
        .order(java.nio.ByteOrder.nativeOrder());
    dev.qcal.data.Elements.put(b, typed);
    b.flip();
    return OnnxTensor.createTensor(env, b, shape, info.type);
  }

  /** The graph input names and their declared shapes (-1 for a dynamic dimension), in graph order. */
  public static Map<String, long[]> inputShapes(Path model) {
    requireFile(model);
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
      try (OrtSession session = env().createSession(model.toString(), options)) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
          if (e.getValue().getInfo() instanceof TensorInfo info) {
            shapes.put(e.getKey(), info.getShape());
          }
        }
        return shapes;
      }
    } catch (OrtException e) {
      throw new Failure(model + ": ONNX Runtime could not load the model (" + oneLine(e.getMessage()) + ")", e);
    }
  }

  private static float[] toFloat(Path model, String name, OnnxTensor t) {
    TensorInfo info = t.getInfo();
    switch (info.type) {
      case FLOAT: {
        FloatBuffer b = t.getFloatBuffer();
        float[] a = new float[b.remaining()];
        b.get(a);
        return a;
      }
      case DOUBLE: {
        DoubleBuffer b = t.getDoubleBuffer();
        float[] a = new float[b.remaining()];
        for (int i = 0; i < a.length; i++) {
          a[i] = (float) b.get(i);
        }
        return a;
      }
      case INT64: {
        LongBuffer b = t.getLongBuffer();
        float[] a = new float[b.remaining()];
        for (int i = 0; i < a.length; i++) {
          a[i] = b.get(i);
        }
        return a;
      }
      case INT32: {
        IntBuffer b = t.getIntBuffer();
        float[] a = new float[b.remaining()];
        for (int i = 0; i < a.length; i++) {
          a[i] = b.get(i);
        }
        return a;
      }
      case INT8:
      case BOOL: {
        ByteBuffer b = t.getByteBuffer();
        float[] a = new float[b.remaining()];
        for (int i = 0; i < a.length; i++) {
          a[i] = b.get(i);
        }
        return a;
      }
      case UINT8: {
        ByteBuffer b = t.getByteBuffer();
        float[] a = new float[b.remaining()];
        for (int i = 0; i < a.length; i++) {
          a[i] = b.get(i) & 0xFF;
        }
        return a;
      }
      default:
        throw new Failure(model + ": output '" + name + "' has element type " + info.type
            + ", expected FLOAT, DOUBLE, INT64, INT32, INT8, UINT8 or BOOL");
    }
  }

  /**
   * ONNX Runtime's message on one line: its shape errors continue on further lines ("index: 0 Got: 2
   * Expected: 1") that a first-line-only report would cut off, so the lines are joined with spaces.
   */
  public static String oneLine(String message) {
    if (message == null) {
      return "";
    }
    return String.join(" ", message.lines().map(String::strip).filter(l -> !l.isEmpty()).toList());
  }

  private static void requireFile(Path model) {
    if (!Files.isRegularFile(model)) {
      throw new Failure("model not found: " + model);
    }
  }
}
