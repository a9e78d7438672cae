package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Which float activations of a prepared model get a QuantizeLinear/DequantizeLinear pair and which
 * weight initializers are quantized, decided per operator by the rules in {@link QdqOpRules}.
 *
 * <p>Activations are the float run-time inputs and the outputs of the quantized operators; an output
 * whose only consumer is a Relu, or a Clip with constant bounds, is replaced by that Relu/Clip output so
 * the activation function folds into the output quantization. Each tensor appears once, in topological
 * order (graph inputs first). Tensors whose parameters are not calibrated but taken from another tensor
 * (outputs of ops that only move values) or fixed by definition (Softmax) are in {@link #derived()}, not in
 * {@link #activations()}. {@link #nodes()} says for every node whether it is quantized, or why not.
 */
public final class CalibrationPlan {

  /**
   * One quantized weight: {@code initializer} is read by {@code node} (its name, or
   * {@code OpType(firstOutput)} when the name is empty or not unique) and is quantized per channel along
   * {@code axis}. {@code biasInitializer} (nullable) is quantized to int32 with scale
   * {@code scale(activationInput) * weightScale[c]}; {@code activationInput} (nullable) is the planned
   * activation the op multiplies with the weight.
   */
  public record WeightRef(
      String node, String initializer, int axis, String biasInitializer, String activationInput) {
    public WeightRef {
      Objects.requireNonNull(node, "node");
      Objects.requireNonNull(initializer, "initializer");
    }
  }

  /**
   * A Q/DQ'd tensor whose parameters are not calibrated: copied from {@code source} (ops that only move
   * values), or, when {@code fixed}, computed from the range [{@code min}, {@code max}] with the
   * quantization type of {@code source} (Softmax output).
   */
  public record Derived(String source, boolean fixed, float min, float max) {
    public Derived {
      Objects.requireNonNull(source, "source");
    }
  }

  /**
   * What the plan decided for one node: {@code quantized} when its rule planned at least one of its
   * tensors (the reason then names the rule and each planned tensor: calibrated, sharing another's params,
   * or a fixed range), else why not (op type not selected and why it is not by default, excluded by an
   * option, inside a unit kept FP32, or what the rule found: an input that is not a float activation, ...).
   */
  public record NodeDecision(String node, String opType, boolean quantized, String reason, String details) {
    public NodeDecision {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(details, "details");
    }

    /** A decision without details. */
    public NodeDecision(String node, String opType, boolean quantized, String reason) {
      this(node, opType, quantized, reason, "");
    }
  }

  private final List<String> activations;
  private final List<WeightRef> weights;
  private final List<String> skipped;
  private final Map<String, Derived> derived;
  private final List<NodeDecision> nodes;
  private final Map<String, Set<String>> owners;

  private CalibrationPlan(List<String> activations, List<WeightRef> weights, List<String> skipped,
      Map<String, Derived> derived, List<NodeDecision> nodes, Map<String, Set<String>> owners) {
    this.owners = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(owners));
    this.activations = List.copyOf(activations);
    this.weights = List.copyOf(weights);
    this.skipped = List.copyOf(skipped);
    this.derived = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(derived));
    this.nodes = List.copyOf(nodes);
  }

  /** Plans Q/DQ for the default op types (Conv, Gemm, MatMul). */
  public static CalibrationPlan of(ModelProto prepared) {
    return of(prepared, PlanOptions.defaults());
  }

  /**
   * Plans Q/DQ for the op types and exclusions of {@code options}.
   *
   * @throws IllegalArgumentException for an op type name that is no ONNX op type
   * @throws ModelException for an exclusion pattern matching no node
   */
  public static CalibrationPlan of(ModelProto prepared, PlanOptions options) {
    Objects.requireNonNull(prepared, "prepared");
    Objects.requireNonNull(options, "options");
    Map<String, QdqOpRules.Rule> rules = QdqOpRules.select(options.opTypes());
    Planner planner = new Planner(new QdqGraph(prepared.getGraph()));
    NodeExclusions exclusions = new NodeExclusions(options, planner.graph);
    FloatUnits units = planner.units;
    for (NodeProto n : planner.graph.nodes()) {
      String id = planner.graph.id(n);
      boolean defaultDomain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
      FloatUnits.Unit unit = units.of(n);
      String op = unit == null ? n.getOpType() : unit.opType();
      QdqOpRules.Rule rule = rules.get(defaultDomain ? op : QdqOpRules.key(n));
      String excluded = exclusions.reason(n);
      if (excluded != null) {
        planner.nodes.add(new NodeDecision(id, n.getOpType(), false, excluded));
      } else if (unit != null && (rule == null || !unit.isLast(n))) {
        planner.nodes.add(new NodeDecision(id, n.getOpType(), false, "inside " + unit.kind() + " '"
            + unit.input() + "' -> '" + unit.output() + "' (" + unit.nodes().size() + " nodes), kept FP32 as one unit"
            + " so ONNX Runtime fuses it" + (rule == null ? "; " + QdqOpRules.notSelected(op) : "")));
      } else if (defaultDomain && isActivationFunction(n) && n.getOutputCount() > 0
          && planner.activations.contains(n.getOutput(0))) {
        planner.nodes.add(new NodeDecision(id, n.getOpType(), true,
            "folded into the producer's output quantization (Q/DQ after the " + n.getOpType() + ")"));
      } else if (rule == null) {
        String why = !defaultDomain && QdqOpRules.ALL.containsKey(QdqOpRules.key(n))
            ? QdqOpRules.notSelected(QdqOpRules.key(n))
            : !defaultDomain ? "domain '" + n.getDomain() + "' is not quantized"
            : QdqOpRules.ALL.containsKey(n.getOpType()) ? QdqOpRules.notSelected(n.getOpType())
            : options.opTypes().contains(n.getOpType()) ? "no rule for op type " + n.getOpType()
                + (QdqOpRules.FOLDED.contains(n.getOpType()) ? " (folded only after a quantized producer)" : "")
                + "; stays FP32"
            : "no quantization rule for " + n.getOpType() + "; stays FP32";
        planner.nodes.add(new NodeDecision(id, n.getOpType(), false, why));
      } else {
        planner.begin(n);
        if (unit != null) {
          planner.unit(n, unit);
        } else {
          rule.plan(n, planner);
        }
        planner.nodes.add(planner.end(n, "rule " + rule.getClass().getSimpleName()
            + (unit == null ? "" : " for " + unit.kind() + " '" + unit.input() + "' -> '" + unit.output() + "'")));
      }
    }
    exclusions.checkAllMatched();
    return planner.build();
  }

  private static boolean isActivationFunction(NodeProto n) {
    return n.getOpType().equals("Relu") || n.getOpType().equals("Clip");
  }

  /** Float activation tensors to calibrate and wrap in Q/DQ, in topological order. */
  public List<String> activations() {
    return activations;
  }

  /** Weights to quantize per channel, in node order. */
  public List<WeightRef> weights() {
    return weights;
  }

  /** Tensors the rules looked at but left in float, each with the reason. */
  public List<String> skipped() {
    return skipped;
  }

  /** Tensors Q/DQ'd with parameters taken from another tensor or a fixed range, not calibrated. */
  public Map<String, Derived> derived() {
    return derived;
  }

  /** Every node in topological order with what the plan decided for it. */
  public List<NodeDecision> nodes() {
    return nodes;
  }

  /**
   * The nodes whose rules quantize {@code tensor} (an activation, derived tensor or weight initializer),
   * in plan order: leaving all of them in FP32 (e.g. with {@code --exclude-nodes}) removes its
   * quantization. Empty when the plan does not quantize it.
   */
  public Set<String> owners(String tensor) {
    return owners.getOrDefault(tensor, Set.of());
  }

  @Override
  public String toString() {
    return "CalibrationPlan[" + activations.size() + " activations, " + weights.size() + " weights, "
        + skipped.size() + " skipped]";
  }

  /** Mutable state the operator rules write into while the plan is built. */
  static final class Planner {
    final QdqGraph graph;
    final FloatUnits units;
    private final Set<String> activations = new LinkedHashSet<>();
    private final Map<String, WeightRef> weights = new LinkedHashMap<>();
    private final List<String> skipped = new ArrayList<>();
    private final Map<String, Derived> derived = new LinkedHashMap<>();
    private final List<NodeDecision> nodes = new ArrayList<>();
    private final Map<String, Set<String>> owners = new LinkedHashMap<>();
    /** The node whose rule runs, what it planned and what it skipped. */
    private String current;
    private boolean touched;
    private final List<String> planned = new ArrayList<>();
    private final List<String> currentSkips = new ArrayList<>();

    Planner(QdqGraph graph) {
      this.graph = graph;
      this.units = new FloatUnits(graph);
    }

    void begin(NodeProto node) {
      current = graph.id(node);
      touched = false;
      planned.clear();
      currentSkips.clear();
    }

    /** The decision for the node begun last: quantized when its rule planned a tensor of it, else why not. */
    NodeDecision end(NodeProto node, String rule) {
      current = null;
      if (!touched) {
        String why = currentSkips.isEmpty() ? "nothing to quantize" : currentSkips.get(0);
        return new NodeDecision(graph.id(node), node.getOpType(), false, rule + " planned nothing: " + why);
      }
      return new NodeDecision(graph.id(node), node.getOpType(), true, rule,
          String.join(", ", new LinkedHashSet<>(planned)));
    }

    /** Plans a {@link FloatUnits.Unit} as one op at its last node {@code node}: its input and its output. */
    void unit(NodeProto node, FloatUnits.Unit u) {
      String x = u.input();
      if (!graph.isFloatActivation(x)) {
        skip(x, describe(node) + " (" + u.kind() + ") input '" + x + "' is " + kind(x) + ", not a float activation");
      } else {
        activations.add(x);
        own(x, node);
        planned.add("input '" + x + "' calibrated");
      }
      output(node, node.getOutputList().indexOf(u.output()));
    }

    /**
     * Plans input {@code index} of {@code node} as an activation when it is a float run-time tensor.
     *
     * @return the tensor name when planned, else null (and the reason is recorded unless the input is absent)
     */
    String activationInput(NodeProto node, int index) {
      String t = QdqGraph.input(node, index);
      if (t.isEmpty()) {
        return null;
      }
      if (!graph.isFloatActivation(t)) {
        skip(t, describe(node) + " input " + index + " is " + kind(t) + ", not a float activation");
        return null;
      }
      NodeProto p = graph.producer(t);
      if (p != null && p.getOpType().equals("DequantizeLinear")) {
        skip(t, describe(node) + " input " + index + " is already the output of a DequantizeLinear");
        return null;
      }
      if (!derived.containsKey(t)) {
        activations.add(t);
        own(t, node);
        planned.add("input '" + t + "' calibrated");
      } else {
        touched = true;
        planned.add("input '" + t + "' (" + describeDerived(t) + ")");
      }
      return t;
    }

    /** Output {@code index} of {@code node} reuses the params of {@code source} (when null, it stays float). */
    void share(NodeProto node, int index, String source) {
      derive(node, index, source, new Derived(source == null ? "" : source, false, 0f, 0f));
    }

    /** Output {@code index} of {@code node} gets range [min, max] in {@code typeSource}'s quantization type. */
    void fix(NodeProto node, int index, String typeSource, float min, float max) {
      derive(node, index, typeSource, new Derived(typeSource == null ? "" : typeSource, true, min, max));
    }

    private void derive(NodeProto node, int index, String source, Derived d) {
      if (index >= node.getOutputCount() || node.getOutput(index).isEmpty()) {
        return;
      }
      String t = node.getOutput(index);
      if (source == null) {
        skip(t, describe(node) + " output " + index + " left in float because its input is not quantized");
      } else if (!graph.isFloatActivation(t)) {
        skip(t, describe(node) + " output " + index + " is " + kind(t) + ", not a float activation");
      } else {
        derived.put(t, d);
        own(t, node);
        planned.add("output '" + t + "' " + describeDerived(t));
      }
    }

    private String describeDerived(String t) {
      Derived d = derived.get(t);
      return d.fixed() ? "fixed range [" + d.min() + ", " + d.max() + "]" : "shares params with '" + d.source() + "'";
    }

    /** Plans output {@code index} of {@code node}, moved past a sole Relu/Clip consumer. */
    void output(NodeProto node, int index) {
      if (index >= node.getOutputCount() || node.getOutput(index).isEmpty()) {
        return;
      }
      String t = node.getOutput(index);
      if (!graph.isFloatActivation(t)) {
        skip(t, describe(node) + " output " + index + " is " + kind(t) + ", not a float activation");
        return;
      }
      String folded = foldActivation(t);
      if (graph.consumers(folded).stream().anyMatch(c -> c.getOpType().equals("QuantizeLinear"))) {
        skip(folded, describe(node) + " output " + index + " already feeds a QuantizeLinear");
        return;
      }
      activations.add(folded);
      own(folded, node);
      planned.add("output '" + folded + "' calibrated" + (folded.equals(t) ? "" : " (after the "
          + graph.producer(folded).getOpType() + ")"));
    }

    private void own(String tensor, NodeProto node) {
      touched = true;
      owners.computeIfAbsent(tensor, k -> new LinkedHashSet<>()).add(graph.id(node));
    }

    private String foldActivation(String t) {
      List<NodeProto> consumers = graph.consumers(t);
      if (graph.isGraphOutput(t) || consumers.size() != 1) {
        return t;
      }
      NodeProto c = consumers.get(0);
      boolean defaultDomain = c.getDomain().isEmpty() || c.getDomain().equals("ai.onnx");
      boolean relu = c.getOpType().equals("Relu");
      boolean clip = c.getOpType().equals("Clip") && constantOrAbsent(c, 1) && constantOrAbsent(c, 2);
      if (defaultDomain && (relu || clip) && c.getInput(0).equals(t) && c.getOutputCount() > 0
          && graph.isFloatActivation(c.getOutput(0))) {
        return c.getOutput(0);
      }
      return t;
    }

    private boolean constantOrAbsent(NodeProto n, int index) {
      String t = QdqGraph.input(n, index);
      return t.isEmpty() || graph.isInitializer(t);
    }

    /** The float initializer {@code name} if it has rank {@code rank}, else null (reason recorded). */
    TensorProto floatInitializer(NodeProto node, String role, String name, int rank) {
      TensorProto t = graph.initializer(name);
      if (t == null) {
        return null;
      }
      if (t.getDataType() != QdqGraph.FLOAT) {
        skip(name, describe(node) + " " + role + " has element type "
            + TensorProto.DataType.forNumber(t.getDataType()) + ", not FLOAT");
        return null;
      }
      if (rank >= 0 && t.getDimsCount() != rank) {
        skip(name, describe(node) + " " + role + " has rank " + t.getDimsCount() + ", expected " + rank);
        return null;
      }
      return t;
    }

    void weight(WeightRef ref) {
      String key = ref.node() + "/" + ref.initializer();
      weights.putIfAbsent(key, ref);
      owners.computeIfAbsent(ref.initializer(), k -> new LinkedHashSet<>()).add(ref.node());
      touched = true;
    }

    /** A detail of what the current node's rule planned, for {@link NodeDecision#details()}. */
    void note(String detail) {
      planned.add(detail);
    }

    void skip(String tensor, String reason) {
      skipped.add("'" + tensor + "': " + reason);
      if (current != null) {
        currentSkips.add("'" + tensor + "': " + reason);
      }
    }

    String describe(NodeProto n) {
      return n.getOpType() + " '" + graph.id(n) + "'";
    }

    private String kind(String t) {
      if (graph.isInitializer(t)) {
        return "an initializer";
      }
      int type = graph.elemType(t);
      return type == QdqGraph.UNKNOWN_TYPE
          ? "of unknown type"
          : "of type " + TensorProto.DataType.forNumber(type);
    }

    CalibrationPlan build() {
      List<String> ordered = new ArrayList<>(activations);
      List<String> inputs = graph.graph().getInputList().stream().map(v -> v.getName()).toList();
      ordered.sort(Comparator.comparingLong(t -> orderKey(t, inputs)));
      Map<String, Set<String>> frozen = new LinkedHashMap<>();
      owners.forEach((k, v) -> frozen.put(k, java.util.Collections.unmodifiableSet(new LinkedHashSet<>(v))));
      return new CalibrationPlan(ordered, new ArrayList<>(weights.values()), skipped, derived, nodes, frozen);
    }

    private long orderKey(String t, List<String> inputs) {
      NodeProto p = graph.producer(t);
      if (p == null) {
        return inputs.indexOf(t);
      }
      return ((long) (graph.position(p) + 1) << 20) + p.getOutputList().indexOf(t);
    }
  }
}
