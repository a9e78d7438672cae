package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;

/**
 * Conv(X, W[M, C/g, k...], B[M]) and ConvTranspose(X, W[C, M/g, k...], B[M]): X and Y activations, W per
 * output channel (axis 0 for Conv, 1 for ConvTranspose), B int32 when its length matches those channels.
 */
final class ConvRule implements QdqOpRules.Rule {
  private final int axis;

  ConvRule(int axis) {
    this.axis = axis;
  }

  @Override
  public void plan(NodeProto n, Planner p) {
    String x = p.activationInput(n, 0);
    String w = QdqGraph.input(n, 1);
    TensorProto wt = p.floatInitializer(n, "weight", w, -1);
    if (wt == null) {
      if (!p.graph.isInitializer(w)) {
        p.skip(w, p.describe(n) + " weight is not an initializer");
      }
    } else if (wt.getDimsCount() < 3) {
      p.skip(w, p.describe(n) + " weight has rank " + wt.getDimsCount() + ", expected >= 3");
    } else {
      long group = QdqGraph.intAttr(n, "group", 1);
      String b = axis == 1 && group != 1 ? null : QdqOpRules.bias(n, p, QdqGraph.input(n, 2), wt.getDims(axis));
      if (axis == 1 && group != 1 && !QdqGraph.input(n, 2).isEmpty()) {
        p.skip(QdqGraph.input(n, 2), p.describe(n) + " has group " + group + ": bias left in float");
      }
      p.weight(new WeightRef(p.graph.id(n), w, axis, b, x));
    }
    p.output(n, 0);
  }
}
