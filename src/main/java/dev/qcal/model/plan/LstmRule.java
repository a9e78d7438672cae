package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;

/**
 * LSTM(X, W[D, 4H, I], R[D, 4H, H], B, sequence_lens, initial_h, initial_c), and GRU alike (W[D, 3H, I],
 * R[D, 3H, H]): W and R int8 per output row (axis 1), as ONNX Runtime's dynamic LSTM quantization stores them; the LSTM itself runs in float on the
 * DequantizeLinear outputs, so its weights are stored 4x smaller. X, B, the sequence lengths, the initial
 * states and the outputs stay float: ONNX Runtime has no kernel that reads an LSTM's Q/DQ activations
 * (DynamicQuantizeLSTM quantizes X itself), so a Q/DQ on X would only add rounding error (measured in
 * {@code ContribRulesTest}).
 */
final class LstmRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    weight(n, p, 1, "W");
    weight(n, p, 2, "R");
  }

  private static void weight(NodeProto n, Planner p, int index, String role) {
    String w = QdqGraph.input(n, index);
    if (w.isEmpty()) {
      return;
    }
    if (!p.graph.isInitializer(w)) {
      p.skip(w, p.describe(n) + " " + role + " is not an initializer; left in float");
      return;
    }
    TensorProto wt = p.floatInitializer(n, role, w, 3);
    if (wt != null) {
      p.weight(new WeightRef(p.graph.id(n), w, 1, null, null));
      p.note(role + " '" + w + "' int8 per row (axis 1)");
    }
  }
}
