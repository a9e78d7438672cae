package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.GraphNames;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.plan.QdqGraph;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folds per-channel bias corrections into an FP32 model: {@code delta[c]} is added to the bias of Conv (input
 * B) and Gemm (input C, divided by {@code beta}), made as an {@code [N]} initializer when the node has none;
 * for MatMul to the constant {@code [N]} operand of the Add that alone reads its output (as PyTorch exports
 * Linear), else into a new Add after it. A bias another node also reads is copied first, so only the corrected
 * node sees the change. The model's function changes by exactly the corrections (rounded to float).
 */
public final class BiasFolder {
  private BiasFolder() {}

  /**
   * The corrected model, the names of the Add nodes inserted after MatMuls and the new names of those MatMuls'
   * outputs, each mapped to its old name (now the Add's output).
   */
  public record Folded(ModelProto model, List<String> insertedNodes, Map<String, String> renamed) {
    public Folded {
      insertedNodes = List.copyOf(insertedNodes);
      renamed = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(renamed));
    }
  }

  /**
   * Adds {@code deltas} (by node id, one value per output channel) to the biases of {@code model}, whose
   * external data locations are relative to {@code modelDir} (null when it has none).
   *
   * @throws IllegalArgumentException for a node id not in the model, or not a Conv, Gemm or MatMul
   */
  public static Folded fold(ModelProto model, Path modelDir, Map<String, double[]> deltas) {
    Folder f = new Folder(model.getGraph(), modelDir);
    for (Map.Entry<String, double[]> e : deltas.entrySet()) {
      f.fold(e.getKey(), e.getValue());
    }
    return new Folded(model.toBuilder().setGraph(f.build()).build(), f.inserted, f.renamed);
  }

  /** The graph being corrected: its nodes in order, the Add nodes to insert after them and its initializers. */
  private static final class Folder {
    private final GraphProto g;
    private final QdqGraph graph;
    private final Path modelDir;
    private final GraphNames names;
    private final List<NodeProto> nodes;
    private final Map<Integer, NodeProto> after = new HashMap<>();
    private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
    private final List<String> inserted = new ArrayList<>();
    private final Map<String, String> renamed = new LinkedHashMap<>();

    Folder(GraphProto g, Path modelDir) {
      this.g = g;
      this.graph = new QdqGraph(g);
      this.modelDir = modelDir;
      this.names = new GraphNames(g);
      this.nodes = new ArrayList<>(g.getNodeList());
      g.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    }

    void fold(String id, double[] delta) {
      NodeProto n = graph.node(id);
      int index = n == null ? -1 : indexOf(n);
      if (index < 0) {
        throw new IllegalArgumentException("bias correction names node '" + id + "', which the model does not have");
      }
      switch (n.getOpType()) {
        case "Conv" -> foldInput(index, n, 2, delta, 1);
        case "Gemm" -> foldInput(index, n, 2, delta, BiasCorrectionGraph.floatAttribute(n, "beta", 1f));
        case "MatMul" -> foldMatMul(index, n, delta);
        default -> throw new IllegalArgumentException("bias correction of " + n.getOpType() + " node '" + id + "'");
      }
    }

    private int indexOf(NodeProto n) {
      for (int i = 0; i < nodes.size(); i++) {
        if (g.getNode(i) == n) {
          return i;
        }
      }
      return -1;
    }

    /** Adds {@code delta / divisor} to input {@code k} of node {@code index}, made when absent. */
    private void foldInput(int index, NodeProto n, int k, double[] delta, double divisor) {
      String b = n.getInputCount() > k ? n.getInput(k) : "";
      double[] d = new double[delta.length];
      for (int c = 0; c < d.length; c++) {
        d[c] = delta[c] / divisor;
      }
      String name = add(b.isEmpty() ? null : b, n.getOutput(0) + "_bias", d);
      NodeProto.Builder nb = nodes.get(index).toBuilder();
      while (nb.getInputCount() <= k) {
        nb.addInput("");
      }
      nodes.set(index, nb.setInput(k, name).build());
    }

    /** Into the constant [N] operand of the Add alone reading the MatMul's output, else a new Add after it. */
    private void foldMatMul(int index, NodeProto n, double[] delta) {
      String y = n.getOutput(0);
      List<NodeProto> readers = graph.consumers(y);
      NodeProto add = readers.size() == 1 && !graph.isGraphOutput(y) ? readers.get(0) : null;
      if (add != null && add.getOpType().equals("Add") && add.getDomain().isEmpty() && add.getInputCount() == 2) {
        String other = add.getInput(0).equals(y) ? add.getInput(1) : add.getInput(0);
        TensorProto t = initializers.get(other);
        if (!other.equals(y) && t != null && t.getDataType() == TensorProto.DataType.FLOAT_VALUE
            && t.getDimsCount() == 1 && t.getDims(0) == delta.length) {
          foldInput(indexOf(add), add, add.getInput(0).equals(y) ? 1 : 0, delta, 1);
          return;
        }
      }
      String raw = names.tensor(y + "_before_bias_correction");
      nodes.set(index, n.toBuilder().setOutput(0, raw).build());
      String bias = add(null, y + "_bias_correction", delta);
      String name = names.tensor("BiasCorrection/" + y);
      after.put(index, NodeProto.newBuilder().setOpType("Add").setName(name).addInput(raw).addInput(bias)
          .addOutput(y).build());
      inserted.add(name);
      renamed.put(raw, y);
    }

    /**
     * {@code existing + delta} as an initializer: in place when only one node reads {@code existing}, else a new
     * one named after {@code base} (zeros plus {@code delta} when {@code existing} is null); its name.
     */
    private String add(String existing, String base, double[] delta) {
      float[] v = new float[delta.length];
      if (existing != null) {
        float[] old = Initializers.floats(initializers.get(existing), modelDir);
        for (int c = 0; c < v.length; c++) {
          v[c] = (float) (old[c] + delta[c]);
        }
      } else {
        for (int c = 0; c < v.length; c++) {
          v[c] = (float) delta[c];
        }
      }
      boolean inPlace = existing != null && graph.consumers(existing).size() == 1 && !graph.isGraphOutput(existing);
      String name = inPlace ? existing : names.tensor(existing != null ? existing + "_corrected" : base);
      initializers.put(name, QdqTensors.floatTensor(name, new long[] {v.length}, v));
      return name;
    }

    GraphProto build() {
      GraphProto.Builder b = g.toBuilder().clearNode().clearInitializer();
      for (int i = 0; i < nodes.size(); i++) {
        b.addNode(nodes.get(i));
        if (after.containsKey(i)) {
          b.addNode(after.get(i));
        }
      }
      return b.addAllInitializer(initializers.values()).build();
    }
  }
}
