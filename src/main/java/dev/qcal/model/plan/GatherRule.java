package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;

/**
 * Gather on a weight table (an embedding): the indices are untouched; the table is stored as uint8 (its min/max range) with one
 * scale for the whole table and the output is Q/DQ'd with that same scale and zero point (as ORT's
 * quantizer does), so ONNX Runtime gathers 8-bit rows and dequantizes only those (see
 * {@code QdqRewriter}); a 4-bit table, or one whose output a consumer's rule calibrates, keeps one scale
 * per row (axis 0) and a float output. Gather over an activation (a token picked from a sequence) moves
 * values only: the output shares the input's params.
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
    p.note("table '" + table + "' uint8 per tensor, output '" + n.getOutput(0) + "' shares its params (per row"
        + " when 4-bit or when the output is calibrated)");
  }
}
