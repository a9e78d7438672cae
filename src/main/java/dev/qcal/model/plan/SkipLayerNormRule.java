package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;

/**
 * ONNX Runtime's {@code com.microsoft} SkipLayerNormalization(input, skip, gamma, beta, bias): input and skip
 * calibrated, output 0 calibrated, as ONNX Runtime's quantizer does for an op with no rule of its own; gamma,
 * beta and bias (a few values each) stay float. ONNX Runtime runs it in float between the Q/DQ pairs.
 */
final class SkipLayerNormRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    p.activationInput(n, 0);
    p.activationInput(n, 1);
    p.output(n, 0);
  }
}
