package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Subgraphs that compute one function from elementary ops and that ONNX Runtime fuses back into one float
 * kernel: GELU in its Erf form ({@code 0.5 x (1 + erf(x / sqrt 2))}, fused into Gelu/BiasGelu) and its Tanh
 * form ({@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}, fused into FastGelu), and LayerNormalization
 * decomposed into ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div (then Mul by gamma, Add beta; fused into
 * LayerNormalization). A Q/DQ pair inside one would stop the fusion and quantize an intermediate value
 * (x^3, the variance) that 8 bits cannot hold, so the planner treats each as one unit: its inner nodes stay
 * FP32, and only its input and output can be quantized (by the Gelu or LayerNormalization rule).
 */
final class FloatUnits {

  /** One recognised subgraph: {@code kind} (e.g. "GELU (Erf form)"), its input, output and nodes. */
  record Unit(String kind, String opType, String input, String output, Set<NodeProto> nodes) {
    /** Whether {@code n} writes {@link #output()}: the rule of {@link #opType()} plans the unit there. */
    boolean isLast(NodeProto n) {
      return n.getOutputList().contains(output);
    }
  }

  private static final Set<String> ARITHMETIC = Set.of("Add", "Sub", "Mul", "Div", "Pow");
  private static final Set<String> NORM_OPS = Set.of("ReduceMean", "Sub", "Pow", "Mul", "Add", "Sqrt", "Div",
      "Reciprocal");
  private static final int MAX_NODES = 12;

  private final QdqGraph g;
  private final Map<NodeProto, Unit> byNode = new HashMap<>();

  FloatUnits(QdqGraph g) {
    this.g = g;
    for (NodeProto n : g.nodes()) {
      if (byNode.containsKey(n) || !defaultDomain(n)) {
        continue;
      }
      Unit u = switch (n.getOpType()) {
        case "Erf" -> gelu(n, "GELU (Erf form)");
        case "Tanh" -> gelu(n, "GELU (Tanh form)");
        case "ReduceMean" -> layerNorm(n);
        default -> null;
      };
      if (u != null && u.nodes().stream().noneMatch(byNode::containsKey)) {
        u.nodes().forEach(x -> byNode.put(x, u));
      }
    }
  }

  /** The unit {@code n} belongs to, or null. */
  Unit of(NodeProto n) {
    return byNode.get(n);
  }

  /**
   * The GELU around {@code e} (an Erf or Tanh): forward from {@code e} through at most four Add/Mul/Div
   * nodes, one of which multiplies by the unit input {@code x} (or by {@code x} times a constant); backward,
   * the Add/Sub/Mul/Div/Pow nodes between {@code x} and {@code e}.
   */
  private Unit gelu(NodeProto e, String kind) {
    Set<NodeProto> ancestors = ancestors(e);
    Set<NodeProto> forward = new LinkedHashSet<>();
    NodeProto cur = e;
    String x = null;
    NodeProto xScale = null;
    String out = null;
    boolean half = false;
    for (int k = 0; k < 4; k++) {
      List<NodeProto> cs = g.consumers(cur.getOutput(0));
      if (cs.size() != 1 || g.isGraphOutput(cur.getOutput(0))) {
        break;
      }
      NodeProto c = cs.get(0);
      if (!defaultDomain(c) || !Set.of("Add", "Mul", "Div").contains(c.getOpType()) || c.getInputCount() != 2) {
        break;
      }
      String other = c.getInput(0).equals(cur.getOutput(0)) ? c.getInput(1) : c.getInput(0);
      boolean scaling = !c.getOpType().equals("Add");
      if (isConstant(other)) {
        if (x != null) {
          // after the multiplication by x only the factor 0.5 may follow, when it was not applied before
          if (scaling && !half && xScale == null) {
            forward.add(c);
            out = c.getOutput(0);
          }
          break;
        }
        half |= scaling;
        forward.add(c);
        cur = c;
        continue;
      }
      if (x != null || !c.getOpType().equals("Mul")) {
        break;
      }
      NodeProto p = g.producer(other);
      if (reaches(other, e, ancestors)) {
        x = other;
      } else if (p != null && p.getOpType().equals("Mul") && constantSide(p) >= 0
          && reaches(p.getInput(1 - constantSide(p)), e, ancestors)) {
        x = p.getInput(1 - constantSide(p));
        xScale = p;
      } else {
        break;
      }
      forward.add(c);
      out = c.getOutput(0);
      cur = c;
    }
    return x == null || out == null ? null : geluUnit(kind, x, e, xScale, forward, out, ancestors);
  }

  /**
   * The GELU unit from {@code x} to {@code out}: the nodes between {@code x} and {@code e}, {@code e}, the
   * {@code forward} nodes and {@code xScale} (null when none); null when too many or not closed.
   */
  private Unit geluUnit(String kind, String x, NodeProto e, NodeProto xScale, Set<NodeProto> forward, String out,
      Set<NodeProto> ancestors) {
    Set<NodeProto> nodes = new LinkedHashSet<>(between(x, e, ancestors));
    nodes.add(e);
    nodes.addAll(forward);
    if (xScale != null) {
      nodes.add(xScale);
    }
    if (nodes.size() > MAX_NODES || !closed(nodes, x, out)) {
      return null;
    }
    return new Unit(kind, "Gelu", x, out, nodes);
  }

