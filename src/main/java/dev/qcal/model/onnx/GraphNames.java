package dev.qcal.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.HashSet;
import java.util.Set;

/** Hands out tensor and node names not yet used anywhere in a graph (subgraphs included). */
public final class GraphNames {

  private final Set<String> tensors = new HashSet<>();
  private final Set<String> nodes = new HashSet<>();

  public GraphNames(GraphProto graph) {
    collect(graph);
  }

  private void collect(GraphProto graph) {
    graph.getInitializerList().stream().map(TensorProto::getName).forEach(tensors::add);
    graph.getInputList().stream().map(ValueInfoProto::getName).forEach(tensors::add);
    graph.getOutputList().stream().map(ValueInfoProto::getName).forEach(tensors::add);
    graph.getValueInfoList().stream().map(ValueInfoProto::getName).forEach(tensors::add);
    for (NodeProto n : graph.getNodeList()) {
      nodes.add(n.getName());
      tensors.addAll(n.getInputList());
      tensors.addAll(n.getOutputList());
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasG()) {
          collect(a.getG());
        }
        a.getGraphsList().forEach(this::collect);
      }
    }
  }

  public String tensor(String base) {
    return unique(base, tensors);
  }

  String node(String base) {
    return unique(base, nodes);
  }

  /** {@code base}, or {@code base_k} for the smallest k not in {@code used}; the name returned is added to {@code used}. */
  public static String unique(String base, Set<String> used) {
    String name = base;
    for (int k = 1; used.contains(name); k++) {
      name = base + "_" + k;
    }
    used.add(name);
    return name;
  }
}
