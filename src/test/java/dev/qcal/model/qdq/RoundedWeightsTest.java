package dev.qcal.model.qdq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.PlanOptions;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.quant.WeightSpec;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link QdqRewriter.Request#withRounded}: the given integers and scales are the ones written (here chosen by
 * hand, not RTN's), other weights are rounded to nearest, and params of another scheme are refused.
 */
class RoundedWeightsTest {
  private static final float[] W = TestGraphs.randomFloats(12, 5); // [4, 3]
  private static final float[] V = TestGraphs.randomFloats(6, 6); // [3, 2]

  /** x[N,4] -> MatMul(w[4,3]) -> MatMul(v[3,2]) -> y. */
  private static ModelProto model() {
    return TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "m1", List.of("x", "w"), List.of("h")),
            TestGraphs.node("MatMul", "m2", List.of("h", "v"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 4)), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w", new long[] {4, 3}, W), TestGraphs.floatTensor("v", new long[] {3, 2}, V)));
  }

  private static QdqRewriter.Result rewrite(Map<String, QdqRewriter.Rounded> rounded) {
    ModelProto m = model();
    CalibrationPlan plan = CalibrationPlan.of(m, new PlanOptions(Set.of("MatMul"), List.of(), Set.of(), false));
    Map<String, QuantParams> params = new java.util.HashMap<>();
    for (String a : plan.activations()) {
      params.put(a, LinearQuant.forRange(-4, 4, QuantType.UINT8, false));
    }
    return QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params).withWeights(WeightSpec.defaults())
        .withRounded(rounded));
  }

  /** The int8 values and scales of the weight {@code node} reads at input 1. */
  private static long[] codes(ModelProto q, String node) {
    TensorProto t = initializer(q, dq(q, node).getInput(0));
    byte[] raw = t.getRawData().toByteArray();
    long[] c = new long[raw.length];
    for (int i = 0; i < raw.length; i++) {
      c[i] = raw[i];
    }
    return c;
  }

  private static NodeProto dq(ModelProto q, String node) {
    NodeProto n = q.getGraph().getNodeList().stream().filter(x -> x.getName().equals(node)).findFirst().orElseThrow();
    return q.getGraph().getNodeList().stream().filter(x -> x.getOutputList().contains(n.getInput(1))).findFirst()
        .orElseThrow();
  }

  private static TensorProto initializer(ModelProto q, String name) {
    return q.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void theGivenIntegersAndScalesAreWrittenAndTheOtherWeightIsRoundedToNearest() {
    long[] given = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -127};
    QuantParams p = new QuantParams(new float[] {0.5f, 0.25f, 0.125f}, new long[3], QuantType.INT8, 1);
    QdqRewriter.Result r = rewrite(Map.of("w", new QdqRewriter.Rounded(given, p)));
    assertArrayEquals(given, codes(r.model(), "m1"));
    assertArrayEquals(new float[] {0.5f, 0.25f, 0.125f},
        Initializers.floats(initializer(r.model(), dq(r.model(), "m1").getInput(1))));
    assertEquals(p, r.weightParams().get("w"));
    QuantParams rtn = LinearQuant.weightParams(V, new long[] {3, 2}, 1, QuantType.INT8);
    assertArrayEquals(LinearQuant.quantizeAll(V, new long[] {3, 2}, rtn), codes(r.model(), "m2"));
  }

  @Test
  void paramsOfAnotherSchemeOrSizeAreRefused() {
    QuantParams perTensor = QuantParams.perTensor(0.5f, 0, QuantType.INT8);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> rewrite(Map.of("w", new QdqRewriter.Rounded(new long[12], perTensor))));
    assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("axis"), e.getMessage());
    QuantParams p = new QuantParams(new float[] {1, 1, 1}, new long[3], QuantType.INT8, 1);
    assertThrows(IllegalArgumentException.class, () -> rewrite(Map.of("w", new QdqRewriter.Rounded(new long[11], p))));
  }
}
