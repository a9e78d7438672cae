package dev.qcal.model.smooth;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.GraphNames;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.NodeAttributes;
import dev.qcal.model.onnx.OnnxModels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SmoothQuant (Xiao et al. 2023) on a prepared model. For each activation feeding MatMul or Gemm nodes whose
 * weight (input B) is a FLOAT initializer, one scale per input channel j (the activation's last axis):
 * {@code s_j = max|x_j|^a / max|W_j|^(1-a)}, where {@code max|W_j|} is taken over the weights of all the
 * activation's smoothed consumers, and {@code s_j = 1} when either maximum is 0. The weights' input-channel
 * rows are multiplied by {@code s}; the activation is divided by {@code s} either by folding {@code 1/s} into
 * the LayerNormalization that produces it (its gamma and beta, when the smoothed nodes are its only
 * consumers) or by a Mul inserted before the smoothed consumers. The FP32 function is unchanged.
 *
 * <p>Activations are skipped, with the reason, when a consumer's weight is not a 2-D FLOAT initializer,
 * Gemm transposes A, the consumers' input channels do not line up with each other or with max|x|, or a
 * weight is shared with a node not smoothed with the same activation, or a weight keeps its data in an
 * external file.
 */
public final class SmoothQuant {

  /** One activation smoothed: its consumers, the scales used, and whether they were folded into a LayerNorm. */
  public record Smoothed(String activation, List<String> nodes, float[] scales, boolean foldedIntoLayerNorm) {}

  /** Nodes left as they were, and why. */
  public record Skipped(String activation, List<String> nodes, String reason) {}

  /** The smoothed model and what was done to each activation. */
  public record Result(ModelProto model, List<Smoothed> smoothed, List<Skipped> skipped) {}

  private final GraphProto graph;
  private final double alpha;
  private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
  private final Set<String> graphInputs = new HashSet<>();
  private final Set<String> graphOutputs = new HashSet<>();
  private final List<NodeProto> nodes;
  private final List<Smoothed> smoothed = new ArrayList<>();
  private final List<Skipped> skipped = new ArrayList<>();
  private final GraphNames names;
  private final Set<String> nodeNames = new HashSet<>();
  private final List<ValueInfoProto> addedValueInfo = new ArrayList<>();

  private SmoothQuant(GraphProto graph, double alpha) {
    this.graph = graph;
    this.alpha = alpha;
    graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    graph.getInputList().forEach(v -> graphInputs.add(v.getName()));
    graph.getOutputList().forEach(v -> graphOutputs.add(v.getName()));
    this.nodes = new ArrayList<>(graph.getNodeList());
    nodes.forEach(n -> nodeNames.add(n.getName()));
    this.names = new GraphNames(graph);
  }

  /**
   * Smooths the MatMul and Gemm nodes named in {@code maxAbsInput}.
   *
   * @param maxAbsInput per node name, max|x| of its input A per channel of A's last axis (for Gemm, its
   *     input channels whatever transB says)
   * @param alpha the migration strength a, in [0, 1]
   * @throws IllegalArgumentException when alpha is outside [0, 1], a name is not a MatMul or Gemm node of
   *     the graph, or a max|x| is negative or not finite
   */
  public static Result smooth(ModelProto model, Map<String, float[]> maxAbsInput, double alpha) {
    if (!(alpha >= 0 && alpha <= 1)) {
      throw new IllegalArgumentException("SmoothQuant alpha must be in [0, 1], got " + alpha);
    }
    SmoothQuant s = new SmoothQuant(model.getGraph(), alpha);
    s.run(maxAbsInput);
    GraphProto g = model.getGraph().toBuilder().clearNode().addAllNode(s.nodes).clearInitializer()
        .addAllInitializer(s.initializers.values()).addAllValueInfo(s.addedValueInfo).build();
    return new Result(model.toBuilder().setGraph(g).build(), List.copyOf(s.smoothed), List.copyOf(s.skipped));
  }

  private void run(Map<String, float[]> maxAbsInput) {
    Map<String, NodeProto> byName = new HashMap<>();
    nodes.forEach(n -> byName.put(n.getName(), n));
    for (Map.Entry<String, float[]> e : maxAbsInput.entrySet()) {
      NodeProto n = byName.get(e.getKey());
      if (n == null || !isMatMulOrGemm(n)) {
        throw new IllegalArgumentException("max|x| given for '" + e.getKey() + "', which is not a MatMul or Gemm node");
      }
      requireFinite(e.getKey(), e.getValue());
    }
    Map<String, List<NodeProto>> groups = new LinkedHashMap<>();
    for (NodeProto n : nodes) {
      if (!maxAbsInput.containsKey(n.getName())) {
        continue;
      }
      String why = unsupported(n);
      if (why != null) {
        skipped.add(new Skipped(n.getInput(0), List.of(n.getName()), why));
      } else {
        groups.computeIfAbsent(n.getInput(0), k -> new ArrayList<>()).add(n);
      }
    }
    groups.forEach((activation, members) -> smoothGroup(activation, members, maxAbsInput));
  }

  private static boolean isMatMulOrGemm(NodeProto n) {
    return OnnxModels.isDefaultDomain(n.getDomain()) && (n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm"));
  }

  private static void requireFinite(String node, float[] x) {
    for (int j = 0; j < x.length; j++) {
      if (!(x[j] >= 0 && Float.isFinite(x[j]))) {
        throw new IllegalArgumentException("max|x| of node '" + node + "' channel " + j + " is " + x[j]
            + ", expected a finite value >= 0");
      }
    }
  }

  /** Why node {@code n} cannot be smoothed on its own, or null. */
  private String unsupported(NodeProto n) {
    if (n.getOpType().equals("Gemm") && NodeAttributes.intOr(n, "transA", 0) != 0) {
      return "Gemm with transA=1";
    }
    TensorProto w = n.getInputCount() > 1 ? initializers.get(n.getInput(1)) : null;
    if (w == null || graphInputs.contains(w.getName())) {
      return "input B is not a constant initializer";
    }
    if (w.getDataType() != TensorProto.DataType.FLOAT_VALUE || w.getDimsCount() != 2) {
      return "weight '" + w.getName() + "' is not a 2-D FLOAT tensor";
    }
    if (ExternalData.isExternal(w)) {
      return "weight '" + w.getName() + "' keeps its data in an external file";
    }
    return null;
  }

  /** The number of input channels of {@code n}'s weight: rows, or columns for Gemm with transB. */
  private long inputChannels(NodeProto n) {
    TensorProto w = initializers.get(n.getInput(1));
    return transB(n) ? w.getDims(1) : w.getDims(0);
  }

  private static boolean transB(NodeProto n) {
    return n.getOpType().equals("Gemm") && NodeAttributes.intOr(n, "transB", 0) != 0;
  }

  private void smoothGroup(String activation, List<NodeProto> members, Map<String, float[]> maxAbsInput) {
    List<String> memberNames = members.stream().map(NodeProto::getName).toList();
    String why = groupProblem(members, maxAbsInput);
    if (why != null) {
      skipped.add(new Skipped(activation, memberNames, why));
      return;
    }
    int k = maxAbsInput.get(memberNames.get(0)).length;
    float[] maxX = new float[k];
    for (String m : memberNames) {
      float[] x = maxAbsInput.get(m);
      for (int j = 0; j < k; j++) {
        maxX[j] = Math.max(maxX[j], x[j]);
      }
    }
    Map<String, NodeProto> weights = new LinkedHashMap<>();
    members.forEach(n -> weights.putIfAbsent(n.getInput(1), n));
    float[] maxW = new float[k];
    weights.forEach((w, n) -> maxAbsPerInputChannel(n, maxW));
    float[] s = scales(maxX, maxW, alpha);
    weights.forEach((w, n) -> initializers.put(w, scaledWeight(n, s)));
    boolean folded = foldIntoLayerNorm(activation, members, s);
    if (!folded) {
      insertMul(activation, members, s);
    }
    smoothed.add(new Smoothed(activation, memberNames, s, folded));
  }

  /** Why the consumers {@code members} of one activation cannot share one set of scales, or null. */
  private String groupProblem(List<NodeProto> members, Map<String, float[]> maxAbsInput) {
    Set<String> memberNames = new HashSet<>();
    members.forEach(n -> memberNames.add(n.getName()));
    Set<String> channels = new LinkedHashSet<>();
    for (NodeProto n : members) {
      channels.add(n.getName() + " has " + inputChannels(n) + " (max|x| " + maxAbsInput.get(n.getName()).length + ")");
    }
    long k = maxAbsInput.get(members.get(0).getName()).length;
    for (NodeProto n : members) {
      if (inputChannels(n) != k || maxAbsInput.get(n.getName()).length != k) {
        return "input channels do not line up: " + String.join(", ", channels);
      }
    }
    for (NodeProto n : members) {
      String w = n.getInput(1);
      for (NodeProto other : nodes) {
        for (int i = 0; i < other.getInputCount(); i++) {
          if (other.getInput(i).equals(w) && (i != 1 || !memberNames.contains(other.getName()))) {
            return "weight '" + w + "' is also used by node '" + other.getName() + "', which is not smoothed with it";
          }
        }
      }
      if (graphOutputs.contains(w)) {
        return "weight '" + w + "' is a graph output";
      }
    }
    return null;
  }

  /**
   * The SmoothQuant scales {@code s_j = maxX_j^alpha / maxW_j^(1-alpha)}, 1 where either maximum is 0 or the
   * scale would not be a positive finite float.
   */
  static float[] scales(float[] maxX, float[] maxW, double alpha) {
    float[] s = new float[maxX.length];
    for (int j = 0; j < s.length; j++) {
      double v = Math.pow(maxX[j], alpha) / Math.pow(maxW[j], 1 - alpha);
      boolean usable = maxX[j] > 0 && maxW[j] > 0 && v > 0 && Float.isFinite((float) v) && (float) v > 0;
      s[j] = usable ? (float) v : 1f;
    }
    return s;
  }

  /** Raises {@code maxW[j]} to max|W_j| over input channel j of node {@code n}'s weight. */
  private void maxAbsPerInputChannel(NodeProto n, float[] maxW) {
    TensorProto w = initializers.get(n.getInput(1));
    float[] v = Initializers.floats(w);
    int[] channel = channelOfElement(n, w);
    for (int idx = 0; idx < v.length; idx++) {
      maxW[channel[idx]] = Math.max(maxW[channel[idx]], Math.abs(v[idx]));
    }
  }

  /**
   * The input channel of each element of node {@code n}'s 2-D weight {@code w}: its row, or its column with
   * transB.
   */
  private static int[] channelOfElement(NodeProto n, TensorProto w) {
    int rows = (int) w.getDims(0);
    int cols = (int) w.getDims(1);
    boolean t = transB(n);
    int[] channel = new int[rows * cols];
    for (int idx = 0; idx < channel.length; idx++) {
      channel[idx] = t ? idx % cols : idx / cols;
    }
    return channel;
  }

  /** Node {@code n}'s weight with input channel j multiplied by {@code s[j]}, as raw little-endian data. */
  private TensorProto scaledWeight(NodeProto n, float[] s) {
    TensorProto w = initializers.get(n.getInput(1));
    float[] v = Initializers.floats(w);
    int[] channel = channelOfElement(n, w);
    for (int idx = 0; idx < v.length; idx++) {
      v[idx] *= s[channel[idx]];
    }
    return withValues(w, v);
  }

  private static TensorProto withValues(TensorProto t, float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return t.toBuilder().clearFloatData().setRawData(ByteString.copyFrom(b.array())).build();
  }

  /**
   * Divides a LayerNormalization's gamma and beta by {@code s} when it produces {@code activation}, the
   * smoothed nodes are the activation's only consumers, and gamma and beta are 1-D initializers of its own held
   * in the model (not in an external file).
   */
  private boolean foldIntoLayerNorm(String activation, List<NodeProto> members, float[] s) {
    NodeProto producer = null;
    for (NodeProto n : nodes) {
      if (!n.getOutputList().isEmpty() && n.getOutput(0).equals(activation)) {
        producer = n;
      }
    }
    if (producer == null || !producer.getOpType().equals("LayerNormalization")
        || !OnnxModels.isDefaultDomain(producer.getDomain()) || graphOutputs.contains(activation) || hasSubgraphs()) {
      return false;
    }
    long consumers = nodes.stream().filter(n -> n.getInputList().contains(activation)).count();
    if (consumers != members.size()) {
      return false;
    }
    List<String> params = new ArrayList<>(producer.getInputList().subList(1, producer.getInputCount()));
    params.removeIf(String::isEmpty);
    for (String p : params) {
      TensorProto t = initializers.get(p);
      if (t == null || graphInputs.contains(p) || graphOutputs.contains(p) || t.getDimsCount() != 1
          || t.getDims(0) != s.length || t.getDataType() != TensorProto.DataType.FLOAT_VALUE || uses(p) != 1
          || ExternalData.isExternal(t)) {
        return false;
      }
    }
    for (String p : params) {
      float[] v = Initializers.floats(initializers.get(p));
      for (int j = 0; j < v.length; j++) {
        v[j] /= s[j];
      }
      initializers.put(p, withValues(initializers.get(p), v));
    }
    return true;
  }

  private boolean hasSubgraphs() {
    return nodes.stream().flatMap(n -> n.getAttributeList().stream())
        .anyMatch(a -> a.getType() == AttributeProto.AttributeType.GRAPH
            || a.getType() == AttributeProto.AttributeType.GRAPHS);
  }

  private long uses(String tensor) {
    return nodes.stream().flatMap(n -> n.getInputList().stream()).filter(tensor::equals).count();
  }

  /** Inserts {@code activation * (1/s)} before the first smoothed consumer and rewires the consumers to it. */
  private void insertMul(String activation, List<NodeProto> members, float[] s) {
    float[] inverse = new float[s.length];
    for (int j = 0; j < s.length; j++) {
      inverse[j] = 1f / s[j];
    }
    String scale = names.tensor(activation + "_smooth_scale");
    String out = names.tensor(activation + "_smoothed");
    initializers.put(scale, withValues(TensorProto.newBuilder().setName(scale)
        .setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(s.length).build(), inverse));
    NodeProto mul = NodeProto.newBuilder().setOpType("Mul").setName(GraphNames.unique(out, nodeNames))
        .addInput(activation).addInput(scale).addOutput(out).build();
    Set<String> memberNames = new HashSet<>();
    members.forEach(n -> memberNames.add(n.getName()));
    int first = -1;
    for (int i = 0; i < nodes.size(); i++) {
      NodeProto n = nodes.get(i);
      if (memberNames.contains(n.getName())) {
        first = first < 0 ? i : first;
        nodes.set(i, n.toBuilder().setInput(0, out).build());
      }
    }
    nodes.add(first, mul);
    graph.getValueInfoList().stream().filter(v -> v.getName().equals(activation)).findFirst()
        .ifPresent(v -> addedValueInfo.add(v.toBuilder().setName(out).build()));
  }
}
