package dev.qcal.jobs;

import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher;
import dev.qcal.data.Sample;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.runtime.ModelRunner;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;

/**
 * The check that lets a model with a fixed batch of N > 1 samples be fed partial batches: the batch is
 * padded by repeating a sample and the padded rows are cut from every observed tensor, which is exact
 * only when each tensor's first dimension is the batch. Checked before any data pass on a batch of N
 * copies of one sample: every tensor must have N rows first, all equal (a tensor transposed or reshaped
 * so that another dimension of size N comes first has rows that differ); otherwise the model is refused.
 */
final class PaddedBatches {
  /** Rows of a copied sample match when {@code |a - b| <= TOLERANCE * (1 + max|row 0|)}. */
  static final double TOLERANCE = 1e-5;

  private PaddedBatches() {}

  /**
   * Each of {@code tensors}' shape for a batch of {@code n} copies of {@code sample} (n: the model's fixed
   * batch size, 1, or {@link Batcher#WHOLE}: the sample fed as it is), from one inference of
   * {@code session}; with {@code n > 1}, throws a
   * {@link ModelException} naming the first tensor whose first dimension is not the batch of {@code n} rows.
   */
  static Map<String, long[]> shapes(OrtSession session, List<String> inputNames, Sample sample, List<String> tensors,
      int n, String modelName) {
    return shapes(session, inputNames, sample, tensors, n, modelName, null);
  }

  /** {@link #shapes}, the sample padded as {@code padding} says (null: not padded). */
  static Map<String, long[]> shapes(OrtSession session, List<String> inputNames, Sample sample, List<String> tensors,
      int n, String modelName, dev.qcal.data.Padding padding) {
    Batcher batcher = new Batcher(inputNames.size(), n, true, Batcher.DEFAULT_OPEN_BUCKETS, padding);
    Batcher.Batch batch = batcher.offer(sample);
    if (batch == null) {
      batch = batcher.flush();
    }
    Map<String, long[]> shapes = new LinkedHashMap<>();
    try (ModelRunner r = new ModelRunner(session, inputNames, tensors)) {
      r.run(batch, (tensor, values, shape) -> {
        String why = n > 1 ? notBatchFirst(values, shape, n) : null;
        if (why != null) {
          throw new ModelException(modelName + ": has a fixed batch of " + n + " samples, and tensor '" + tensor
              + "' (shape " + Arrays.toString(shape) + ") " + why + "; qcal pads a partial batch and drops the"
              + " padded rows, which needs the batch first in every observed tensor. Export the model with a"
              + " dynamic batch dimension or a batch of 1");
        }
        shapes.put(tensor, shape.clone());
      });
    }
    return shapes;
  }

  /**
   * The check of {@link #shapes} for a model's {@code outputs}, on the first of {@code samples} (read only
   * when {@code n > 1}).
   */
  static void checkOutputs(JavaRDD<Sample> samples, OrtSession session, List<String> inputNames,
      List<String> outputs, int n, String modelName) {
    if (n <= 1) {
      return;
    }
    List<Sample> first = samples.take(1);
    if (!first.isEmpty()) {
      shapes(session, inputNames, first.get(0), outputs, n, modelName);
    }
  }

  /** Why a tensor of a batch of {@code n} equal samples does not have the batch first, or null. */
  static String notBatchFirst(FloatBuffer values, long[] shape, int n) {
    if (shape.length == 0 || shape[0] != n) {
      return "does not have the batch as its first dimension";
    }
    int per = values.remaining() / n;
    int base = values.position();
    double maxRef = 0;
    for (int k = 0; k < per; k++) {
      maxRef = Math.max(maxRef, Math.abs(values.get(base + k)));
    }
    double allowed = TOLERANCE * (1 + maxRef);
    for (int row = 1; row < n; row++) {
      for (int k = 0; k < per; k++) {
        float a = values.get(base + k);
        float b = values.get(base + row * per + k);
        if (!(Math.abs(a - b) <= allowed) && Float.compare(a, b) != 0) {
          return "has a first dimension of " + n + " whose rows differ on copies of one sample";
        }
      }
    }
    return null;
  }
}
