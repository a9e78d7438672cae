package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.plan.QdqGraph;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The quantization of one tensor at a time: for each activation Q/DQ pair and each quantized weight of a
 * QDQ model, the prepared FP32 model it was made from with only that tensor's Q/DQ transplanted into it
 * (its scale, zero point and, for weights, quantized values copied from the QDQ model). Running these
 * variants against the FP32 model measures the error each tensor's quantization alone introduces.
 *
 * <p>Nodes are matched by id (name, or {@code OpType(firstOutput)}), which the QDQ rewrite keeps; int32
 * biases are not targets (their error is that of their input and weight scales).
 */
public final class SingleTensorQdq {

  /**
   * One quantized tensor: its name in the FP32 model, {@code activation} or {@code weight}, and the
   * nodes reading its dequantized value.
   */
  public record Target(String tensor, String kind, List<String> nodes) {
    public Target {
      Objects.requireNonNull(tensor, "tensor");
      nodes = List.copyOf(nodes);
    }
  }

  /**
   * What a variant adds to the prepared graph: nodes, initializers, inputs to redirect, and node outputs
   * to rename (a graph output whose DQ now writes it).
   */
  private record Transplant(List<NodeProto> nodes, List<TensorProto> initializers, String after,
      Map<String, Map<Integer, String>> rewires, Map<String, String> renames) {}

  private final ModelProto prepared;
  private final List<Target> targets = new ArrayList<>();
  private final List<Transplant> transplants = new ArrayList<>();

  private SingleTensorQdq(ModelProto prepared) {
    this.prepared = prepared;
  }

  /**
   * Finds the quantized tensors of {@code quantized} that map onto {@code prepared}: activation pairs in
   * graph order, then weights.
   *
   * @throws ModelException when {@code quantized} quantizes a tensor or node that {@code prepared} lacks
   */
  public static SingleTensorQdq of(ModelProto prepared, ModelProto quantized) {
    SingleTensorQdq s = new SingleTensorQdq(prepared);
    QdqGraph p = new QdqGraph(prepared.getGraph());
    QdqGraph q = new QdqGraph(quantized.getGraph());
    List<NodeProto> weightDqs = new ArrayList<>();
    for (NodeProto n : q.nodes()) {
      if (isOp(n, "DequantizeLinear") && q.isInitializer(n.getInput(0))) {
        weightDqs.add(n);
      }
      if (isOp(n, "QuantizeLinear") && !q.isInitializer(n.getInput(0))) {
        s.addActivation(p, q, n);
      }
    }
    Map<String, Integer> weightIndex = new LinkedHashMap<>();
    for (NodeProto dq : weightDqs) {
      TensorProto values = q.initializer(dq.getInput(0));
      if (values.getDataType() != TensorProto.DataType.INT32_VALUE) { // not a bias
        s.addWeight(p, q, dq, weightIndex);
      }
    }
    return s;
  }

  /** The target and transplant of activation Q/DQ pair {@code quantize} of {@code q} ({@code p} the FP32 model). */
  private void addActivation(QdqGraph p, QdqGraph q, NodeProto quantize) {
    String t = quantize.getInput(0);
    NodeProto dq = q.consumers(quantize.getOutput(0)).stream().filter(c -> isOp(c, "DequantizeLinear")).findFirst()
        .orElse(null);
    Map<String, String> renames = new LinkedHashMap<>();
    if (p.producer(t) == null && !p.isGraphInput(t) && dq != null && p.isGraphOutput(dq.getOutput(0))
        && p.producer(dq.getOutput(0)) != null) {
      // Q/DQ on a graph output: the DQ writes the output's name, its producer writes the Q's input
      renames.put(dq.getOutput(0), t);
      t = dq.getOutput(0);
    }
    if (p.producer(t) == null && !p.isGraphInput(t)) {
      throw new ModelException("quantized model: Q/DQ of '" + t + "', which the prepared FP32 model has no tensor for");
    }
    if (dq == null) {
      return;
    }
    List<String> readers = new ArrayList<>();
    Map<String, Map<Integer, String>> rewires = new LinkedHashMap<>();
    for (NodeProto c : q.consumers(dq.getOutput(0))) {
      if (isOp(c, "QuantizeLinear") || isOp(c, "DequantizeLinear")) {
        continue;
      }
      String id = q.id(c);
      NodeProto pc = preparedNode(p, id);
      readers.add(id);
      for (int i = 0; i < c.getInputCount(); i++) {
        if (c.getInput(i).equals(dq.getOutput(0)) && i < pc.getInputCount() && pc.getInput(i).equals(t)) {
          rewires.computeIfAbsent(id, k -> new LinkedHashMap<>()).put(i, dq.getOutput(0));
        }
      }
    }
    targets.add(new Target(t, "activation", readers));
    transplants.add(new Transplant(List.of(quantize, dq), initializers(q, quantize, dq),
        p.producer(t) == null ? null : t, rewires, renames));
  }

