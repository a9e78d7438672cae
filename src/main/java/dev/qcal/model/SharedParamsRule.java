package dev.qcal.model;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.CalibrationPlan.Planner;
import java.util.List;

/**
 * Ops that move or select values without computing new ones: the input is an activation and the output
 * reuses its scale and zero point (no requantization), so ONNX Runtime's "drop Q/DQ" rule can run them on
 * the integers (Reshape, Transpose, Squeeze, Unsqueeze, MaxPool, Resize). MaxPool and nearest or linear
 * Resize never leave the input's range; cubic Resize can overshoot it slightly and then saturates.
 */
final class SharedParamsRule implements QdqOpRules.Rule {
  static final List<String> OPS = List.of(
      "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "MaxPool", "Resize", "Upsample");

  @Override
  public void plan(NodeProto n, Planner p) {
    p.share(n, 0, p.activationInput(n, 0));
  }
}
