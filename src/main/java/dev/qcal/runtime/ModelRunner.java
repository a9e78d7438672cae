package dev.qcal.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.qcal.data.Batcher.Batch;
import dev.qcal.data.DataException;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs batches through a session and hands each requested float output to a sink. Every input
 * tensor and result is closed before {@link #run} returns (unclosed results keep native memory).
 */
public final class ModelRunner {
  private final OrtSession session;
  private final List<String> inputNames;
  private final Set<String> outputNames;

  /** Receives one output tensor of one batch; the buffer is only valid during the call. */
  @FunctionalInterface
  public interface OutputSink {
    void accept(String tensor, FloatBuffer values);
  }

  public ModelRunner(OrtSession session, List<String> inputNames, List<String> outputNames) {
    this.session = session;
    this.inputNames = List.copyOf(inputNames);
    this.outputNames = new LinkedHashSet<>(outputNames);
    Set<String> known = session.getOutputNames();
    for (String o : outputNames) {
      if (!known.contains(o)) {
        throw new IllegalArgumentException("model has no output '" + o + "'");
      }
    }
  }

  public void run(Batch batch, OutputSink sink) {
    OrtEnvironment env = Ort.env();
    Map<String, OnnxTensor> feeds = new HashMap<>();
    try {
      for (int i = 0; i < inputNames.size(); i++) {
        feeds.put(inputNames.get(i), OnnxTensor.createTensor(env, batch.inputs()[i], batch.shapes()[i]));
      }
      try (OrtSession.Result result = session.run(feeds, outputNames)) {
        for (Map.Entry<String, OnnxValue> e : result) {
          OnnxValue v = e.getValue();
          if (!(v instanceof OnnxTensor t)
              || ((TensorInfo) t.getInfo()).type != ai.onnxruntime.OnnxJavaType.FLOAT) {
            throw new IllegalStateException("output '" + e.getKey() + "' is not a float tensor: " + v.getInfo());
          }
          sink.accept(e.getKey(), t.getFloatBuffer());
        }
      }
    } catch (OrtException e) {
      throw new DataException("inference failed on the batch starting at " + batch.firstSource()
          + " (input shapes " + shapesToString(batch.shapes()) + "): " + firstLine(e.getMessage()), e);
    } finally {
      for (OnnxTensor t : feeds.values()) {
        t.close();
      }
    }
  }

  private static String shapesToString(long[][] shapes) {
    List<String> s = new ArrayList<>();
    for (long[] sh : shapes) {
      s.add(java.util.Arrays.toString(sh));
    }
    return String.join(", ", s);
  }

  private static String firstLine(String m) {
    if (m == null) {
      return "";
    }
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
