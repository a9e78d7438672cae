package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;

/** Gemm(A, B, C): A (and B when not constant) activations; B per output column; C int32 when 1-D [N]. */
final class GemmRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    String a = p.activationInput(n, 0);
    String w = QdqGraph.input(n, 1);
    if (!p.graph.isInitializer(w)) {
      p.activationInput(n, 1);
    } else {
      TensorProto wt = p.floatInitializer(n, "B", w, 2);
      if (wt != null) {
        boolean transB = QdqGraph.intAttr(n, "transB", 0) != 0;
        int axis = transB ? 0 : 1;
        String c = QdqOpRules.bias(n, p, QdqGraph.input(n, 2), wt.getDims(axis));
        p.weight(new WeightRef(p.graph.id(n), w, axis, c, a));
      }
    }
    p.output(n, 0);
  }
}
