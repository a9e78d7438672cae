package dev.qcal.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher.Batch;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs one batch and copies small outputs (reductions, shapes) into Java arrays: {@code float[]} for
 * FLOAT outputs, {@code long[]} for INT64 ones. No pinned buffers: for a few values per tensor,
 * ONNX Runtime's own allocation is cheaper than keeping buffers per input shape.
 */
public final class SmallOutputs {
  private SmallOutputs() {}

  /**
   * The requested outputs of {@code session} on {@code batch}, by name.
   *
   * @throws OrtException when ONNX Runtime fails (the caller decides what a failure means)
   * @throws IllegalStateException for an output that is neither FLOAT nor INT64
   */
  public static Map<String, Object> run(OrtSession session, List<String> inputNames, Batch batch, Set<String> outputs)
      throws OrtException {
    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
    try {
      ModelRunner.putInputs(feeds, session, inputNames, batch);
      Map<String, Object> out = new LinkedHashMap<>();
      try (OrtSession.Result result = session.run(feeds, outputs)) {
        for (Map.Entry<String, OnnxValue> e : result) {
          out.put(e.getKey(), copy(e.getKey(), e.getValue()));
        }
      }
      return out;
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  private static Object copy(String name, OnnxValue v) {
    if (v instanceof OnnxTensor t) {
      switch (t.getInfo().type) {
        case FLOAT -> {
          FloatBuffer b = t.getFloatBuffer();
          float[] a = new float[b.remaining()];
          b.get(a);
          return a;
        }
        case INT64 -> {
          LongBuffer b = t.getLongBuffer();
          long[] a = new long[b.remaining()];
          b.get(a);
          return a;
        }
        default -> { }
      }
    }
    throw new IllegalStateException("output '" + name + "' is not a FLOAT or INT64 tensor: " + v.getInfo());
  }
}
