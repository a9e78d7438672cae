package dev.qcal.model.plan;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which nodes a {@link CalibrationPlan} may quantize.
 *
 * @param opTypes op types to quantize; ONNX op types without a rule are accepted and their nodes stay FP32
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

  /** The named op types qcal has a rule for, sorted: what the plan quantizes. */
  public java.util.SortedSet<String> quantizedOpTypes() {
    java.util.SortedSet<String> s = new java.util.TreeSet<>(opTypes);
    s.removeIf(op -> QdqOpRules.keys(op).isEmpty());
    return s;
  }

  /**
   * The named op types with no rule that are not folded into a producer either (as Relu and Clip are), sorted:
   * their nodes stay FP32.
   */
  public java.util.SortedSet<String> unruledOpTypes() {
    java.util.SortedSet<String> s = new java.util.TreeSet<>(opTypes);
    s.removeIf(op -> !QdqOpRules.keys(op).isEmpty());
    s.removeAll(QdqOpRules.FOLDED);
    return s;
  }

  /** Every op type qcal has a rule for, in registry order. */
  public static List<String> knownOpTypes() {
    return List.copyOf(QdqOpRules.ALL.keySet());
  }
}
