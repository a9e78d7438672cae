package dev.qcal.model.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.model.TestGraphs;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OnnxOpTypesTest {

  @Test
  void everyRuleAndFoldedOpIsAnOnnxOpType() {
    for (String op : PlanOptions.knownOpTypes()) {
      assertTrue(OnnxOpTypes.contains(op), op);
    }
    assertTrue(OnnxOpTypes.contains("Relu") && OnnxOpTypes.contains("Clip"));
    assertFalse(OnnxOpTypes.contains("conv"), "case-sensitive, as in a graph");
  }

  @Test
  void distanceCountsAnAdjacentSwapAsOneEdit() {
    // by hand: Cnov -> Conv swaps n and o; Cos needs a deletion and a substitution
    assertEquals(1, OnnxOpTypes.distance("cnov", "conv"));
    assertEquals(2, OnnxOpTypes.distance("cnov", "cos"));
    assertEquals(0, OnnxOpTypes.distance("add", "add"));
    assertEquals(3, OnnxOpTypes.distance("", "abc"));
  }

  @Test
  void closestSuggestsOnlyNearNames() {
    assertEquals("Conv", OnnxOpTypes.closest("Cnov"));
    assertEquals("MatMul", OnnxOpTypes.closest("matmul"));
    assertNull(OnnxOpTypes.closest("Frobnicate"));
  }

  @Test
  void planOptionsSplitNamedOpTypesIntoQuantizedAndUnruled() {
    PlanOptions o = new PlanOptions(Set.of("Conv", "Relu", "Add", "Einsum", "NonZero"), List.of(),
        Set.of(), false);
    assertEquals(List.of("Add", "Conv", "Relu"), List.copyOf(o.quantizedOpTypes()));
    assertEquals(List.of("Einsum", "NonZero"), List.copyOf(o.unruledOpTypes()));
  }

  @Test
  void aPlanWithAnUnruledOpTypeEqualsOneWithout() {
    ai.onnx.proto.OnnxMl.ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("Conv", "conv", List.of("x", "w"), List.of("c")),
            TestGraphs.node("Relu", "relu", List.of("c"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 1, 2, 4, 4)), List.of(TestGraphs.floatInfo("y", 1, 2, 4, 4)),
        List.of(TestGraphs.floatTensor("w", new long[] {2, 2, 1, 1}, 0.5f, -0.25f, 1f, 0.75f)));
    CalibrationPlan with = CalibrationPlan.of(m,
        new PlanOptions(Set.of("Conv", "Relu", "LSTM"), List.of(), Set.of(), false));
    CalibrationPlan without = CalibrationPlan.of(m, new PlanOptions(Set.of("Conv"), List.of(), Set.of(), false));
    assertEquals(without.activations(), with.activations());
    assertEquals(List.of("x", "y"), with.activations());
    assertEquals(without.weights(), with.weights());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CalibrationPlan.of(m,
        new PlanOptions(Set.of("Conv", "Cnov"), List.of(), Set.of(), false)));
    assertTrue(e.getMessage().contains("'Cnov' is not an ONNX op type"), e.getMessage());
  }
}
