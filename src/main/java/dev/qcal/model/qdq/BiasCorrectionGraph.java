package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.GraphNames;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;
import dev.qcal.model.plan.QdqGraph;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The side-by-side graph bias correction measures on: the prepared FP32 model plus, for each Conv, Gemm and
 * MatMul whose weight the QDQ rewrite quantized, a clone of the node reading {@code DQ(Q(x))} (the activation
 * Q/DQ pair of the rewritten model, when it quantized {@code x}, fed the FP32 {@code x}) and the dequantized
 * weight (the rewritten model's own DequantizeLinear and its initializers, so int4 and blocked weights are the
 * integers the quantized model holds), with the FP32 bias. Each layer's {@code y} and the clone's {@code y'}
 * differ by the layer-local quantization error given FP32 inputs (Nagel et al., "Data-free quantization",
 * 2019; NNCF's fast bias correction measures the same).
 */
public final class BiasCorrectionGraph {
  private static final String PREFIX = "qcal_bc/";

  private BiasCorrectionGraph() {}

  /**
   * One measured layer: its node id, op type, FP32 output and the clone's output; its channels lie along axis
   * 1 (Conv, Gemm) or the last axis ({@code lastAxis}, MatMul), {@code channels} of them.
   */
  public record Layer(String node, String opType, String output, String quantizedOutput, boolean lastAxis,
      int channels) implements Serializable {
    public Layer {
      Objects.requireNonNull(node, "node");
      Objects.requireNonNull(output, "output");
      Objects.requireNonNull(quantizedOutput, "quantizedOutput");
    }
  }

  /** The graph (its outputs not yet exposed), the layers it measures and the weight nodes skipped with reasons. */
  public record Built(ModelProto model, List<Layer> layers, Map<String, String> skipped) {
    public Built {
      layers = List.copyOf(layers);
      skipped = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(skipped));
    }

    /** Every tensor the pass reads: each layer's output and its clone's, in layer order. */
    public List<String> outputs() {
      List<String> out = new ArrayList<>();
      for (Layer l : layers) {
        out.add(l.output());
        out.add(l.quantizedOutput());
      }
      return out;
    }
  }

  /**
   * Builds the side-by-side graph of {@code prepared}, planned by {@code plan} and rewritten into
   * {@code rewritten}. Weight nodes that are not Conv/Gemm/MatMul, whose weight is not the second input (a
   * 2-D {@code [K, N]} for MatMul), whose bias is not an {@code [N]} initializer, or whose weight the rewrite
   * left in float are skipped, each with its reason.
   */
  public static Built build(ModelProto prepared, CalibrationPlan plan, ModelProto rewritten) {
    GraphProto g = prepared.getGraph();
    QdqGraph fp32 = new QdqGraph(g);
    QdqGraph q = new QdqGraph(rewritten.getGraph());
    Map<String, TensorProto> qInits = new HashMap<>();
    rewritten.getGraph().getInitializerList().forEach(t -> qInits.put(t.getName(), t));
    Builder b = new Builder(g, qInits);
    Map<String, String> skipped = new LinkedHashMap<>();
    List<Layer> layers = new ArrayList<>();
    for (WeightRef ref : plan.weights()) {
      NodeProto n = fp32.node(ref.node());
      String why = n == null ? "not in the model" : unsupported(n, ref, fp32);
      NodeProto nq = why == null ? rewrittenNode(q, n) : null;
      if (why == null && nq == null) {
        why = "not found in the quantized model";
      }
      Layer layer = why == null ? b.clone(ref, n, nq, q, channels(n, fp32.initializer(ref.initializer()))) : null;
      if (why == null && layer == null) {
        why = "its weight is not quantized";
      }
      if (why != null) {
        skipped.put(ref.node(), why);
      } else {
        layers.add(layer);
      }
    }
    return new Built(prepared.toBuilder().setGraph(b.graph()).build(), layers, skipped);
  }

  /** Why bias correction does not measure node {@code n}, or null when it does. */
  static String unsupported(NodeProto n, WeightRef ref, QdqGraph g) {
    String op = n.getOpType();
    boolean defaultDomain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
    if (!defaultDomain || !Set.of("Conv", "Gemm", "MatMul").contains(op)) {
      return "op type " + op + " (bias correction takes Conv, Gemm and MatMul)";
    }
    TensorProto w = g.initializer(ref.initializer());
    if (n.getInputCount() < 2 || !n.getInput(1).equals(ref.initializer()) || n.getInput(0).equals(ref.initializer())
        || w == null) {
      return "its weight is not its second input";
    }
    if (!op.equals("Conv") && w.getDimsCount() != 2) {
      return "its weight has rank " + w.getDimsCount() + ", not 2";
    }
    if (op.equals("Gemm") && (attribute(n, "transA", 0) != 0 || floatAttribute(n, "beta", 1f) == 0f)) {
      return "Gemm with transA or beta 0";
    }
    String bias = n.getInputCount() > 2 ? n.getInput(2) : "";
    if (!bias.isEmpty()) {
      TensorProto bt = g.initializer(bias);
      int channels = channels(n, w);
      if (bt == null || bt.getDataType() != TensorProto.DataType.FLOAT_VALUE || bt.getDimsCount() != 1
          || bt.getDims(0) != channels) {
        return "its bias '" + bias + "' is not a float initializer of shape [" + channels + "]";
      }
    }
    return null;
  }

  /** Output channels of {@code n} with weight {@code w}. */
  static int channels(NodeProto n, TensorProto w) {
    if (n.getOpType().equals("Conv")) {
      return (int) w.getDims(0);
    }
    boolean transB = n.getOpType().equals("Gemm") && attribute(n, "transB", 0) != 0;
    return (int) w.getDims(transB ? 0 : 1);
  }

  /** The node of the rewritten graph that {@code n} became: the producer of its output, past an output Q/DQ. */
  private static NodeProto rewrittenNode(QdqGraph q, NodeProto n) {
    NodeProto p = q.producer(n.getOutput(0));
    if (p != null && p.getOpType().equals("DequantizeLinear") && !n.getOpType().equals("DequantizeLinear")) {
      NodeProto ql = q.producer(p.getInput(0));
      p = ql == null || !ql.getOpType().equals("QuantizeLinear") ? null : q.producer(ql.getInput(0));
    }
    return p != null && p.getOpType().equals(n.getOpType()) ? p : null;
  }

  static long attribute(NodeProto n, String name, long dflt) {
    for (AttributeProto a : n.getAttributeList()) {
      if (a.getName().equals(name)) {
        return a.getI();
      }
    }
    return dflt;
  }

  static float floatAttribute(NodeProto n, String name, float dflt) {
    for (AttributeProto a : n.getAttributeList()) {
      if (a.getName().equals(name)) {
        return a.getF();
      }
    }
    return dflt;
  }

  /** Appends clones, their Q/DQ nodes and copied initializers to the FP32 graph. */
  private static final class Builder {
    private final GraphProto.Builder graph;
    private final GraphNames names;
    private final Map<String, TensorProto> qInits;
    private final Map<String, String> copied = new HashMap<>();

    Builder(GraphProto g, Map<String, TensorProto> qInits) {
      this.graph = g.toBuilder();
      this.names = new GraphNames(g);
      this.qInits = qInits;
    }

    GraphProto graph() {
      return graph.build();
    }

    /**
     * Appends the clone of {@code n} ({@code nq} in the rewritten graph {@code q}); null when the rewrite left
     * its weight in float.
     */
    Layer clone(WeightRef ref, NodeProto n, NodeProto nq, QdqGraph q, int channels) {
      NodeProto wdq = q.producer(nq.getInput(1));
      if (wdq == null || !wdq.getOpType().equals("DequantizeLinear") || !initializers(wdq)) {
        return null;
      }
      String w = copyNode(wdq, wdq.getInput(0));
      String x = n.getInput(0);
      NodeProto adq = q.producer(nq.getInput(0));
      NodeProto aq = adq == null || !adq.getOpType().equals("DequantizeLinear") ? null : q.producer(adq.getInput(0));
      if (aq != null && aq.getOpType().equals("QuantizeLinear") && initializers(adq) && initializers(aq)) {
        String quantized = copyNode(aq, x);
        x = copyNode(adq, quantized);
      }
      String y = names.tensor(PREFIX + n.getOutput(0));
      NodeProto.Builder c = n.toBuilder().setName(names.tensor(PREFIX + ref.node())).setInput(0, x).setInput(1, w)
          .clearOutput().addOutput(y);
      graph.addNode(c.build());
      return new Layer(ref.node(), n.getOpType(), n.getOutput(0), y, n.getOpType().equals("MatMul"), channels);
    }

    /** Whether every input of {@code n} past the first is an initializer of the rewritten graph. */
    private boolean initializers(NodeProto n) {
      for (int i = 1; i < n.getInputCount(); i++) {
        if (!n.getInput(i).isEmpty() && !qInits.containsKey(n.getInput(i))) {
          return false;
        }
      }
      return true;
    }

    /** Appends a copy of {@code n} reading {@code first} and copies of its other inputs; its new output. */
    private String copyNode(NodeProto n, String first) {
      NodeProto.Builder c = n.toBuilder().setName(names.tensor(PREFIX + n.getOpType())).setInput(0, first);
      if (qInits.containsKey(first)) {
        c.setInput(0, copyInitializer(first));
      }
      for (int i = 1; i < n.getInputCount(); i++) {
        if (!n.getInput(i).isEmpty()) {
          c.setInput(i, copyInitializer(n.getInput(i)));
        }
      }
      String out = names.tensor(PREFIX + n.getOutput(0));
      graph.addNode(c.clearOutput().addOutput(out).build());
      return out;
    }

    private String copyInitializer(String name) {
      return copied.computeIfAbsent(name, k -> {
        String renamed = names.tensor(PREFIX + k);
        graph.addInitializer(qInits.get(k).toBuilder().setName(renamed).build());
        return renamed;
      });
    }
  }
}
