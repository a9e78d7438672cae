package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;

/**
 * InstanceNormalization(x, scale, B) (after ORT's QDQ normalization): the input and the output are
 * calibrated; a constant 1-D scale is an int8 weight per channel (axis 0) and a constant B its int32 bias
 * (scale {@code inputScale * scale[c]}), as ORT's quantizer writes them. ONNX Runtime runs the op itself
 * in float, between the DequantizeLinear and the QuantizeLinear.
 */
final class InstanceNormalizationRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    String x = p.activationInput(n, 0);
    String scale = QdqGraph.input(n, 1);
    if (x != null && p.graph.isInitializer(scale)) {
      TensorProto s = p.floatInitializer(n, "scale", scale, 1);
      if (s != null) {
        String b = QdqOpRules.bias(n, p, QdqGraph.input(n, 2), s.getDims(0));
        p.weight(new WeightRef(p.graph.id(n), scale, 0, b, x));
      }
    }
    p.output(n, 0);
  }
}
