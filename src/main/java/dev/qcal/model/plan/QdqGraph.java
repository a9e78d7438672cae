package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Read-only index of a top-level graph for Q/DQ planning: producers, consumers, initializers, a stable
 * topological node order and best-effort element types. Nested subgraphs are not indexed.
 */
public final class QdqGraph {

  static final int UNKNOWN_TYPE = 0;
  static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
  private static final int INT64 = TensorProto.DataType.INT64_VALUE;
  private static final int BOOL = TensorProto.DataType.BOOL_VALUE;

  /** Ops whose outputs are never float whatever their inputs. */
  private static final Map<String, Integer> FIXED_OUTPUT_TYPE = Map.ofEntries(
      Map.entry("Shape", INT64), Map.entry("Size", INT64), Map.entry("NonZero", INT64),
      Map.entry("ArgMax", INT64), Map.entry("ArgMin", INT64), Map.entry("Equal", BOOL),
      Map.entry("Less", BOOL), Map.entry("Greater", BOOL), Map.entry("LessOrEqual", BOOL),
      Map.entry("GreaterOrEqual", BOOL), Map.entry("Not", BOOL), Map.entry("And", BOOL),
      Map.entry("Or", BOOL), Map.entry("Xor", BOOL), Map.entry("IsNaN", BOOL), Map.entry("IsInf", BOOL));

  private final GraphProto graph;
  private final List<NodeProto> topo;
  private final Map<NodeProto, Integer> position = new HashMap<>();
  private final Map<String, NodeProto> producer = new HashMap<>();
  private final Map<String, List<NodeProto>> consumers = new HashMap<>();
  private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
  private final Set<String> graphInputs = new HashSet<>();
  private final Set<String> graphOutputs = new HashSet<>();
  private final Map<String, Integer> elemType = new HashMap<>();
  private final Map<String, NodeProto> byId = new HashMap<>();
  private final Map<NodeProto, String> ids = new HashMap<>();

  public QdqGraph(GraphProto graph) {
    this.graph = graph;
    for (TensorProto t : graph.getInitializerList()) {
      initializers.put(t.getName(), t);
      elemType.put(t.getName(), t.getDataType());
    }
    for (ValueInfoProto v : graph.getInputList()) {
      if (!initializers.containsKey(v.getName())) {
        graphInputs.add(v.getName());
      }
      declare(v);
    }
    for (ValueInfoProto v : graph.getOutputList()) {
      graphOutputs.add(v.getName());
      declare(v);
    }
    for (ValueInfoProto v : graph.getValueInfoList()) {
      declare(v);
    }
    for (NodeProto n : graph.getNodeList()) {
      for (String out : n.getOutputList()) {
        if (!out.isEmpty()) {
          producer.put(out, n);
        }
      }
      for (String in : n.getInputList()) {
        if (!in.isEmpty()) {
          consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
        }
      }
    }
    topo = topologicalOrder();
    Map<String, Integer> nameCount = new HashMap<>();
    for (NodeProto n : topo) {
      nameCount.merge(n.getName(), 1, Integer::sum);
    }
    for (int i = 0; i < topo.size(); i++) {
      NodeProto n = topo.get(i);
      position.put(n, i);
      String id = !n.getName().isEmpty() && nameCount.get(n.getName()) == 1
          ? n.getName()
          : n.getOpType() + "(" + (n.getOutputCount() > 0 ? n.getOutput(0) : "#" + i) + ")";
      ids.put(n, id);
      byId.put(id, n);
      inferTypes(n);
    }
  }

  private void declare(ValueInfoProto v) {
    TypeProto t = v.getType();
    if (t.hasTensorType() && t.getTensorType().getElemType() != UNKNOWN_TYPE) {
      elemType.putIfAbsent(v.getName(), t.getTensorType().getElemType());
    }
  }