  /**
   * Adds weight DequantizeLinear {@code dq} of {@code q} to the target of each FP32 initializer its readers
   * read in its place ({@code weightIndex}: the target index of each initializer so far).
   */
  private void addWeight(QdqGraph p, QdqGraph q, NodeProto dq, Map<String, Integer> weightIndex) {
    for (NodeProto c : q.consumers(dq.getOutput(0))) {
      String id = q.id(c);
      NodeProto pc = preparedNode(p, id);
      for (int i = 0; i < c.getInputCount() && i < pc.getInputCount(); i++) {
        if (!c.getInput(i).equals(dq.getOutput(0)) || !p.isInitializer(pc.getInput(i))) {
          continue;
        }
        String w = pc.getInput(i);
        Integer k = weightIndex.get(w);
        if (k == null) {
          k = targets.size();
          weightIndex.put(w, k);
          targets.add(new Target(w, "weight", List.of()));
          transplants.add(new Transplant(new ArrayList<>(), new ArrayList<>(), null, new LinkedHashMap<>(), Map.of()));
        }
        Transplant tr = transplants.get(k);
        if (!tr.nodes().contains(dq)) { // one weight read on two axes has two DequantizeLinears
          tr.nodes().add(dq);
          tr.initializers().addAll(initializers(q, dq));
        }
        Set<String> nodes = new LinkedHashSet<>(targets.get(k).nodes());
        nodes.add(id);
        targets.set(k, new Target(w, "weight", new ArrayList<>(nodes)));
        tr.rewires().computeIfAbsent(id, x -> new LinkedHashMap<>()).put(i, dq.getOutput(0));
      }
    }
  }

  /** The node of the prepared FP32 model with id {@code id}. */
  private static NodeProto preparedNode(QdqGraph p, String id) {
    NodeProto pc = p.node(id);
    if (pc == null) {
      throw new ModelException("quantized model: node '" + id + "' is not in the prepared FP32 model");
    }
    return pc;
  }

  private static boolean isOp(NodeProto n, String op) {
    return n.getOpType().equals(op) && (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"));
  }

  private static List<TensorProto> initializers(QdqGraph q, NodeProto... nodes) {
    Map<String, TensorProto> m = new LinkedHashMap<>();
    for (NodeProto n : nodes) {
      for (String in : n.getInputList()) {
        TensorProto t = q.initializer(in);
        if (t != null) {
          m.put(in, t);
        }
      }
    }
    return new ArrayList<>(m.values());
  }

  /** The quantized tensors, in a fixed order: variant {@code i} quantizes {@code targets().get(i)}. */
  public List<Target> targets() {
    return List.copyOf(targets);
  }

  /** The prepared FP32 model with only target {@code i} quantize-dequantized. */
  public ModelProto variant(int i) {
    Transplant t = transplants.get(i);
    GraphProto g = prepared.getGraph();
    QdqGraph index = new QdqGraph(g);
    GraphProto.Builder b = g.toBuilder().clearNode();
    if (t.after() == null) {
      b.addAllNode(t.nodes());
    }
    for (NodeProto n : index.nodes()) {
      Map<Integer, String> edits = t.rewires().get(index.id(n));
      boolean renamed = n.getOutputList().stream().anyMatch(t.renames()::containsKey);
      if (edits == null && !renamed) {
        b.addNode(n);
      } else {
        NodeProto.Builder nb = n.toBuilder();
        if (edits != null) {
          edits.forEach(nb::setInput);
        }
        for (int k = 0; k < n.getOutputCount(); k++) {
          nb.setOutput(k, t.renames().getOrDefault(n.getOutput(k), n.getOutput(k)));
        }
        b.addNode(nb.build());
      }
      if (t.after() != null && n.getOutputList().contains(t.after())) {
        b.addAllNode(t.nodes());
      }
    }
    // a float weight nobody reads any more is dropped (ONNX Runtime warns about each unused initializer)
    Set<String> replaced = new java.util.HashSet<>();
    t.rewires().forEach((id, edits) -> edits.keySet().forEach(k -> replaced.add(index.node(id).getInput(k))));
    Set<String> used = new java.util.HashSet<>();
    boolean subgraphs = false;
    for (NodeProto n : b.getNodeList()) {
      used.addAll(n.getInputList());
      subgraphs |= n.getAttributeList().stream().anyMatch(a -> a.hasG() || a.getGraphsCount() > 0);
    }
    b.getOutputList().forEach(v -> used.add(v.getName()));
    replaced.removeAll(used);
    if (!subgraphs && !replaced.isEmpty()) {
      List<TensorProto> kept = b.getInitializerList().stream().filter(x -> !replaced.contains(x.getName())).toList();
      List<ai.onnx.proto.OnnxMl.ValueInfoProto> inputs =
          b.getInputList().stream().filter(v -> !replaced.contains(v.getName())).toList();
      b.clearInitializer().addAllInitializer(kept).clearInput().addAllInput(inputs);
    }
    b.addAllInitializer(t.initializers());
    return prepared.toBuilder().setGraph(b.build()).build();
  }
}
