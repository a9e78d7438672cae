package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.quant.QuantParams;
import java.util.function.Function;

/**
 * Quantizes one float weight initializer: first its params in a {@link WeightScheme}, then its values with
 * params that may have been adjusted since (raised for an int32 bias). {@link EmbeddedWeightQuantizer} reads
 * a weight held in the model, {@link StreamedWeightQuantizer} one in external data.
 */
interface WeightQuantizer {

  /** The params of the weight in {@code scheme}. */
  QuantParams params(WeightScheme scheme);

  /**
   * The quantized initializer with params {@code p} (of {@code scheme}'s type), made from the name it gets;
   * call after {@link #params}.
   */
  Function<String, TensorProto> values(WeightScheme scheme, QuantParams p);
}
