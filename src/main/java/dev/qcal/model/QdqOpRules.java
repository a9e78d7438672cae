package dev.qcal.model;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.CalibrationPlan.Planner;
import dev.qcal.model.CalibrationPlan.WeightRef;
import java.util.Map;

/**
 * Per-operator Q/DQ planning rules and their registry (after ORT's {@code quantization/registry.py}).
 * To support another op, add a rule here and register it in {@link #defaults()}.
 */
final class QdqOpRules {

  /** Plans the activations and weights of one node. */
  interface Rule {
    void plan(NodeProto node, Planner planner);
  }

  private static final Map<String, Rule> DEFAULTS =
      Map.of("Conv", QdqOpRules::conv, "Gemm", QdqOpRules::gemm, "MatMul", QdqOpRules::matMul);

  private QdqOpRules() {}

  static Map<String, Rule> defaults() {
    return DEFAULTS;
  }

  /** Conv(X, W[M, C/g, k...], B[M]): X and Y activations, W per output channel (axis 0), B int32. */
  static void conv(NodeProto n, Planner p) {
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
      String b = bias(n, p, QdqGraph.input(n, 2), wt.getDims(0));
      p.weight(new WeightRef(p.graph.id(n), w, 0, b, x));
    }
    p.output(n, 0);
  }

  /** Gemm(A, B, C): A (and B when not constant) activations; B per output column; C int32 when 1-D [N]. */
  static void gemm(NodeProto n, Planner p) {
    String a = p.activationInput(n, 0);
    String w = QdqGraph.input(n, 1);
    if (!p.graph.isInitializer(w)) {
      p.activationInput(n, 1);
    } else {
      TensorProto wt = p.floatInitializer(n, "B", w, 2);
      if (wt != null) {
        boolean transB = QdqGraph.intAttr(n, "transB", 0) != 0;
        int axis = transB ? 0 : 1;
        String c = bias(n, p, QdqGraph.input(n, 2), wt.getDims(axis));
        p.weight(new WeightRef(p.graph.id(n), w, axis, c, a));
      }
    }
    p.output(n, 0);
  }

  /**
   * MatMul(A, B): A (and B when not constant) activations; a 2-D constant B per output column (axis 1).
   * A following bias Add stays in float.
   */
  static void matMul(NodeProto n, Planner p) {
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

  /** The bias name when it is a float 1-D initializer of {@code channels} elements, else null. */
  private static String bias(NodeProto n, Planner p, String b, long channels) {
    if (b.isEmpty()) {
      return null;
    }
    if (!p.graph.isInitializer(b)) {
      p.skip(b, p.describe(n) + " bias is not an initializer; left in float");
      return null;
    }
    TensorProto bt = p.floatInitializer(n, "bias", b, 1);
    if (bt == null) {
      return null;
    }
    if (bt.getDims(0) != channels) {
      p.skip(b, p.describe(n) + " bias has " + bt.getDims(0) + " elements but the weight has "
          + channels + " output channels; left in float");
      return null;
    }
    return b;
  }
}
