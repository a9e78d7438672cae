package dev.qcal.model.prepare;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.ModelException;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The batch size of a model exported without a dynamic batch dimension (input {@code [1,3,224,224]}):
 * every batch qcal feeds it, verification included, holds exactly that many samples. This applies to rows
 * without the leading dimension; rows of an input's full shape are whole inputs, run alone (the jobs'
 * {@code WholeInputs}).
 */
public final class FixedBatch {
  private static final Logger LOG = LoggerFactory.getLogger(FixedBatch.class);

  /** The built-in {@code --batch-size}: replaced by a fixed batch size without a warning. */
  public static final int DEFAULT_BATCH_SIZE = 16;

  private FixedBatch() {}

  /**
   * The first dimension the model's fed inputs (graph inputs that are not initializers) fix, or 0 when
   * none fixes it.
   *
   * @throws ModelException when two inputs fix different first dimensions
   */
  public static int of(ModelProto m, String modelName) {
    Set<String> initializers = new HashSet<>();
    for (TensorProto t : m.getGraph().getInitializerList()) {
      initializers.add(t.getName());
    }
    long fixed = 0;
    String first = null;
    for (ValueInfoProto in : m.getGraph().getInputList()) {
      if (initializers.contains(in.getName()) || !in.getType().hasTensorType()) {
        continue;
      }
      TensorShapeProto shape = in.getType().getTensorType().getShape();
      if (shape.getDimCount() < 1 || !shape.getDim(0).hasDimValue() || shape.getDim(0).getDimValue() < 1) {
        continue;
      }
      long n = shape.getDim(0).getDimValue();
      if (first != null && n != fixed) {
        throw new ModelException(modelName + ": inputs '" + first + "' and '" + in.getName()
            + "' fix different batch sizes (" + fixed + " and " + n + "); qcal feeds all inputs one batch size");
      }
      if (n > Integer.MAX_VALUE) {
        throw new ModelException(modelName + ": input '" + in.getName() + "' fixes batch size " + n);
      }
      fixed = n;
      first = in.getName();
    }
    return (int) fixed;
  }

  /**
   * The batch size to feed: {@code fixed} when the model fixes one (with a warning when the user asked
   * for another size than the default), else {@code requested}.
   */
  public static int batchSize(int fixed, int requested, String modelName) {
    if (fixed == 0) {
      return requested;
    }
    if (requested != fixed && requested != DEFAULT_BATCH_SIZE) {
      LOG.warn("--batch-size {} ignored: {} has a fixed batch dimension of {}; every batch holds exactly that many"
          + " samples", requested, modelName, fixed);
    }
    return fixed;
  }

  /** The batch size verification runs the model at: the fixed one, else 2 (a dynamic first dimension). */
  public static int verifyBatch(int fixed) {
    return fixed > 0 ? fixed : ModelPreparer.DEFAULT_BATCH;
  }
}
