package dev.qcal.model;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.CalibrationPlan.Planner;
import dev.qcal.model.CalibrationPlan.WeightRef;

/**
 * Gather on a weight table (an embedding): the table is stored as int8 with one scale per row (axis 0) and
 * read through a DequantizeLinear; the output stays float and the indices are untouched. Gather over an
 * activation (a token picked from a sequence) moves values only: the output shares the input's params.
 */
final class GatherRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    String table = QdqGraph.input(n, 0);
    if (!p.graph.isInitializer(table)) {
      p.share(n, 0, p.activationInput(n, 0));
      return;
    }
    TensorProto t = p.floatInitializer(n, "table", table, -1);
    if (t == null) {
      return;
    }
    if (t.getDimsCount() < 1) {
      p.skip(table, p.describe(n) + " table is a scalar; left in float");
      return;
    }
    p.weight(new WeightRef(p.graph.id(n), table, 0, null, null));
  }
}
