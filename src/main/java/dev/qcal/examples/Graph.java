package dev.qcal.examples;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Builds an ONNX graph in code: nodes get fresh output names, weights are seeded random, constants are
 * initializers (as an exporter's constant folding leaves them). The static factories ({@link #node},
 * {@link #i}, {@link #ints}, {@link #floatTensor}, ...) are also the test suite's graph vocabulary.
 */
public final class Graph {
  private final int opset;
  private final SplittableRandom random;
  private final List<NodeProto> nodes = new ArrayList<>();
  private final List<TensorProto> initializers = new ArrayList<>();
  private final List<ValueInfoProto> inputs = new ArrayList<>();
  private final List<ValueInfoProto> outputs = new ArrayList<>();
  private int next;

  /** An empty graph of the default domain at {@code opset}, weights drawn from {@code seed}. */
  public Graph(int opset, long seed) {
    this.opset = opset;
    this.random = new SplittableRandom(seed);
  }

  public int opset() {
    return opset;
  }

  /** Declares a graph input of element type {@code elemType}; a dim is a number or a symbolic name. */
  public String input(String name, int elemType, Object... dims) {
    inputs.add(value(name, elemType, dims));
    return name;
  }

  /** Declares tensor {@code tensor} a graph output named {@code name} (an Identity when they differ). */
  public void output(String tensor, String name, int elemType, Object... dims) {
    if (!tensor.equals(name)) {
      nodes.add(node("Identity", name, List.of(tensor), List.of(name)));
    }
    outputs.add(value(name, elemType, dims));
  }

  /** Declares tensor {@code tensor} a graph output of element type {@code elemType} and unstated shape. */
  public void outputAnyShape(String tensor, int elemType) {
    outputs.add(ValueInfoProto.newBuilder().setName(tensor).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(elemType))).build());
  }

  /** Adds a node of {@code op} with several outputs named {@code prefix_counter_k}; returns their names. */
  public List<String> ops(String op, String prefix, int outputCount, List<String> in, AttributeProto... attrs) {
    String name = prefix + "_" + next++;
    List<String> outs = new ArrayList<>();
    for (int k = 0; k < outputCount; k++) {
      outs.add(name + "_" + k);
    }
    nodes.add(node(op, name, in, outs, attrs));
    return outs;
  }

  /** Adds node {@code op} named {@code prefix + counter}, whose single output has the node's name. */
  public String op(String op, String prefix, List<String> in, AttributeProto... attrs) {
    String name = prefix + "_" + next++;
    nodes.add(node(op, name, in, List.of(name), attrs));
    return name;
  }

  /** A float weight of shape {@code dims}, normal with standard deviation {@code std}. */
  public String weight(String name, double std, long... dims) {
    float[] v = new float[size(dims)];
    for (int k = 0; k < v.length; k++) {
      v[k] = (float) (gaussian() * std);
    }
    initializers.add(floatTensor(name, dims, v));
    return name;
  }

  /** A float initializer holding {@code values}. */
  public String constant(String name, long[] dims, float... values) {
    initializers.add(floatTensor(name, dims, values));
    return name;
  }

  /** An int64 initializer holding {@code values}; {@code dims} empty for a scalar. */
  public String int64(String name, long[] dims, long... values) {
    initializers.add(int64Tensor(name, dims, values));
    return name;
  }

  /** A 1-D int64 initializer. */
  public String int64s(String name, long... values) {
    return int64(name, new long[] {values.length}, values);
  }

  /** A bool initializer holding {@code values}. */
  public String bools(String name, long[] dims, boolean... values) {
    byte[] b = new byte[values.length];
    for (int k = 0; k < b.length; k++) {
      b[k] = (byte) (values[k] ? 1 : 0);
    }
    initializers.add(raw(name, TensorProto.DataType.BOOL_VALUE, dims, b));
    return name;
  }

  /** A standard normal draw from the graph's seeded generator (Box-Muller; deterministic on every JVM). */
  public double gaussian() {
    double u = 1.0 - random.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
  }

  /** {@code Unsqueeze(x, axes)}: the axes an attribute before opset 13, an input from it. */
  public String unsqueeze(String x, long... axes) {
    if (opset < 13) {
      return op("Unsqueeze", "unsqueeze", List.of(x), ints("axes", axes));
    }
    return op("Unsqueeze", "unsqueeze", List.of(x, int64s("unsqueeze_axes_" + next, axes)));
  }

  /** {@code Slice(x, starts, ends, axes)} on tensors; opset 10 and later (inputs, not attributes). */
  public String slice(String x, String starts, String ends, String axes) {
    return op("Slice", "slice", List.of(x, starts, ends, axes));
  }

  /** {@code Clip(x, lo, hi)}: bounds as attributes before opset 11, as inputs from it. */
  public String clip(String x, float lo, float hi) {
    if (opset < 11) {
      return op("Clip", "clip", List.of(x), f("min", lo), f("max", hi));
    }
    int k = next;
    return op("Clip", "clip", List.of(x, constant("clip_min_" + k, new long[0], lo),
        constant("clip_max_" + k, new long[0], hi)));
  }

  /** {@code ReduceMean(x, axes)}: axes an attribute before opset 18, an input from it. */
  public String reduceMean(String x, boolean keepDims, long... axes) {
    if (opset < 18) {
      return op("ReduceMean", "reduce_mean", List.of(x), ints("axes", axes), i("keepdims", keepDims ? 1 : 0));
    }
    return op("ReduceMean", "reduce_mean", List.of(x, int64s("reduce_axes_" + next, axes)),
        i("keepdims", keepDims ? 1 : 0));
  }

  /** {@code x @ w + b} over the last axis, as PyTorch's nn.Linear exports: MatMul then Add. */
  public String linear(String prefix, String x, int in, int out) {
    String w = weight(prefix + ".weight", Math.sqrt(1.0 / in), in, out);
    String b = weight(prefix + ".bias", 0.02, out);
    return op("Add", prefix + ".add", List.of(op("MatMul", prefix + ".matmul", List.of(x, w)), b));
  }

  /**
   * LayerNorm over the last axis (gamma near 1, beta near 0): the LayerNormalization operator from opset 17,
   * before it the ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add that PyTorch exports.
   */
  public String layerNorm(String prefix, String x, int width) {
    float[] gamma = new float[width];
    float[] beta = new float[width];
    for (int k = 0; k < width; k++) {
      gamma[k] = (float) (1 + 0.1 * gaussian());
      beta[k] = (float) (0.05 * gaussian());
    }
    String g = constant(prefix + ".weight", new long[] {width}, gamma);
    String b = constant(prefix + ".bias", new long[] {width}, beta);
    if (opset >= 17) {
      return op("LayerNormalization", prefix, List.of(x, g, b), i("axis", -1), f("epsilon", 1e-5f));
    }
    String mean = reduceMean(x, true, -1);
    String centred = op("Sub", prefix + ".sub", List.of(x, mean));
    String sq = op("Pow", prefix + ".pow", List.of(centred, constant(prefix + ".two", new long[0], 2f)));
    String var = reduceMean(sq, true, -1);
    String eps = op("Add", prefix + ".add_eps", List.of(var, constant(prefix + ".eps", new long[0], 1e-5f)));
    String norm = op("Div", prefix + ".div", List.of(centred, op("Sqrt", prefix + ".sqrt", List.of(eps))));
    return op("Add", prefix + ".add", List.of(op("Mul", prefix + ".mul", List.of(norm, g)), b));
  }

  /** GELU in the Erf form PyTorch exports: {@code x * 0.5 * (1 + erf(x / sqrt(2)))}. */
  public String gelu(String prefix, String x) {
    int k = next;
    String scaled = op("Div", prefix + ".div", List.of(x, constant("gelu_sqrt2_" + k, new long[0], (float) Math.sqrt(2))));
    String erf = op("Erf", prefix + ".erf", List.of(scaled));
    String one = op("Add", prefix + ".add", List.of(erf, constant("gelu_one_" + k, new long[0], 1f)));
    String gated = op("Mul", prefix + ".mul", List.of(x, one));
    return op("Mul", prefix + ".mul_half", List.of(gated, constant("gelu_half_" + k, new long[0], 0.5f)));
  }

  /** The model (IR version 8, producer "qcal-examples"). */
  public ModelProto build(String name) {
    GraphProto g = GraphProto.newBuilder().setName(name).addAllNode(nodes).addAllInput(inputs).addAllOutput(outputs)
        .addAllInitializer(initializers).build();
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("qcal-examples").setGraph(g)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).build();
  }

  // ---- static vocabulary ----

  public static NodeProto node(String op, String name, List<String> inputs, List<String> outputs,
      AttributeProto... attrs) {
    return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addAllOutput(outputs)
        .addAllAttribute(Arrays.asList(attrs)).build();
  }

  public static AttributeProto f(String name, float v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
  }

  public static AttributeProto i(String name, long v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
  }

  public static AttributeProto s(String name, String v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
        .setS(ByteString.copyFromUtf8(v)).build();
  }

  public static AttributeProto ints(String name, long... v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long x : v) {
      a.addInts(x);
    }
    return a.build();
  }

  public static AttributeProto floats(String name, float... v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOATS);
    for (float x : v) {
      a.addFloats(x);
    }
    return a.build();
  }

  /** A FLOAT tensor with its values in {@code float_data}. */
  public static TensorProto floatTensor(String name, long[] dims, float... values) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
    for (long d : dims) {
      t.addDims(d);
    }
    for (float v : values) {
      t.addFloatData(v);
    }
    return t.build();
  }

  /** An INT64 tensor with its values in {@code raw_data}. */
  public static TensorProto int64Tensor(String name, long[] dims, long... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return raw(name, TensorProto.DataType.INT64_VALUE, dims, b.array());
  }

  /** A tensor value info; each dim a {@link Number} (fixed) or a {@link String} (symbolic). */
  public static ValueInfoProto value(String name, int elemType, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
      if (d instanceof Number n) {
        dim.setDimValue(n.longValue());
      } else {
        dim.setDimParam(d.toString());
      }
      shape.addDim(dim);
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
  }

  private static TensorProto raw(String name, int type, long[] dims, byte[] data) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type);
    for (long d : dims) {
      t.addDims(d);
    }
    return t.setRawData(ByteString.copyFrom(data)).build();
  }

  private static int size(long[] dims) {
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("tensor of " + n + " elements is too large: " + Arrays.toString(dims));
    }
    return (int) n;
  }
}
