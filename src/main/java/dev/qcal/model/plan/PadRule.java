package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.NodeAttributes;
import dev.qcal.model.plan.CalibrationPlan.Planner;

/**
 * Pad (after ORT's QDQ Pad, a "same scale" op): the input is an activation and the output reuses its scale
 * and zero point when every padded value is one the input's params hold exactly: edge or reflect mode
 * (copies of input values), or constant mode with the pad value 0 (absent, the opset-2 {@code value}
 * attribute or a constant {@code constant_value} input; 0 is always exact, as a range always includes it).
 * Any other pad value (ORT quantizes it with the input's params, where it may saturate) gets the output
 * calibrated on its own, so the range observed includes it.
 */
final class PadRule implements QdqOpRules.Rule {
  @Override
  public void plan(NodeProto n, Planner p) {
    String source = p.activationInput(n, 0);
    if (source == null) {
      return;
    }
    if (padsWithZeroOrCopies(n, p)) {
      p.share(n, 0, source);
    } else {
      p.output(n, 0);
      p.note("pad value not 0: output calibrated on its own so its range holds the pad value");
    }
  }

  private static boolean padsWithZeroOrCopies(NodeProto n, Planner p) {
    if (!NodeAttributes.stringOr(n, "mode", "constant").equals("constant")) {
      return true;
    }
    if (NodeAttributes.find(n, "value").isPresent()) {
      return NodeAttributes.find(n, "value").get().getF() == 0f;
    }
    String value = QdqGraph.input(n, 2);
    if (value.isEmpty()) {
      return true;
    }
    TensorProto t = p.graph.initializer(value);
    if (t == null || t.getDataType() != QdqGraph.FLOAT) {
      return false;
    }
    float[] v = Initializers.floats(t);
    return v.length == 1 && v[0] == 0f;
  }
}
