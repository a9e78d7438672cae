package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import java.util.List;

/**
 * One activation in, one out, each calibrated: AveragePool and GlobalAveragePool (ORT's QLinearAveragePool,
 * QLinearGlobalAveragePool), Sigmoid (QLinearSigmoid), HardSigmoid and HardSwish (their output range is
 * narrower than the input's, so it gets its own parameters), ReduceMean; Relu and Clip when not folded into
 * a quantized producer's output (their producer is not quantized; ORT's QDQ activation rule then
 * calibrates both tensors); when asked for, LayerNormalization and Gelu
 * (and the decomposed forms {@link FloatUnits} recognises, planned as one op), which ONNX Runtime runs in
 * float between the DequantizeLinear and the QuantizeLinear.
 */
final class UnaryRule implements QdqOpRules.Rule {
  static final List<String> OPS = List.of("AveragePool", "GlobalAveragePool", "Sigmoid", "HardSigmoid", "HardSwish", "ReduceMean");

  @Override
  public void plan(NodeProto n, Planner p) {
    p.activationInput(n, 0);
    p.output(n, 0);
  }
}
