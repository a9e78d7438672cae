package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.GraphNames;
import dev.qcal.model.plan.QdqGraph;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Writes the Q/DQ edits of a rewrite into the graph: hands out the short names ({@code qK}, {@code sK},
 * {@code zK}, {@code dK}, {@code K} a counter; a name already used gets a numeric suffix), adds the
 * initializers and the unnamed QuantizeLinear/DequantizeLinear nodes, redirects node inputs, and finally
 * builds the graph, dropping the float initializers no node reads any more.
 */
final class QdqEmitter {

  private final QdqGraph g;
  private final GraphNames names;
  private int counter;
  private final List<TensorProto> newInitializers = new ArrayList<>();
  private final List<NodeProto> head = new ArrayList<>();
  private final Map<String, List<NodeProto>> afterTensor = new HashMap<>();
  private final Map<String, String> activationRename = new HashMap<>();
  /** Graph outputs whose producer now writes another name, read by the Q whose DQ writes the output. */
  private final Map<String, String> outputRename = new HashMap<>();
  /** Per weight DequantizeLinear output: its scale and zero point initializers. */
  private final Map<String, String[]> dqParams = new HashMap<>();
  private final Map<NodeProto, Map<Integer, String>> inputEdits = new HashMap<>();
  private final Set<String> replacedInitializers = new HashSet<>();

  QdqEmitter(QdqGraph g) {
    this.g = g;
    this.names = new GraphNames(g.graph());
  }

  /**
   * A Q/DQ pair for activation {@code t} after its producer (or first, for a graph input) that every
   * reader of {@code t} then reads; {@code shared} names the scale and zero point to reuse, or null for new
   * ones. With {@code writesOutput} the DQ writes graph output {@code t} and the producer writes
   * {@code t_QuantizeInput}. Returns the scale and zero point names.
   */
  String[] activation(String t, QuantParams p, String[] shared, boolean writesOutput) {
    String[] params = shared != null ? shared : activationParams(p);
    String q = names.tensor("q" + counter);
    String dq = names.tensor("d" + counter);
    counter++;
    String in = t;
    if (writesOutput) {
      // the DQ writes the graph output, so its readers and the model's interface keep the name
      in = names.tensor(t + "_QuantizeInput");
      dq = t;
      outputRename.put(t, in);
    }
    List<NodeProto> pair = List.of(
        qdqNode("QuantizeLinear", in, params[0], params[1], q, p.axis()),
        qdqNode("DequantizeLinear", q, params[0], params[1], dq, p.axis()));
    if (g.producer(t) == null) {
      head.addAll(pair);
    } else {
      afterTensor.put(t, pair);
    }
    if (!dq.equals(t)) {
      activationRename.put(t, dq);
    }
    return params;
  }

  private String[] activationParams(QuantParams p) {
    long[] dims = p.perChannel() ? new long[] {p.channels()} : new long[0];
    String scale = names.tensor("s" + counter);
    String zp = names.tensor("z" + counter);
    newInitializers.add(QdqTensors.floatTensor(scale, dims, p.scale()));
    newInitializers.add(QdqTensors.intTensor(zp, p.type(), dims, p.zeroPoint()));
    return new String[] {scale, zp};
  }

  /**
   * Adds initializers {@code qK}, {@code sK} and, when {@code keepZeroPoint}, {@code zK}, and a
   * DequantizeLinear; returns its output name. A left-out zero point is 0 (ONNX's default).
   */
  String dequantized(long[] dims, long[] values, QuantParams p, QuantType type, boolean keepZeroPoint) {
    return dequantized(dims, name -> QdqTensors.intTensor(name, type, dims, values), p, type, keepZeroPoint);
  }

  /** As above, the quantized initializer (of shape {@code dims}) made by {@code quantized} from its name. */
  String dequantized(long[] dims, Function<String, TensorProto> quantized, QuantParams p, QuantType type,
      boolean keepZeroPoint) {
    long[] pdims = p.blocked() ? LinearQuant.blockParamDims(dims, p.axis(), p.blockSize())
        : p.perChannel() ? new long[] {p.channels()} : new long[0];
    String q = names.tensor("q" + counter);
    String scale = names.tensor("s" + counter);
    String zp = keepZeroPoint ? names.tensor("z" + counter) : "";
    String dq = names.tensor("d" + counter);
    counter++;
    newInitializers.add(quantized.apply(q));
    newInitializers.add(QdqTensors.floatTensor(scale, pdims, p.scale()));
    if (!zp.isEmpty()) {
      newInitializers.add(QdqTensors.intTensor(zp, type, pdims, p.zeroPoint()));
    }
    NodeProto dqNode = qdqNode("DequantizeLinear", q, scale, zp, dq, p.axis());
    if (p.blocked()) {
      dqNode = dqNode.toBuilder().addAttribute(AttributeProto.newBuilder()
          .setName("block_size").setType(AttributeProto.AttributeType.INT).setI(p.blockSize())).build();
    }
    head.add(dqNode);
    dqParams.put(dq, new String[] {scale, zp});
    return dq;
  }