  /**
   * A decomposed LayerNormalization starting at {@code mean = ReduceMean(x)}: every node reachable from
   * {@code x}'s ReduceMean and Sub whose non-constant inputs are {@code x} or unit outputs (ReduceMean, Sub,
   * Pow, Mul, Add, Sqrt, Div, Reciprocal), with one Sqrt, one output, then a Mul and an Add by constants.
   */
  private Unit layerNorm(NodeProto mean) {
    String x = mean.getInput(0);
    NodeProto sub = g.consumers(mean.getOutput(0)).stream()
        .filter(c -> c.getOpType().equals("Sub") && c.getInput(0).equals(x)).findFirst().orElse(null);
    if (sub == null) {
      return null;
    }
    Set<NodeProto> nodes = new LinkedHashSet<>(List.of(mean, sub));
    Set<String> inside = new HashSet<>(List.of(x, mean.getOutput(0), sub.getOutput(0)));
    Deque<String> work = new ArrayDeque<>(List.of(sub.getOutput(0)));
    boolean sqrt = false;
    while (!work.isEmpty() && nodes.size() <= MAX_NODES) {
      for (NodeProto c : g.consumers(work.poll())) {
        if (nodes.contains(c) || !defaultDomain(c) || !NORM_OPS.contains(c.getOpType())
            || c.getOutputCount() != 1) {
          continue;
        }
        boolean allInside = c.getInputList().stream().allMatch(t -> t.isEmpty() || inside.contains(t) || isConstant(t));
        if (!allInside || isAffine(c, nodes)) {
          continue;
        }
        nodes.add(c);
        sqrt |= c.getOpType().equals("Sqrt");
        inside.add(c.getOutput(0));
        work.add(c.getOutput(0));
      }
    }
    List<String> ends = nodes.stream().map(n -> n.getOutput(0))
        .filter(t -> g.isGraphOutput(t) || g.consumers(t).stream().anyMatch(c -> !nodes.contains(c))).toList();
    if (!sqrt || ends.size() != 1 || nodes.size() > MAX_NODES) {
      return null;
    }
    String out = ends.get(0);
    for (String op : List.of("Mul", "Add")) {
      List<NodeProto> cs = g.consumers(out);
      if (cs.size() == 1 && cs.get(0).getOpType().equals(op) && constantSide(cs.get(0)) >= 0
          && !g.isGraphOutput(out)) {
        nodes.add(cs.get(0));
        out = cs.get(0).getOutput(0);
      }
    }
    return closed(nodes, x, out) ? new Unit("LayerNormalization (decomposed)", "LayerNormalization", x, out, nodes)
        : null;
  }

  /** A Mul/Add by a constant whose other input already has a consumer in the unit: gamma or beta, added later. */
  private boolean isAffine(NodeProto c, Set<NodeProto> nodes) {
    if (!(c.getOpType().equals("Mul") || c.getOpType().equals("Add")) || constantSide(c) < 0) {
      return false;
    }
    NodeProto p = g.producer(c.getInput(1 - constantSide(c)));
    return p != null && (p.getOpType().equals("Div") || p.getOpType().equals("Mul") && constantSide(p) < 0);
  }

  /** No tensor made inside {@code nodes}, except {@code out}, is read outside them or is a graph output. */
  private boolean closed(Set<NodeProto> nodes, String x, String out) {
    for (NodeProto n : nodes) {
      for (String t : n.getOutputList()) {
        if (t.equals(out)) {
          continue;
        }
        if (g.isGraphOutput(t) || g.consumers(t).stream().anyMatch(c -> !nodes.contains(c))) {
          return false;
        }
      }
      for (String t : n.getInputList()) {
        NodeProto p = t.isEmpty() || t.equals(x) || isConstant(t) ? null : g.producer(t);
        if (p != null && !nodes.contains(p)) {
          return false;
        }
      }
    }
    return true;
  }

  /** Arithmetic nodes from which {@code e} is reached through arithmetic nodes only (at most 8 deep). */
  private Set<NodeProto> ancestors(NodeProto e) {
    Set<NodeProto> seen = new LinkedHashSet<>();
    Deque<NodeProto> work = new ArrayDeque<>(List.of(e));
    while (!work.isEmpty() && seen.size() < 8) {
      for (String t : work.poll().getInputList()) {
        NodeProto p = t.isEmpty() ? null : g.producer(t);
        if (p != null && defaultDomain(p) && ARITHMETIC.contains(p.getOpType()) && seen.add(p)) {
          work.add(p);
        }
      }
    }
    return seen;
  }

  /** Whether {@code t} is read by {@code e} or by one of {@code ancestors}. */
  private boolean reaches(String t, NodeProto e, Set<NodeProto> ancestors) {
    return e.getInputList().contains(t) || ancestors.stream().anyMatch(a -> a.getInputList().contains(t));
  }

  /** The ancestors of {@code e} that read {@code x}, directly or through one another. */
  private Set<NodeProto> between(String x, NodeProto e, Set<NodeProto> ancestors) {
    Set<NodeProto> out = new LinkedHashSet<>();
    Set<String> reached = new HashSet<>(List.of(x));
    boolean grew = true;
    while (grew) {
      grew = false;
      for (NodeProto a : ancestors) {
        if (!out.contains(a) && a.getInputList().stream().anyMatch(reached::contains)) {
          out.add(a);
          reached.add(a.getOutput(0));
          grew = true;
        }
      }
    }
    return out;
  }

  /** The index (0 or 1) of a binary node's constant input, or -1. */
  private int constantSide(NodeProto n) {
    if (n.getInputCount() != 2) {
      return -1;
    }
    return isConstant(n.getInput(1)) ? 1 : isConstant(n.getInput(0)) ? 0 : -1;
  }

  /** An initializer or the output of a Constant node. */
  private boolean isConstant(String t) {
    if (g.isInitializer(t)) {
      return true;
    }
    NodeProto p = g.producer(t);
    return p != null && p.getOpType().equals("Constant");
  }

  private static boolean defaultDomain(NodeProto n) {
    return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
  }
}
