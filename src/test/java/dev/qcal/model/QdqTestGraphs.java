package dev.qcal.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.qcal.model.plan.CalibrationPlan;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Builds small ONNX graphs in code for the Q/DQ tests, and runs them in ONNX Runtime. */
public final class QdqTestGraphs {

  private QdqTestGraphs() {}

  public static NodeProto node(String op, String name, List<String> inputs, List<String> outputs,
      AttributeProto... attrs) {
    return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addAllOutput(outputs)
        .addAllAttribute(List.of(attrs)).build();
  }

  public static AttributeProto intAttr(String name, long v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
  }

  public static AttributeProto intsAttr(String name, long... v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long x : v) {
      a.addInts(x);
    }
    return a.build();
  }

  public static ValueInfoProto value(String name, int elemType, long... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long d : dims) {
      shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
  }

  /** A float tensor whose shape is left to ONNX Runtime, as for extra calibration outputs. */
  public static ValueInfoProto floatValueOfAnyShape(String name) {
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))).build();
  }

  public static ValueInfoProto floatValue(String name, long... dims) {
    return value(name, TensorProto.DataType.FLOAT_VALUE, dims);
  }

  /** A float initializer of the given shape with values uniform in [-1, 1) from {@code seed}. */
  public static TensorProto randomFloats(String name, long seed, long... dims) {
    int n = 1;
    for (long d : dims) {
      n *= (int) d;
    }
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = r.nextFloat() * 2f - 1f;
    }
    return TestGraphs.floatTensor(name, dims, v);
  }

  public static ModelProto model(int opset, List<NodeProto> nodes, List<ValueInfoProto> inputs,
      List<ValueInfoProto> outputs, List<TensorProto> initializers) {
    GraphProto g = GraphProto.newBuilder().setName("test").addAllNode(nodes).addAllInput(inputs)
        .addAllOutput(outputs).addAllInitializer(initializers).build();
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("qcal-test").setGraph(g)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).build();
  }

  /**
   * x[1,3,8,8] -> Conv(w1[8,3,3,3], b1[8], pad 1) -> c1 -> Relu -> r1 -> Conv(w2[4,8,1,1], b2[4]) -> y.
   */
  public static ModelProto convRelu(int opset) {
    return model(opset,
        List.of(
            node("Conv", "conv1", List.of("x", "w1", "b1"), List.of("c1"), intsAttr("pads", 1, 1, 1, 1)),
            node("Relu", "relu1", List.of("c1"), List.of("r1")),
            node("Conv", "conv2", List.of("r1", "w2", "b2"), List.of("y"))),
        List.of(floatValue("x", 1, 3, 8, 8)),
        List.of(floatValue("y", 1, 4, 8, 8)),
        List.of(randomFloats("w1", 1, 8, 3, 3, 3), randomFloats("b1", 2, 8),
            randomFloats("w2", 3, 4, 8, 1, 1), randomFloats("b2", 4, 4)));
  }

  public static NodeProto find(ModelProto m, String op, String input) {
    return m.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals(op) && n.getInputList().contains(input))
        .findFirst().orElseThrow(() -> new AssertionError("no " + op + " reading " + input));
  }

  /**
   * The one QuantizeLinear reading activation {@code t}; for a quantized graph output, which its
   * DequantizeLinear writes, the one that DequantizeLinear reads.
   */
  public static NodeProto quantizer(ModelProto m, String t) {
    List<NodeProto> p = producers(m, t);
    if (p.size() == 1 && p.get(0).getOpType().equals("DequantizeLinear")
        && m.getGraph().getOutputList().stream().anyMatch(v -> v.getName().equals(t))) {
      return producers(m, p.get(0).getInput(0)).get(0);
    }
    List<NodeProto> qs = consumers(m, t).stream().filter(n -> n.getOpType().equals("QuantizeLinear")).toList();
    if (qs.size() != 1) {
      throw new AssertionError(qs.size() + " QuantizeLinear nodes read " + t);
    }
    return qs.get(0);
  }

  /** The output of the DequantizeLinear paired with the QuantizeLinear of activation {@code t}. */
  public static String dequantized(ModelProto m, String t) {
    return find(m, "DequantizeLinear", quantizer(m, t).getOutput(0)).getOutput(0);
  }

  /** The DequantizeLinear feeding input {@code index} of the node named {@code node}. */
  public static NodeProto dqFeeding(ModelProto m, String node, int index) {
    NodeProto n = m.getGraph().getNodeList().stream().filter(x -> x.getName().equals(node)).findFirst()
        .orElseThrow(() -> new AssertionError("no node " + node));
    List<NodeProto> p = producers(m, n.getInput(index));
    if (p.size() != 1 || !p.get(0).getOpType().equals("DequantizeLinear")) {
      throw new AssertionError(node + " input " + index + " does not come from a DequantizeLinear");
    }
    return p.get(0);
  }

  /**
   * The node computing {@code t}: its producer, or for a quantized graph output (written by a
   * DequantizeLinear) the producer of the QuantizeLinear's input.
   */
  public static NodeProto computing(ModelProto m, String t) {
    NodeProto p = producers(m, t).get(0);
    if (p.getOpType().equals("DequantizeLinear") && m.getGraph().getOutputList().stream().anyMatch(v -> v.getName().equals(t))) {
      return producers(m, quantizer(m, t).getInput(0)).get(0);
    }
    return p;
  }

  public static List<NodeProto> producers(ModelProto m, String tensor) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOutputList().contains(tensor)).toList();
  }

  public static List<NodeProto> consumers(ModelProto m, String tensor) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getInputList().contains(tensor)).toList();
  }

  public static TensorProto initializer(ModelProto m, String name) {
    return m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no initializer " + name));
  }

  public static float[] uniform(long seed, int n, float lo, float hi) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = lo + (hi - lo) * r.nextFloat();
    }
    return v;
  }

  /** Runs a single-input model and returns the requested float outputs, flattened. */
  public static List<float[]> run(byte[] model, OrtSession.SessionOptions.OptLevel level, String input, float[] data,
      long[] shape, List<String> outputs) throws OrtException {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(level);
      try (OrtSession s = env.createSession(model, opts);
          OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
          OrtSession.Result r = s.run(Map.of(input, x), new java.util.LinkedHashSet<>(outputs))) {
        List<float[]> out = new ArrayList<>();
        for (String name : outputs) {
          FloatBuffer fb = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
          float[] v = new float[fb.remaining()];
          fb.get(v);
          out.add(v);
        }
        return out;
      }
    }
  }

  /** Observed [min, max] of every planned activation over one FP32 run, input "x". */
  public static Map<String, float[]> activationRanges(ModelProto m, CalibrationPlan plan, float[] x, long[] shape)
      throws Exception {
    if (plan.activations().isEmpty()) {
      return new LinkedHashMap<>();
    }
    ModelProto.Builder aug = m.toBuilder();
    for (String t : plan.activations()) {
      if (m.getGraph().getOutputList().stream().noneMatch(v -> v.getName().equals(t))) {
        aug.getGraphBuilder().addOutput(floatValueOfAnyShape(t));
      }
    }
    List<float[]> values = run(aug.build().toByteArray(), OrtSession.SessionOptions.OptLevel.NO_OPT, "x", x, shape,
        plan.activations());
    Map<String, float[]> out = new LinkedHashMap<>();
    for (int i = 0; i < values.size(); i++) {
      float mn = Float.POSITIVE_INFINITY;
      float mx = Float.NEGATIVE_INFINITY;
      for (float v : values.get(i)) {
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
      }
      out.put(plan.activations().get(i), new float[] {mn, mx});
    }
    return out;
  }

  /**
   * A transformer-style block at opset 17, input and output {@code x}/{@code y} of shape [16, 4, width]:
   * attention (MatMul, Transpose, Softmax, residual Add) -> LayerNormalization (then, if
   * {@code centered}, ReduceMean and Sub) -> MLP with Erf-GELU.
   */
  public static ModelProto transformerBlock(int width, boolean centered) {
    float invSqrt2 = (float) (1 / Math.sqrt(2));
    List<NodeProto> nodes = new ArrayList<>(List.of(node("MatMul", "q", List.of("x", "wq"), List.of("q")),
        node("MatMul", "k", List.of("x", "wk"), List.of("k")),
        node("MatMul", "v", List.of("x", "wv"), List.of("v")),
        node("Transpose", "kt", List.of("k"), List.of("kt"), intsAttr("perm", 0, 2, 1)),
        node("MatMul", "scores", List.of("q", "kt"), List.of("s")),
        node("Softmax", "attn", List.of("s"), List.of("p"), intAttr("axis", -1)),
        node("MatMul", "ctx", List.of("p", "v"), List.of("a")),
        node("Add", "residual", List.of("a", "x"), List.of("r")),
        node("LayerNormalization", "ln", List.of("r", "gamma", "beta"), List.of("n"), intAttr("axis", -1))));
    if (centered) {
      nodes.add(node("ReduceMean", "mean", List.of("n"), List.of("mu"), intsAttr("axes", -1)));
      nodes.add(node("Sub", "center", List.of("n", "mu"), List.of("nc")));
    }
    nodes.addAll(List.of(node("MatMul", "fc1", List.of(centered ? "nc" : "n", "w1"), List.of("f")),
        node("Mul", "scale", List.of("f", "inv_sqrt2"), List.of("fs")),
        node("Erf", "erf", List.of("fs"), List.of("e")),
        node("Add", "one_plus", List.of("e", "one"), List.of("e1")),
        node("Mul", "gate", List.of("f", "e1"), List.of("g2")),
        node("Mul", "half", List.of("g2", "half"), List.of("g")),
        node("MatMul", "fc2", List.of("g", "w2"), List.of("y"))));
    float[] ones = new float[width];
    java.util.Arrays.fill(ones, 1f);
    return model(17, nodes, List.of(floatValue("x", 16, 4, width)), List.of(floatValue("y", 16, 4, width)),
        List.of(randomFloats("wq", 1, width, width), randomFloats("wk", 2, width, width),
            randomFloats("wv", 3, width, width),
            TestGraphs.floatTensor("gamma", new long[] {width}, ones),
            TestGraphs.floatTensor("beta", new long[] {width}, new float[width]),
            randomFloats("w1", 4, width, 2 * width), randomFloats("w2", 5, 2 * width, width),
            TestGraphs.floatTensor("inv_sqrt2", new long[0], new float[] {invSqrt2}),
            TestGraphs.floatTensor("one", new long[0], new float[] {1f}),
            TestGraphs.floatTensor("half", new long[0], new float[] {0.5f})));
  }
}