  /** Kahn's algorithm, always taking the ready node that comes first in the file: stable for sorted graphs. */
  private List<NodeProto> topologicalOrder() {
    List<NodeProto> nodes = graph.getNodeList();
    Map<String, List<Integer>> waiting = new HashMap<>();
    int[] missing = new int[nodes.size()];
    for (int i = 0; i < nodes.size(); i++) {
      Set<String> pending = new HashSet<>();
      for (String in : nodes.get(i).getInputList()) {
        if (!in.isEmpty() && producer.containsKey(in) && producer.get(in) != nodes.get(i)) {
          pending.add(in);
        }
      }
      missing[i] = pending.size();
      for (String in : pending) {
        waiting.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
      }
    }
    java.util.PriorityQueue<Integer> ready = new java.util.PriorityQueue<>();
    for (int i = 0; i < nodes.size(); i++) {
      if (missing[i] == 0) {
        ready.add(i);
      }
    }
    List<NodeProto> order = new ArrayList<>(nodes.size());
    while (!ready.isEmpty()) {
      int i = ready.poll();
      order.add(nodes.get(i));
      for (String out : nodes.get(i).getOutputList()) {
        for (int j : waiting.getOrDefault(out, List.of())) {
          if (--missing[j] == 0) {
            ready.add(j);
          }
        }
      }
    }
    if (order.size() != nodes.size()) {
      Deque<String> stuck = new ArrayDeque<>();
      for (int i = 0; i < nodes.size() && stuck.size() < 3; i++) {
        if (missing[i] > 0) {
          stuck.add(nodes.get(i).getOpType() + " '" + nodes.get(i).getName() + "'");
        }
      }
      throw new IllegalArgumentException("Graph has a cycle; nodes never ready include " + stuck);
    }
    return Collections.unmodifiableList(order);
  }

  /** Declared types win; otherwise Cast/fixed-type ops decide, else an output inherits its first input's type. */
  private void inferTypes(NodeProto n) {
    Integer fixed = FIXED_OUTPUT_TYPE.get(n.getOpType());
    int inferred;
    if (fixed != null) {
      inferred = fixed;
    } else if (n.getOpType().equals("Cast")) {
      inferred = (int) intAttr(n, "to", UNKNOWN_TYPE);
    } else if (n.getOpType().equals("Constant") || n.getOpType().equals("ConstantOfShape")) {
      inferred = n.getOpType().equals("Constant") ? UNKNOWN_TYPE : FLOAT;
      for (AttributeProto a : n.getAttributeList()) {
        if (a.getName().equals("value") && a.hasT()) {
          inferred = a.getT().getDataType();
        }
      }
    } else if (n.getOpType().equals("DequantizeLinear")) {
      inferred = FLOAT;
    } else if (n.getOpType().equals("QuantizeLinear")) {
      inferred = n.getInputCount() > 2 ? elemType(n.getInput(2)) : TensorProto.DataType.UINT8_VALUE;
    } else if (n.getOpType().equals("Where")) {
      inferred = elemType(input(n, 1));
    } else {
      inferred = n.getInputCount() > 0 ? elemType(n.getInput(0)) : UNKNOWN_TYPE;
    }
    for (int k = 0; k < n.getOutputCount(); k++) {
      String out = n.getOutput(k);
      if (out.isEmpty() || elemType.containsKey(out)) {
        continue;
      }
      // Only the first output of multi-output ops (TopK indices, MaxPool indices) shares the input's type;
      // every output of a Split does.
      if (k == 0 || fixed != null || n.getOpType().equals("Split")) {
        elemType.put(out, inferred);
      }
    }
  }

  public GraphProto graph() {
    return graph;
  }

  public List<NodeProto> nodes() {
    return topo;
  }

  int position(NodeProto n) {
    return position.get(n);
  }

  public String id(NodeProto n) {
    return ids.get(n);
  }

  public NodeProto node(String id) {
    return byId.get(id);
  }

  public NodeProto producer(String tensor) {
    return producer.get(tensor);
  }

  public List<NodeProto> consumers(String tensor) {
    return consumers.getOrDefault(tensor, List.of());
  }

  public TensorProto initializer(String name) {
    return initializers.get(name);
  }

  public boolean isInitializer(String name) {
    return initializers.containsKey(name);
  }

  public boolean isGraphInput(String name) {
    return graphInputs.contains(name);
  }

  public boolean isGraphOutput(String name) {
    return graphOutputs.contains(name);
  }

  /** {@code TensorProto.DataType} of a tensor, {@link #UNKNOWN_TYPE} when neither declared nor inferable. */
  int elemType(String tensor) {
    return elemType.getOrDefault(tensor, UNKNOWN_TYPE);
  }

  /** True for a float32 tensor that is computed at run time (a graph input or a node output). */
  public boolean isFloatActivation(String tensor) {
    return !tensor.isEmpty()
        && !initializers.containsKey(tensor)
        && (graphInputs.contains(tensor) || producer.containsKey(tensor))
        && elemType(tensor) == FLOAT;
  }

  static long intAttr(NodeProto n, String name, long dflt) {
    for (AttributeProto a : n.getAttributeList()) {
      if (a.getName().equals(name)) {
        return a.getI();
      }
    }
    return dflt;
  }

  static String input(NodeProto n, int i) {
    return i < n.getInputCount() ? n.getInput(i) : "";
  }
}
