package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;

/**
 * ONNX Runtime's {@code com.microsoft} Attention(input [B, S, hidden], weights [hidden, 3 x hidden], bias,
 * mask_index, ...): the input calibrated and the weights int8 per output column (axis 1), the inputs ONNX
 * Runtime's quantizer quantizes (QAttention reads them); the bias, the mask and the other inputs stay float,
 * and the output is left to its consumer's rule (a quantized MatMul after it calibrates it).
 */
final class AttentionRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    String x = p.activationInput(n, 0);
    String w = QdqGraph.input(n, 1);
    if (!p.graph.isInitializer(w)) {
      p.skip(w, p.describe(n) + " weights are not an initializer; left in float");
      return;
    }
    TensorProto wt = p.floatInitializer(n, "weights", w, 2);
    if (wt != null) {
      p.weight(new WeightRef(p.graph.id(n), w, 1, null, x));
      p.note("weights '" + w + "' int8 per column (axis 1)");
    }
  }
}
