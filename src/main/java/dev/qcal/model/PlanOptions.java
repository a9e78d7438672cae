package dev.qcal.model;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which nodes a {@link CalibrationPlan} may quantize.
 *
 * @param opTypes op types to quantize (each must have a rule)
 * @param excludeNodes node names or glob patterns ({@code *}, {@code ?}) left in FP32; each must match a node
 * @param excludeOpTypes op types left in FP32 even when listed in {@code opTypes}
 * @param excludeDepthwise leave depthwise Convs (group > 1, one input channel per group) in FP32
 */
public record PlanOptions(
    Set<String> opTypes, List<String> excludeNodes, Set<String> excludeOpTypes, boolean excludeDepthwise) {

  public PlanOptions {
    opTypes = Set.copyOf(Objects.requireNonNull(opTypes, "opTypes"));
    excludeNodes = List.copyOf(Objects.requireNonNull(excludeNodes, "excludeNodes"));
    excludeOpTypes = Set.copyOf(Objects.requireNonNull(excludeOpTypes, "excludeOpTypes"));
  }

  /** Conv, Gemm and MatMul, nothing excluded. */
  public static PlanOptions defaults() {
    return new PlanOptions(QdqOpRules.DEFAULT_OP_TYPES, List.of(), Set.of(), false);
  }

  /** Every op type qcal has a rule for, in registry order. */
  public static List<String> knownOpTypes() {
    return List.copyOf(QdqOpRules.ALL.keySet());
  }
}
