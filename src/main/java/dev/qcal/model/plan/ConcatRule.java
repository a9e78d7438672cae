package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;

/**
 * Concat: every float activation input and the output are calibrated, each with its own parameters. ONNX
 * Runtime's CPU provider fuses DQ* -> Concat -> Q into QLinearConcat, which requantizes each input to the
 * output's scale, so no shared scale is needed (its {@code InputVariadicSelector} does not ask for one).
 */
final class ConcatRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    for (int i = 0; i < n.getInputCount(); i++) {
      if (p.graph.isInitializer(n.getInput(i))) {
        p.skip(n.getOutputCount() > 0 ? n.getOutput(0) : n.getInput(i),
            p.describe(n) + " input " + i + " is an initializer; Concat left in float");
        return;
      }
    }
    for (int i = 0; i < n.getInputCount(); i++) {
      p.activationInput(n, i);
    }
    p.output(n, 0);
  }
}