  /** The scale and zero point names of the DequantizeLinear writing {@code dq} (made by {@link #dequantized}). */
  String[] dequantizedParams(String dq) {
    return dqParams.get(dq);
  }

  /** Makes input {@code index} of {@code node} read {@code newInput}. */
  void edit(NodeProto node, int index, String newInput) {
    inputEdits.computeIfAbsent(node, k -> new HashMap<>()).put(index, newInput);
  }

  /** Marks a float initializer as quantized: it is dropped when no node reads it any more. */
  void replaced(String initializer) {
    replacedInitializers.add(initializer);
  }

  /** The graph with every edit made. */
  GraphProto build() {
    GraphProto.Builder gb = g.graph().toBuilder().clearNode();
    gb.addAllNode(head);
    for (NodeProto n : g.nodes()) {
      gb.addNode(edited(n));
      for (String out : n.getOutputList()) {
        gb.addAllNode(afterTensor.getOrDefault(out, List.of()));
      }
    }
    Set<String> used = new HashSet<>();
    for (NodeProto n : gb.getNodeList()) {
      collectInputs(n, used);
    }
    gb.getOutputList().forEach(v -> used.add(v.getName()));
    List<TensorProto> kept = new ArrayList<>();
    for (TensorProto t : gb.getInitializerList()) {
      if (!replacedInitializers.contains(t.getName()) || used.contains(t.getName())) {
        kept.add(t);
      }
    }
    Set<String> removed = new HashSet<>(replacedInitializers);
    removed.removeAll(used);
    List<ValueInfoProto> inputs = gb.getInputList().stream().filter(v -> !removed.contains(v.getName())).toList();
    List<ValueInfoProto> infos =
        gb.getValueInfoList().stream().filter(v -> !removed.contains(v.getName())).toList();
    gb.clearInitializer().addAllInitializer(kept).addAllInitializer(newInitializers);
    gb.clearInput().addAllInput(inputs);
    gb.clearValueInfo().addAllValueInfo(infos);
    return gb.build();
  }

  /** {@code n} reading the dequantized tensors and writing the renamed outputs. */
  private NodeProto edited(NodeProto n) {
    Map<Integer, String> edits = inputEdits.getOrDefault(n, Map.of());
    NodeProto.Builder nb = n.toBuilder();
    for (int i = 0; i < n.getInputCount(); i++) {
      String replacement = edits.getOrDefault(i, activationRename.get(n.getInput(i)));
      if (replacement != null) {
        nb.setInput(i, replacement);
      }
    }
    for (int i = 0; i < n.getOutputCount(); i++) {
      String renamed = outputRename.get(n.getOutput(i));
      if (renamed != null) {
        nb.setOutput(i, renamed);
      }
    }
    return nb.build();
  }

  /** Inputs of a node and, for nodes with subgraphs, every name those subgraphs read. */
  private static void collectInputs(NodeProto n, Set<String> used) {
    used.addAll(n.getInputList());
    for (AttributeProto a : n.getAttributeList()) {
      List<GraphProto> subgraphs = new ArrayList<>(a.getGraphsList());
      if (a.hasG()) {
        subgraphs.add(a.getG());
      }
      for (GraphProto sg : subgraphs) {
        for (NodeProto sn : sg.getNodeList()) {
          collectInputs(sn, used);
        }
        sg.getOutputList().forEach(v -> used.add(v.getName()));
      }
    }
  }

  /** An unnamed Q or DQ node; an empty {@code zp} leaves the optional zero point out. */
  private static NodeProto qdqNode(String op, String x, String scale, String zp, String y, Integer axis) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).addInput(x).addInput(scale);
    if (!zp.isEmpty()) {
      n.addInput(zp);
    }
    n.addOutput(y);
    if (axis != null) {
      n.addAttribute(AttributeProto.newBuilder()
          .setName("axis").setType(AttributeProto.AttributeType.INT).setI(axis));
    }
    return n.build();
  }
}
