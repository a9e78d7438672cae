package dev.qcal.model;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.CalibrationPlan.Planner;
import dev.qcal.model.CalibrationPlan.WeightRef;

/**
 * MatMul(A, B): A (and B when not constant) activations; a 2-D constant B per output column (axis 1).
 * A following bias Add stays in float.
 */
final class MatMulRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    String a = p.activationInput(n, 0);
    String w = QdqGraph.input(n, 1);
    if (!p.graph.isInitializer(w)) {
      p.activationInput(n, 1);
    } else {
      TensorProto wt = p.floatInitializer(n, "B", w, 2);
      if (wt != null) {
        p.weight(new WeightRef(p.graph.id(n), w, 1, null, a));
      }
    }
    p.output(n, 0);
  }
}
