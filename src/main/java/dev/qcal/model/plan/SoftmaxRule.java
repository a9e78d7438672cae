package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;

/**
 * Softmax: the input is calibrated; the output's range is [0, 1] by definition, so it is fixed rather than
 * calibrated (as in ORT's {@code QDQSoftmax}) and takes the input's quantization type.
 */
final class SoftmaxRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    p.fix(n, 0, p.activationInput(n, 0), 0f, 1f);
  }
}
