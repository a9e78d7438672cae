package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;

/**
 * MatMul(A, B): A (and B when not constant) activations; a 2-D constant B per output column (axis 1).
 * A following bias Add stays in float. The output is calibrated, except when its only reader is a bias Add
 * whose result goes on to a residual Add, a GELU or a Reshape (a transformer's projections): ONNX Runtime
 * then runs the MatMul as MatMulIntegerToFloat and fuses the bias into SkipLayerNormalization or BiasGelu
 * (or adds it in float before the next Q), one requantization fewer. Measured with
 * {@code scripts/bench transformers} (min/max, ORT CPU): logits SQNR 32.3 -> 34.0 dB on the BERT-style
 * block, 30.7 -> 33.2 dB on the ViT-style block, each MatMul still an integer kernel.
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
    String out = n.getOutputCount() > 0 ? n.getOutput(0) : "";
    if (!out.isEmpty() && biasFusedDownstream(out, p)) {
      p.skip(out, p.describe(n) + " output left float: its bias Add is fused downstream by ONNX Runtime"
          + " (MatMulIntegerToFloat, then SkipLayerNormalization, BiasGelu or a float Add)");
      p.note("output '" + out + "' float (bias Add fused downstream, MatMulIntegerToFloat)");
      return;
    }
    if (!out.isEmpty() && intoSkipLayerNorm(out, p)) {
      p.skip(out, p.describe(n) + " output left float: it goes straight into ONNX Runtime's"
          + " SkipLayerNormalization (bias, residual and LayerNorm fused), so the MatMul runs as MatMulIntegerToFloat");
      p.note("output '" + out + "' float (into SkipLayerNormalization, MatMulIntegerToFloat)");
      return;
    }
    p.output(n, 0);
  }

  /**
   * Whether {@code t}'s only reader is a {@code com.microsoft} SkipLayerNormalization: the fused form of the
   * bias Add, residual Add and LayerNorm of {@link #biasFusedDownstream}. Measured on
   * {@code ContribGraphs.attention} (block SQNR, min/max): 39.9 dB with the output calibrated, 44.0 dB without
   * (ContribRulesTest); the MatMul is an integer kernel either way.
   */
  static boolean intoSkipLayerNorm(String t, Planner p) {
    QdqGraph g = p.graph;
    if (g.isGraphOutput(t) || g.consumers(t).size() != 1) {
      return false;
    }
    NodeProto c = g.consumers(t).get(0);
    return c.getDomain().equals(QdqOpRules.MS_DOMAIN) && c.getOpType().equals("SkipLayerNormalization");
  }

  /**
   * Whether {@code t}'s only reader is an Add of a constant (a bias) whose result is read only by residual
   * Adds (two activations), Reshapes, Gelu ops or the GELU unit it is the input of.
   */
  static boolean biasFusedDownstream(String t, Planner p) {
    QdqGraph g = p.graph;
    if (g.isGraphOutput(t) || g.consumers(t).size() != 1) {
      return false;
    }
    NodeProto add = g.consumers(t).get(0);
    if (!add.getOpType().equals("Add") || add.getInputCount() != 2 || add.getOutputCount() != 1) {
      return false;
    }
    String other = add.getInput(0).equals(t) ? add.getInput(1) : add.getInput(0);
    String biased = add.getOutput(0);
    if (!g.isInitializer(other) || g.isGraphOutput(biased) || g.consumers(biased).isEmpty()) {
      return false;
    }
    for (NodeProto c : g.consumers(biased)) {
      FloatUnits.Unit u = p.units.of(c);
      boolean gelu = c.getOpType().equals("Gelu") || u != null && u.opType().equals("Gelu") && u.input().equals(biased);
      boolean residual = u == null && c.getOpType().equals("Add") && c.getInputCount() == 2
          && g.isFloatActivation(c.getInput(0)) && g.isFloatActivation(c.getInput(1));
      boolean reshape = c.getOpType().equals("Reshape");
      if (!gelu && !residual && !reshape) {
        return false;
      }
    }
    return true;
  }
}
