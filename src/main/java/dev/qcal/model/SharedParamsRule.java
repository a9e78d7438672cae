package dev.qcal.model;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.CalibrationPlan.Planner;
import java.util.List;

/**
 * Ops that move or select values without computing new ones: the input is an activation and every output
 * reuses its scale and zero point (no requantization), so ONNX Runtime's "drop Q/DQ" rule can run them on
 * the integers (Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Slice, Split, Expand, MaxPool, Resize;
 * ORT's quantizer calls these "same scale" ops). MaxPool and nearest or linear Resize never leave the
 * input's range; cubic Resize can overshoot it slightly and then saturates.
 */
final class SharedParamsRule implements QdqOpRules.Rule {
  static final List<String> OPS = List.of(
      "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Split", "Expand", "MaxPool", "Resize",
      "Upsample");

  @Override
  public void plan(NodeProto n, Planner p) {
    String source = p.activationInput(n, 0);
    // MaxPool's optional second output holds int64 indices: only the values share the input's params
    int outputs = n.getOpType().equals("MaxPool") ? 1 : n.getOutputCount();
    for (int i = 0; i < outputs; i++) {
      p.share(n, i, source);
    }
  }
}
