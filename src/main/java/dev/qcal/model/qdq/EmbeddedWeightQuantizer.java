package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import java.util.function.Function;

/** A weight whose values the model holds: quantized in memory, into an initializer of the model. */
final class EmbeddedWeightQuantizer implements WeightQuantizer {

  private final TensorProto weight;
  private final long[] dims;

  EmbeddedWeightQuantizer(TensorProto weight) {
    this.weight = weight;
    this.dims = QdqTensors.dims(weight);
  }

  /** Per channel, per tensor or in blocks; for a shared Gather table, uint8 asymmetric over its values and 0. */
  @Override
  public QuantParams params(WeightScheme s) {
    if (s.table()) {
      return tableParams();
    }
    float[] data = QdqTensors.floats(weight);
    return s.block() > 0 ? LinearQuant.blockWeightParams(data, dims, s.axis(), s.block(), s.type())
        : s.perTensor() ? LinearQuant.weightParamsPerTensor(data, s.type())
        : LinearQuant.weightParams(data, dims, s.axis(), s.type());
  }

  @Override
  public Function<String, TensorProto> values(WeightScheme s, QuantParams p) {
    long[] q = LinearQuant.quantizeAll(QdqTensors.floats(weight), dims, p);
    return name -> QdqTensors.intTensor(name, s.type(), dims, q);
  }

  private QuantParams tableParams() {
    float lo = 0;
    float hi = 0;
    for (float v : QdqTensors.floats(weight)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return LinearQuant.forRange(lo, hi, QuantType.UINT8, false);
  }
}
