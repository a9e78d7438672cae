package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;

/**
 * ArgMax and ArgMin (after ORT's QArgMax): only the input is an activation; the int64 indices are
 * untouched. Rounding to 8 bits can turn a near tie, so the indices may differ from FP32's there.
 */
final class ArgMaxRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    p.activationInput(n, 0);
  }
}
