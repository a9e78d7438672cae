package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import java.util.List;

/**
 * Ops that move or select values without computing new ones: the input is an activation and every output
 * reuses its scale and zero point (no requantization), so ONNX Runtime's "drop Q/DQ" rule can run them on
 * the integers (Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Slice, Split, Expand, MaxPool, Resize;
 * ORT's quantizer calls these "same scale" ops). MaxPool and nearest or linear Resize never leave the
 * input's range; cubic Resize can overshoot it slightly and then saturates. TopK, ReduceMax and ReduceMin
 * pick input values; GatherElements picks them from its data input (its int64 indices are untouched), as
 * Gather over an activation does. MaxPool's and TopK's second output (int64 indices) stays as it is.
 */
final class SharedParamsRule implements QdqOpRules.Rule {
  static final List<String> OPS = List.of(
      "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Split", "Expand", "MaxPool", "Resize",
      "Upsample", "TopK", "ReduceMax", "ReduceMin", "GatherElements");

  /** Ops whose second output holds int64 indices: only the first (the values) shares the input's params. */
  private static final List<String> VALUES_THEN_INDICES = List.of("MaxPool", "TopK");

  @Override
  public void plan(NodeProto n, Planner p) {
    String source = p.activationInput(n, 0);
    int outputs = VALUES_THEN_INDICES.contains(n.getOpType()) ? 1 : n.getOutputCount();
    for (int i = 0; i < outputs; i++) {
      p.share(n, i, source);
    }
  }
}
