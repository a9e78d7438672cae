package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;

/**
 * Add and Mul of two activations (ORT fuses them into QLinearAdd/QLinearMul): both inputs and the output
 * are calibrated. With a constant side (a bias Add, a scale Mul) the node stays in float.
 */
final class BinaryActivationRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    for (int i = 0; i < 2; i++) {
      String t = QdqGraph.input(n, i);
      if (!p.graph.isFloatActivation(t)) {
        p.skip(n.getOutputCount() > 0 ? n.getOutput(0) : t, p.describe(n) + " input " + i
            + " is not a float activation; " + n.getOpType() + " left in float");
        return;
      }
    }
    p.activationInput(n, 0);
    p.activationInput(n, 1);
    p.output(n, 0);
  }
}
