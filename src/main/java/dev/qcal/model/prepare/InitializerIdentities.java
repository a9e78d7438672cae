package dev.qcal.model.prepare;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.OnnxModels;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds Identity nodes over initializers (as legacy PyTorch exports write for weights and biases they
 * share, e.g. {@code onnx::Conv_9 -> Identity -> conv2.bias}) into their readers, which then read the
 * initializer itself, so a Conv/Gemm/MatMul sees its weight and bias as initializers. An Identity whose
 * output is a graph output or is read inside a subgraph stays (reading the initializer directly).
 */
final class InitializerIdentities {
  private InitializerIdentities() {}

  /** {@code model} with its Identity-of-initializer nodes folded; {@code model} itself when there are none. */
  static ModelProto fold(ModelProto model) {
    GraphProto g = model.getGraph();
    Set<String> initializers = new HashSet<>();
    for (TensorProto t : g.getInitializerList()) {
      initializers.add(t.getName());
    }
    Map<String, String> alias = new HashMap<>();
    for (NodeProto n : g.getNodeList()) {
      if (isDefaultIdentity(n)) {
        String in = alias.getOrDefault(n.getInput(0), n.getInput(0));
        if (initializers.contains(in)) {
          alias.put(n.getOutput(0), in);
        }
      }
    }
    if (alias.isEmpty()) {
      return model;
    }
    Set<String> keep = new HashSet<>();
    g.getOutputList().forEach(v -> keep.add(v.getName()));
    for (NodeProto n : g.getNodeList()) {
      for (AttributeProto a : n.getAttributeList()) {
        subgraphs(a).forEach(sg -> subgraphInputs(sg, keep));
      }
    }
    GraphProto.Builder b = g.toBuilder().clearNode();
    Set<String> removed = new HashSet<>();
    for (NodeProto n : g.getNodeList()) {
      boolean folded = isDefaultIdentity(n) && alias.containsKey(n.getOutput(0));
      if (folded && !keep.contains(n.getOutput(0))) {
        removed.add(n.getOutput(0));
        continue;
      }
      NodeProto.Builder nb = n.toBuilder();
      for (int i = 0; i < n.getInputCount(); i++) {
        nb.setInput(i, alias.getOrDefault(n.getInput(i), n.getInput(i)));
      }
      b.addNode(nb.build());
    }
    List<ValueInfoProto> infos = new ArrayList<>();
    for (ValueInfoProto v : g.getValueInfoList()) {
      if (!removed.contains(v.getName())) {
        infos.add(v);
      }
    }
    b.clearValueInfo().addAllValueInfo(infos);
    return model.toBuilder().setGraph(b).build();
  }

  private static boolean isDefaultIdentity(NodeProto n) {
    return n.getOpType().equals("Identity") && OnnxModels.isDefaultDomain(n.getDomain())
        && n.getInputCount() == 1 && n.getOutputCount() == 1 && !n.getOutput(0).isEmpty();
  }

  private static List<GraphProto> subgraphs(AttributeProto a) {
    List<GraphProto> out = new ArrayList<>(a.getGraphsList());
    if (a.hasG()) {
      out.add(a.getG());
    }
    return out;
  }

  /** Every name the nodes of {@code g} and its nested subgraphs read. */
  private static void subgraphInputs(GraphProto g, Set<String> into) {
    for (NodeProto n : g.getNodeList()) {
      into.addAll(n.getInputList());
      for (AttributeProto a : n.getAttributeList()) {
        subgraphs(a).forEach(sg -> subgraphInputs(sg, into));
      }
    }
    g.getOutputList().forEach(v -> into.add(v.getName()));
  }
}
