package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;

/**
 * Where(cond, X, Y): when X and Y are both float activations they and the output are calibrated (ORT's
 * QLinearWhere); a constant X or Y (a mask's fill value, often -1e4 or -inf) leaves the node in float, as a
 * range that holds it would leave no resolution for the values.
 */
final class WhereRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    for (int i = 1; i <= 2; i++) {
      String t = QdqGraph.input(n, i);
      if (!p.graph.isFloatActivation(t)) {
        p.skip(n.getOutput(0), p.describe(n) + " input " + i + " '" + t + "' is not a float activation"
            + " (a constant fill value?); Where left in float");
        return;
      }
    }
    p.activationInput(n, 1);
    p.activationInput(n, 2);
    p.output(n, 0);
  }
}
