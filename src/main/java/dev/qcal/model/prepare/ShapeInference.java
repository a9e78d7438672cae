package dev.qcal.model.prepare;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.NodeAttributes;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.onnx.TensorShape;
import dev.qcal.model.onnx.TensorShape.Dim;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Static shape inference over a graph in the manner of ONNX's: every tensor gets its rank and each
 * dimension's value or symbol where the operator's definition (at the graph's opset) decides them, with
 * small integer tensors (shapes, axes, Reshape targets) propagated by value so that
 * {@code Shape → Gather → Concat → Reshape} chains keep their rank. An operator without a rule here, a node
 * of another domain or a node with a subgraph gives its outputs an unknown shape: never a guess. Declared
 * value infos complete what inference leaves unknown.
 */
public final class ShapeInference {

  /** Integer tensors up to this many elements are propagated by value. */
  static final int MAX_VALUES = 64;

  private static final Set<String> SAME_SHAPE = Set.of(
      "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "BatchNormalization", "Ceil", "Celu", "Clip", "Cos",
      "Cosh", "CumSum", "DequantizeLinear", "Elu", "Erf", "Exp", "Floor", "Gelu", "GroupNormalization", "Hardmax",
      "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "IsInf", "IsNaN", "LeakyRelu", "Log", "LogSoftmax",
      "LpNormalization", "LRN", "MeanVarianceNormalization", "Mish", "Neg", "Not", "QuantizeLinear", "Reciprocal",
      "Relu", "Round", "Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Softmax", "Softplus", "Softsign", "Sqrt",
      "Tan", "Tanh", "ThresholdedRelu", "Trilu", "Dropout", "Cast", "CastLike");

  private static final Set<String> BROADCAST = Set.of(
      "Add", "And", "BitShift", "Div", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max", "Mean",
      "Min", "Mod", "Mul", "Or", "Pow", "PRelu", "Sub", "Sum", "Where", "Xor");

  private static final Set<Integer> INTEGER_TYPES = Set.of(TensorProto.DataType.INT64_VALUE,
      TensorProto.DataType.INT32_VALUE, TensorProto.DataType.INT16_VALUE, TensorProto.DataType.INT8_VALUE,
      TensorProto.DataType.UINT8_VALUE, TensorProto.DataType.UINT16_VALUE, TensorProto.DataType.UINT32_VALUE,
      TensorProto.DataType.UINT64_VALUE);

  private static final Logger LOG = LoggerFactory.getLogger(ShapeInference.class);

  private final int opset;
  private final Map<String, TensorShape> shapes = new HashMap<>();
  private final Map<String, List<Dim>> values = new HashMap<>();
  private final Map<String, TensorProto> constants = new HashMap<>();

  private ShapeInference(int opset) {
    this.opset = opset;
  }

  /** What inference found: a shape for every tensor (unknown ones included). */
  public static final class Result {
    private final Map<String, TensorShape> shapes;

    private Result(Map<String, TensorShape> shapes) {
      this.shapes = shapes;
    }

    /** The shape of {@code tensor}; {@link TensorShape#UNKNOWN} for a name the graph does not have. */
    public TensorShape shape(String tensor) {
      return shapes.getOrDefault(tensor, TensorShape.UNKNOWN);
    }

    /** The rank of {@code tensor}, or -1 when inference cannot decide it. */
    public int rank(String tensor) {
      return shape(tensor).rank();
    }
  }

  /** Infers the shapes of {@code graph}'s tensors, reading its default-domain operators at {@code opset}. */
  public static Result infer(GraphProto graph, int opset) {
    ShapeInference s = new ShapeInference(opset);
    s.run(graph);
    return new Result(Collections.unmodifiableMap(s.shapes));
  }

  private void run(GraphProto graph) {
    Map<String, TensorShape> declared = new HashMap<>();
    for (List<ValueInfoProto> infos : List.of(graph.getInputList(), graph.getValueInfoList(), graph.getOutputList())) {
      for (ValueInfoProto v : infos) {
        if (v.getType().hasTensorType()) {
          declared.merge(v.getName(), TensorShape.declared(v.getType().getTensorType()), TensorShape::mergedWith);
        }
      }
    }
    for (ValueInfoProto v : graph.getInputList()) {
      shapes.put(v.getName(), declared.get(v.getName()) == null ? TensorShape.UNKNOWN : declared.get(v.getName()));
    }
    for (TensorProto t : graph.getInitializerList()) {
      addConstant(t.getName(), t);
    }
    for (NodeProto node : graph.getNodeList()) {
      List<TensorShape> out;
      try {
        out = outputs(node);
      } catch (RuntimeException e) {
        // a malformed node (an axis out of range, a zero stride): ONNX Runtime will name it; here it is unknown
        LOG.debug("no shapes for node '{}' ({}): {}", node.getName(), node.getOpType(), e.toString());
        out = List.of();
      }
      for (int k = 0; k < node.getOutputCount(); k++) {
        String name = node.getOutput(k);
        if (name.isEmpty()) {
          continue;
        }
        TensorShape inferred = k < out.size() ? out.get(k) : TensorShape.UNKNOWN;
        shapes.put(name, inferred.mergedWith(declared.getOrDefault(name, TensorShape.UNKNOWN)));
      }
    }
    for (Map.Entry<String, TensorShape> e : declared.entrySet()) {
      shapes.putIfAbsent(e.getKey(), e.getValue());
    }
  }

  private void addConstant(String name, TensorProto t) {
    long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    shapes.put(name, TensorShape.of(dims));
    constants.put(name, t);
    long[] v = intValues(t);
    if (v != null) {
      List<Dim> d = new ArrayList<>();
      for (long x : v) {
        d.add(Dim.of(x));
      }
      values.put(name, d);
    }
  }

  // ---- per-operator rules

  private List<TensorShape> outputs(NodeProto node) {
    for (AttributeProto a : node.getAttributeList()) {
      if (a.hasG() || a.getGraphsCount() > 0) {
        return List.of();
      }
    }
    if (!OnnxModels.isDefaultDomain(node.getDomain())) {
      return List.of();
    }
    String op = node.getOpType();
    if (SAME_SHAPE.contains(op)) {
      if (op.equals("Cast") || op.equals("Identity")) {
        propagateValues(node);
      }
      TensorShape x = in(node, 0);
      if (op.equals("Dropout")) {
        return List.of(x, x); // the mask has the input's shape
      }
      return List.of(x);
    }
    if (BROADCAST.contains(op)) {
      List<TensorShape> ins = new ArrayList<>();
      for (int k = 0; k < node.getInputCount(); k++) {
        ins.add(in(node, k));
      }
      arithmeticValues(node);
      return List.of(TensorShape.broadcast(ins));
    }
    return byOp(node, op);
  }

  /** The output shapes of {@code node}, an {@code op} node with its own rule (or none: no shapes). */
  private List<TensorShape> byOp(NodeProto node, String op) {
    return switch (op) {
      case "Constant" -> constant(node);
      case "MatMul", "MatMulInteger" -> List.of(matMul(in(node, 0), in(node, 1)));
      case "QLinearMatMul" -> List.of(matMul(in(node, 0), in(node, 3)));
      case "Gemm" -> List.of(gemm(node));
      case "Conv", "ConvInteger" -> List.of(WindowShapes.conv(node, in(node, 0), in(node, 1)));
      case "QLinearConv" -> List.of(WindowShapes.conv(node, in(node, 0), in(node, 3)));
      case "ConvTranspose" -> List.of(WindowShapes.convTranspose(node, in(node, 0), in(node, 1)));
      case "MaxPool", "AveragePool", "LpPool" -> WindowShapes.pool(node, in(node, 0));
      case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool" -> List.of(WindowShapes.globalPool(in(node, 0)));
      case "LayerNormalization" -> layerNorm(node);
      case "Transpose" -> List.of(transpose(node));
      case "Reshape" -> List.of(reshape(node));
      case "Flatten" -> List.of(flatten(node));
      case "Squeeze" -> List.of(squeeze(node));
      case "Unsqueeze" -> List.of(unsqueeze(node));
      case "Concat" -> List.of(concat(node));
      case "Split" -> split(node);
      case "Slice" -> List.of(slice(node));
      case "Gather" -> List.of(gather(node));
      case "GatherElements" -> List.of(in(node, 1));
      case "ArgMax", "ArgMin" -> List.of(reduce(node, new long[] {NodeAttributes.intOr(node, "axis", 0)}, NodeAttributes.intOr(node, "keepdims", 1) != 0));
      case "Shape" -> List.of(shape(node));
      case "Size" -> List.of(TensorShape.of());
      case "ConstantOfShape" -> List.of(fromValues(node.getInput(0)));
      case "Expand" -> List.of(TensorShape.broadcast(List.of(in(node, 0), fromValues(node.getInput(1)))));
      case "Tile" -> List.of(tile(node));
      case "Pad" -> List.of(pad(node));
      case "Resize", "Upsample" -> List.of(resize(node));
      case "TopK" -> topK(node);
      case "DepthToSpace", "SpaceToDepth" -> List.of(depthSpace(node));
      case "Range" -> List.of(TensorShape.ofRank(1));
      case "NonZero" -> List.of(in(node, 0).hasRank() ? new TensorShape(List.of(Dim.of(in(node, 0).rank()), Dim.UNKNOWN))
          : TensorShape.ofRank(2));
      default -> op.startsWith("Reduce") ? List.of(reduceX(node)) : List.of();
    };
  }

  private List<TensorShape> constant(NodeProto node) {
    for (AttributeProto a : node.getAttributeList()) {
      switch (a.getName()) {
        case "value" -> {
          addConstant(node.getOutput(0), a.getT());
          return List.of(shapes.get(node.getOutput(0)));
        }
        case "value_float", "value_string" -> {
          return List.of(TensorShape.of());
        }
        case "value_int" -> {
          values.put(node.getOutput(0), List.of(Dim.of(a.getI())));
          return List.of(TensorShape.of());
        }
        case "value_floats" -> {
          return List.of(TensorShape.of(a.getFloatsCount()));
        }
        case "value_strings" -> {
          return List.of(TensorShape.of(a.getStringsCount()));
        }
        case "value_ints" -> {
          List<Dim> d = new ArrayList<>();
          a.getIntsList().forEach(x -> d.add(Dim.of(x)));
          values.put(node.getOutput(0), d);
          return List.of(TensorShape.of(a.getIntsCount()));
        }
        default -> { }
      }
    }
    return List.of();
  }

  private static TensorShape matMul(TensorShape a, TensorShape b) {
    if (!a.hasRank() || !b.hasRank() || a.rank() == 0 || b.rank() == 0) {
      return TensorShape.UNKNOWN;
    }
    List<Dim> x = new ArrayList<>(a.dims());
    List<Dim> y = new ArrayList<>(b.dims());
    if (a.rank() == 1) {
      x.add(0, Dim.of(1));
    }
    if (b.rank() == 1) {
      y.add(Dim.of(1));
    }
    TensorShape batch = TensorShape.broadcast(List.of(new TensorShape(x.subList(0, x.size() - 2)),
        new TensorShape(y.subList(0, y.size() - 2))));
    List<Dim> out = new ArrayList<>(batch.dims());
    if (a.rank() > 1) {
      out.add(x.get(x.size() - 2));
    }
    if (b.rank() > 1) {
      out.add(y.get(y.size() - 1));
    }
    return new TensorShape(out);
  }

  private TensorShape gemm(NodeProto node) {
    TensorShape a = in(node, 0);
    TensorShape b = in(node, 1);
    Dim m = a.rank() == 2 ? a.dim(NodeAttributes.intOr(node, "transA", 0) != 0 ? 1 : 0) : Dim.UNKNOWN;
    Dim n = b.rank() == 2 ? b.dim(NodeAttributes.intOr(node, "transB", 0) != 0 ? 0 : 1) : Dim.UNKNOWN;
    return new TensorShape(List.of(m, n));
  }

  private List<TensorShape> layerNorm(NodeProto node) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return List.of(x, x, x);
    }
    int axis = (int) normalize(NodeAttributes.intOr(node, "axis", -1), x.rank());
    List<Dim> stats = new ArrayList<>(x.dims());
    for (int k = Math.max(axis, 0); k < stats.size(); k++) {
      stats.set(k, Dim.of(1));
    }
    TensorShape s = new TensorShape(stats);
    return List.of(x, s, s);
  }

  private TensorShape transpose(NodeProto node) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return x;
    }
    long[] perm = NodeAttributes.ints(node, "perm");
    List<Dim> out = new ArrayList<>();
    for (int k = 0; k < x.rank(); k++) {
      int from = perm == null ? x.rank() - 1 - k : (int) normalize(perm[k], x.rank());
      out.add(from >= 0 && from < x.rank() ? x.dim(from) : Dim.UNKNOWN);
    }
    return new TensorShape(out);
  }

  private TensorShape reshape(NodeProto node) {
    TensorShape x = in(node, 0);
    List<Dim> target = values.get(node.getInput(1));
    if (target == null) {
      TensorShape t = in(node, 1);
      return t.rank() == 1 && t.dim(0).known() ? TensorShape.ofRank(t.dim(0).value().intValue()) : TensorShape.UNKNOWN;
    }
    boolean allowZero = opset >= 14 && NodeAttributes.intOr(node, "allowzero", 0) != 0;
    List<Dim> out = new ArrayList<>();
    int inferred = -1;
    for (int k = 0; k < target.size(); k++) {
      Dim t = target.get(k);
      if (!t.known()) {
        out.add(t.symbol() != null ? t : Dim.UNKNOWN);
      } else if (t.value() == 0 && !allowZero) {
        out.add(x.hasRank() && k < x.rank() ? x.dim(k) : Dim.UNKNOWN);
      } else if (t.value() == -1) {
        inferred = k;
        out.add(Dim.UNKNOWN);
      } else {
        out.add(t);
      }
    }
    if (inferred >= 0 && x.fullyKnown()) {
      long total = product(x.dims());
      List<Dim> others = new ArrayList<>(out);
      others.remove(inferred);
      long rest = product(others);
      if (total >= 0 && rest > 0 && total % rest == 0) {
        out.set(inferred, Dim.of(total / rest));
      }
    }
    if (out.size() <= 1 && values.containsKey(node.getInput(0))) {
      values.put(node.getOutput(0), values.get(node.getInput(0)));
    }
    return new TensorShape(out);
  }

  private TensorShape flatten(NodeProto node) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return TensorShape.ofRank(2);
    }
    int axis = (int) normalize(NodeAttributes.intOr(node, "axis", 1), x.rank());
    long outer = product(x.dims().subList(0, axis));
    long inner = product(x.dims().subList(axis, x.rank()));
    return new TensorShape(List.of(outer < 0 ? Dim.UNKNOWN : Dim.of(outer), inner < 0 ? Dim.UNKNOWN : Dim.of(inner)));
  }

  private TensorShape squeeze(NodeProto node) {
    TensorShape x = in(node, 0);
    long[] axes = axesOf(node, "axes");
    boolean hasAxesInput = opset >= 13 && node.getInputCount() > 1 && !node.getInput(1).isEmpty();
    if (!x.hasRank() || (axes == null && hasAxesInput)) {
      return TensorShape.UNKNOWN;
    }
    List<Dim> out = new ArrayList<>();
    for (int k = 0; k < x.rank(); k++) {
      Dim d = x.dim(k);
      boolean drop;
      if (axes == null) {
        if (!d.known()) {
          return TensorShape.UNKNOWN; // squeezed only if it is 1 at run time
        }
        drop = d.value() == 1;
      } else {
        drop = contains(axes, k, x.rank());
      }
      if (!drop) {
        out.add(d);
      }
    }
    List<Dim> v = values.get(node.getInput(0));
    if (v != null && out.size() <= 1) {
      values.put(node.getOutput(0), v);
    }
    return new TensorShape(out);
  }

  private TensorShape unsqueeze(NodeProto node) {
    TensorShape x = in(node, 0);
    long[] axes = axesOf(node, "axes");
    if (!x.hasRank() || axes == null) {
      return TensorShape.UNKNOWN;
    }
    int rank = x.rank() + axes.length;
    List<Dim> out = new ArrayList<>();
    int j = 0;
    for (int k = 0; k < rank; k++) {
      out.add(contains(axes, k, rank) ? Dim.of(1) : j < x.rank() ? x.dim(j++) : Dim.UNKNOWN);
    }
    List<Dim> v = values.get(node.getInput(0));
    if (v != null && rank <= 1) {
      values.put(node.getOutput(0), v);
    }
    return new TensorShape(out);
  }

  private TensorShape concat(NodeProto node) {
    int rank = -1;
    for (int k = 0; k < node.getInputCount(); k++) {
      rank = Math.max(rank, in(node, k).rank());
    }
    if (rank < 0) {
      return TensorShape.UNKNOWN;
    }
    int axis = (int) normalize(NodeAttributes.intOr(node, "axis", opset < 4 ? 1 : 0), rank);
    List<Dim> out = new ArrayList<>(Collections.nCopies(rank, Dim.UNKNOWN));
    long sum = 0;
    List<Dim> joined = new ArrayList<>();
    for (int k = 0; k < node.getInputCount(); k++) {
      TensorShape s = in(node, k);
      List<Dim> v = values.get(node.getInput(k));
      if (joined != null && v != null && rank == 1) {
        joined.addAll(v);
      } else {
        joined = null;
      }
      if (!s.hasRank() || s.rank() != rank) {
        sum = -1;
        continue;
      }
      for (int d = 0; d < rank; d++) {
        if (d == axis) {
          sum = sum >= 0 && s.dim(d).known() ? sum + s.dim(d).value() : -1;
        } else if (!out.get(d).known() && (s.dim(d).known() || out.get(d).symbol() == null)) {
          out.set(d, s.dim(d));
        }
      }
    }
    out.set(axis, sum >= 0 ? Dim.of(sum) : Dim.UNKNOWN);
    if (joined != null) {
      values.put(node.getOutput(0), joined);
    }
    return new TensorShape(out);
  }

  private List<TensorShape> split(NodeProto node) {
    TensorShape x = in(node, 0);
    int n = node.getOutputCount();
    if (!x.hasRank()) {
      return Collections.nCopies(n, TensorShape.UNKNOWN);
    }
    int axis = (int) normalize(NodeAttributes.intOr(node, "axis", 0), x.rank());
    long[] sizes = opset < 13 ? NodeAttributes.ints(node, "split") : constantInts(node, 1);
    boolean sizesGiven = opset < 13 ? sizes != null : node.getInputCount() > 1 && !node.getInput(1).isEmpty();
    List<TensorShape> out = new ArrayList<>();
    Dim whole = x.dim(axis);
    for (int k = 0; k < n; k++) {
      Dim d;
      if (sizes != null && sizes.length == n) {
        d = Dim.of(sizes[k]);
      } else if (!sizesGiven && whole.known()) {
        long chunk = Math.floorDiv(whole.value() + n - 1, n); // opset 18 allows a smaller last chunk
        d = Dim.of(k < n - 1 ? chunk : whole.value() - chunk * (n - 1));
      } else {
        d = Dim.UNKNOWN;
      }
      List<Dim> dims = new ArrayList<>(x.dims());
      dims.set(axis, d);
      out.add(new TensorShape(dims));
    }
    return out;
  }

  private TensorShape slice(NodeProto node) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return x;
    }
    long[] starts;
    long[] ends;
    long[] axes;
    long[] steps = null;
    boolean axesGiven;
    if (opset < 10) {
      starts = NodeAttributes.ints(node, "starts");
      ends = NodeAttributes.ints(node, "ends");
      axes = NodeAttributes.ints(node, "axes");
      axesGiven = axes != null;
    } else {
      starts = constantInts(node, 1);
      ends = constantInts(node, 2);
      axes = constantInts(node, 3);
      axesGiven = node.getInputCount() > 3 && !node.getInput(3).isEmpty();
      steps = constantInts(node, 4);
      if (node.getInputCount() > 4 && !node.getInput(4).isEmpty() && steps == null) {
        return TensorShape.ofRank(x.rank());
      }
    }
    if (axesGiven && axes == null) {
      return TensorShape.ofRank(x.rank());
    }
    int count = starts != null ? starts.length : ends != null ? ends.length : -1;
    if (count < 0) {
      return TensorShape.ofRank(x.rank());
    }
    List<Dim> out = new ArrayList<>(x.dims());
    List<Dim> v = values.get(node.getInput(0));
    List<Dim> sliced = x.rank() == 1 && v != null ? v : null;
    for (int i = 0; i < count; i++) {
      int axis = (int) normalize(axes == null ? i : axes[i], x.rank());
      if (axis < 0 || axis >= x.rank()) {
        return TensorShape.ofRank(x.rank());
      }
      Dim d = x.dim(axis);
      long step = steps == null ? 1 : steps[i];
      if (starts == null || ends == null || !d.known() || step == 0) {
        out.set(axis, Dim.UNKNOWN);
        sliced = null;
        continue;
      }
      long[] range = sliceRange(starts[i], ends[i], step, d.value());
      out.set(axis, Dim.of(range[2]));
      sliced = sliced == null ? null : picked(sliced, range, step);
    }
    if (sliced != null) {
      values.put(node.getOutput(0), sliced);
    }
    return new TensorShape(out);
  }

  /** The values a slice {@code range} ({start, end, count}) with {@code step} picks from {@code v}. */
  private static List<Dim> picked(List<Dim> v, long[] range, long step) {
    List<Dim> picked = new ArrayList<>();
    for (long j = 0; j < range[2]; j++) {
      picked.add(v.get((int) (range[0] + j * step)));
    }
    return picked;
  }

  /** ONNX Slice on one axis of size {@code dim}: {start, end, count} after clamping. */
  static long[] sliceRange(long start, long end, long step, long dim) {
    long s = start < 0 ? start + dim : start;
    long e = end < 0 ? end + dim : end;
    long count;
    if (step > 0) {
      s = clamp(s, 0, dim);
      e = clamp(e, 0, dim);
      count = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = clamp(s, 0, dim - 1);
      e = clamp(e, -1, dim - 1);
      count = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    return new long[] {s, e, count};
  }

  private TensorShape gather(NodeProto node) {
    TensorShape data = in(node, 0);
    TensorShape indices = in(node, 1);
    if (!data.hasRank() || !indices.hasRank()) {
      return TensorShape.UNKNOWN;
    }
    int axis = (int) normalize(NodeAttributes.intOr(node, "axis", 0), data.rank());
    List<Dim> out = new ArrayList<>(data.dims().subList(0, axis));
    out.addAll(indices.dims());
    out.addAll(data.dims().subList(axis + 1, data.rank()));
    List<Dim> v = values.get(node.getInput(0));
    long[] idx = constantInts(node, 1);
    if (data.rank() == 1 && v != null && idx != null && indices.rank() <= 1) {
      List<Dim> picked = new ArrayList<>();
      for (long i : idx) {
        long j = i < 0 ? i + v.size() : i;
        if (j < 0 || j >= v.size()) {
          return new TensorShape(out);
        }
        picked.add(v.get((int) j));
      }
      values.put(node.getOutput(0), picked);
    }
    return new TensorShape(out);
  }

  private TensorShape reduceX(NodeProto node) {
    String op = node.getOpType();
    boolean axesInput = op.equals("ReduceSum") ? opset >= 13 : opset >= 18;
    long[] axes = axesInput ? constantInts(node, 1) : NodeAttributes.ints(node, "axes");
    boolean given = axesInput ? node.getInputCount() > 1 && !node.getInput(1).isEmpty() : axes != null;
    if (given && axes == null) {
      TensorShape x = in(node, 0);
      return NodeAttributes.intOr(node, "keepdims", 1) != 0 ? TensorShape.ofRank(x.rank()) : TensorShape.UNKNOWN;
    }
    if (axes != null && axes.length == 0 && axesInput && NodeAttributes.intOr(node, "noop_with_empty_axes", 0) != 0) {
      return in(node, 0);
    }
    return reduce(node, axes == null || axes.length == 0 ? null : axes, NodeAttributes.intOr(node, "keepdims", 1) != 0);
  }

  /** Reduces {@code axes} (null: all) of input 0, keeping them as 1 or dropping them. */
  private TensorShape reduce(NodeProto node, long[] axes, boolean keepDims) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return x;
    }
    List<Dim> out = new ArrayList<>();
    for (int k = 0; k < x.rank(); k++) {
      if (axes == null || contains(axes, k, x.rank())) {
        if (keepDims) {
          out.add(Dim.of(1));
        }
      } else {
        out.add(x.dim(k));
      }
    }
    return new TensorShape(out);
  }

  /** Squeeze and Unsqueeze axes: an attribute before opset 13, input 1 from 13 (null when not constant). */
  private long[] axesOf(NodeProto node, String name) {
    return opset >= 13 ? constantInts(node, 1) : NodeAttributes.ints(node, name);
  }

  private TensorShape shape(NodeProto node) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return TensorShape.ofRank(1);
    }
    int r = x.rank();
    long start = opset >= 15 ? clamp(normalize(NodeAttributes.intOr(node, "start", 0), r), 0, r) : 0;
    long end = opset >= 15 ? clamp(normalize(NodeAttributes.intOr(node, "end", r), r), 0, r) : r;
    List<Dim> v = end > start ? x.dims().subList((int) start, (int) end) : List.of();
    values.put(node.getOutput(0), new ArrayList<>(v));
    return TensorShape.of(v.size());
  }

  /** A shape given by the values of an int64 tensor ({@code ConstantOfShape}, {@code Expand}). */
  private TensorShape fromValues(String tensor) {
    List<Dim> v = values.get(tensor);
    if (v != null) {
      List<Dim> out = new ArrayList<>();
      for (Dim d : v) {
        out.add(d.known() && d.value() < 0 ? Dim.UNKNOWN : d);
      }
      return new TensorShape(out);
    }
    TensorShape s = shapes.getOrDefault(tensor, TensorShape.UNKNOWN);
    return s.rank() == 1 && s.dim(0).known() ? TensorShape.ofRank(s.dim(0).value().intValue()) : TensorShape.UNKNOWN;
  }

  private TensorShape tile(NodeProto node) {
    TensorShape x = in(node, 0);
    long[] repeats = constantInts(node, 1);
    if (!x.hasRank() || repeats == null || repeats.length != x.rank()) {
      return TensorShape.ofRank(x.rank());
    }
    List<Dim> out = new ArrayList<>();
    for (int k = 0; k < x.rank(); k++) {
      out.add(x.dim(k).known() ? Dim.of(x.dim(k).value() * repeats[k]) : repeats[k] == 1 ? x.dim(k) : Dim.UNKNOWN);
    }
    return new TensorShape(out);
  }

  private TensorShape pad(NodeProto node) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return x;
    }
    int r = x.rank();
    long[] pads = opset < 11 ? NodeAttributes.ints(node, opset < 2 ? "paddings" : "pads") : constantInts(node, 1);
    long[] axes = opset >= 18 && node.getInputCount() > 3 && !node.getInput(3).isEmpty() ? constantInts(node, 3) : null;
    if (pads == null || (opset >= 18 && node.getInputCount() > 3 && !node.getInput(3).isEmpty() && axes == null)) {
      return TensorShape.ofRank(r);
    }
    int n = axes == null ? r : axes.length;
    if (pads.length != 2 * n) {
      return TensorShape.ofRank(r);
    }
    List<Dim> out = new ArrayList<>(x.dims());
    for (int i = 0; i < n; i++) {
      int axis = (int) normalize(axes == null ? i : axes[i], r);
      Dim d = x.dim(axis);
      out.set(axis, d.known() ? Dim.of(d.value() + pads[i] + pads[i + n]) : pads[i] + pads[i + n] == 0 ? d : Dim.UNKNOWN);
    }
    return new TensorShape(out);
  }

  private TensorShape resize(NodeProto node) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return x;
    }
    int r = x.rank();
    String scalesName;
    String sizesName = null;
    float[] scales;
    if (node.getOpType().equals("Upsample") && opset < 9) {
      scales = NodeAttributes.floats(node, "scales");
      scalesName = null;
    } else {
      boolean withRoi = node.getOpType().equals("Resize") && opset >= 11;
      scalesName = input(node, withRoi ? 2 : 1);
      sizesName = withRoi ? input(node, 3) : null;
      scales = scalesName == null ? null : constantFloats(scalesName);
    }
    if (NodeAttributes.stringOr(node, "coordinate_transformation_mode", "").equals("tf_crop_and_resize")
        || !NodeAttributes.stringOr(node, "keep_aspect_ratio_policy", "stretch").equals("stretch")) {
      return TensorShape.ofRank(r);
    }
    long[] axesAttr = NodeAttributes.ints(node, "axes");
    int[] axes = new int[axesAttr == null ? r : axesAttr.length];
    for (int i = 0; i < axes.length; i++) {
      axes[i] = axesAttr == null ? i : (int) normalize(axesAttr[i], r);
    }
    List<Dim> out = new ArrayList<>(x.dims());
    if (sizesName != null) {
      List<Dim> sizes = values.get(sizesName);
      if (sizes == null || sizes.size() != axes.length) {
        return TensorShape.ofRank(r);
      }
      for (int i = 0; i < axes.length; i++) {
        out.set(axes[i], sizes.get(i));
      }
      return new TensorShape(out);
    }
    if (scales == null || scales.length != axes.length) {
      return TensorShape.ofRank(r);
    }
    for (int i = 0; i < axes.length; i++) {
      Dim d = x.dim(axes[i]);
      out.set(axes[i], d.known() ? Dim.of((long) Math.floor(scales[i] * (float) d.value())) : scales[i] == 1f ? d : Dim.UNKNOWN);
    }
    return new TensorShape(out);
  }

  private List<TensorShape> topK(NodeProto node) {
    TensorShape x = in(node, 0);
    if (!x.hasRank()) {
      return List.of(x, x);
    }
    long[] k = opset < 10 ? new long[] {NodeAttributes.intOr(node, "k", -1)} : constantInts(node, 1);
    int axis = (int) normalize(NodeAttributes.intOr(node, "axis", -1), x.rank());
    List<Dim> out = new ArrayList<>(x.dims());
    out.set(axis, k != null && k.length == 1 && k[0] >= 0 ? Dim.of(k[0]) : Dim.UNKNOWN);
    TensorShape s = new TensorShape(out);
    return List.of(s, s);
  }

  private TensorShape depthSpace(NodeProto node) {
    TensorShape x = in(node, 0);
    if (x.rank() != 4) {
      return TensorShape.ofRank(x.rank());
    }
    long b = NodeAttributes.intOr(node, "blocksize", 1);
    boolean toSpace = node.getOpType().equals("DepthToSpace");
    List<Dim> out = new ArrayList<>();
    out.add(x.dim(0));
    for (int k = 1; k < 4; k++) {
      Dim d = x.dim(k);
      if (!d.known()) {
        out.add(Dim.UNKNOWN);
      } else if (k == 1) {
        out.add(Dim.of(toSpace ? d.value() / (b * b) : d.value() * b * b));
      } else {
        out.add(Dim.of(toSpace ? d.value() * b : d.value() / b));
      }
    }
    return new TensorShape(out);
  }

  // ---- value propagation

  private void propagateValues(NodeProto node) {
    List<Dim> v = values.get(node.getInput(0));
    if (v == null) {
      return;
    }
    if (node.getOpType().equals("Cast") && !INTEGER_TYPES.contains((int) NodeAttributes.intOr(node, "to", 0))) {
      return;
    }
    values.put(node.getOutput(0), v);
  }

  /** Add, Sub, Mul, Div of small integer tensors (shape arithmetic), element by element with scalars broadcast. */
  private void arithmeticValues(NodeProto node) {
    String op = node.getOpType();
    if (!Set.of("Add", "Sub", "Mul", "Div").contains(op) || node.getInputCount() != 2) {
      return;
    }
    List<Dim> a = values.get(node.getInput(0));
    List<Dim> b = values.get(node.getInput(1));
    if (a == null || b == null || (a.size() != b.size() && a.size() != 1 && b.size() != 1)) {
      return;
    }
    int n = Math.max(a.size(), b.size());
    List<Dim> out = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      Dim x = a.get(a.size() == 1 ? 0 : k);
      Dim y = b.get(b.size() == 1 ? 0 : k);
      if (!x.known() || !y.known() || (op.equals("Div") && y.value() == 0)) {
        out.add(Dim.UNKNOWN);
        continue;
      }
      long p = x.value();
      long q = y.value();
      out.add(Dim.of(switch (op) {
        case "Add" -> p + q;
        case "Sub" -> p - q;
        case "Mul" -> p * q;
        default -> p / q;
      }));
    }
    values.put(node.getOutput(0), out);
  }

  // ---- helpers

  private TensorShape in(NodeProto node, int k) {
    String name = input(node, k);
    return name == null ? TensorShape.UNKNOWN : shapes.getOrDefault(name, TensorShape.UNKNOWN);
  }

  private static String input(NodeProto node, int k) {
    return k < node.getInputCount() && !node.getInput(k).isEmpty() ? node.getInput(k) : null;
  }

  /** The values of input {@code k} when it is a small integer tensor whose every value is known. */
  private long[] constantInts(NodeProto node, int k) {
    String name = input(node, k);
    List<Dim> v = name == null ? null : values.get(name);
    if (v == null || !v.stream().allMatch(Dim::known)) {
      return null;
    }
    return v.stream().mapToLong(Dim::value).toArray();
  }

  private float[] constantFloats(String name) {
    TensorProto t = constants.get(name);
    if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE
        || t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || Initializers.count(t) > MAX_VALUES) {
      return null;
    }
    return Initializers.floats(t);
  }

  /** The values of a small integer initializer or constant, or null. */
  static long[] intValues(TensorProto t) {
    int type = t.getDataType();
    if (!INTEGER_TYPES.contains(type) || t.getDataLocation() == TensorProto.DataLocation.EXTERNAL
        || t.getDimsCount() > 1 || Initializers.count(t) > MAX_VALUES) {
      return null;
    }
    int n = (int) Initializers.count(t);
    long[] v = new long[n];
    if (!t.getRawData().isEmpty()) {
      ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      for (int k = 0; k < n; k++) {
        v[k] = switch (type) {
          case TensorProto.DataType.INT64_VALUE, TensorProto.DataType.UINT64_VALUE -> b.getLong();
          case TensorProto.DataType.INT32_VALUE -> b.getInt();
          case TensorProto.DataType.UINT32_VALUE -> b.getInt() & 0xFFFFFFFFL;
          case TensorProto.DataType.INT16_VALUE -> b.getShort();
          case TensorProto.DataType.UINT16_VALUE -> b.getShort() & 0xFFFF;
          case TensorProto.DataType.INT8_VALUE -> b.get();
          default -> b.get() & 0xFF;
        };
      }
      return v;
    }
    if (type == TensorProto.DataType.INT64_VALUE && t.getInt64DataCount() == n) {
      for (int k = 0; k < n; k++) {
        v[k] = t.getInt64Data(k);
      }
      return v;
    }
    if (type == TensorProto.DataType.UINT64_VALUE && t.getUint64DataCount() == n) {
      for (int k = 0; k < n; k++) {
        v[k] = t.getUint64Data(k);
      }
      return v;
    }
    if (type != TensorProto.DataType.INT64_VALUE && type != TensorProto.DataType.UINT64_VALUE
        && t.getInt32DataCount() == n) {
      for (int k = 0; k < n; k++) {
        v[k] = t.getInt32Data(k);
      }
      return v;
    }
    return null;
  }

  private static long normalize(long axis, int rank) {
    return axis < 0 ? axis + rank : axis;
  }

  private static boolean contains(long[] axes, int k, int rank) {
    for (long a : axes) {
      if (normalize(a, rank) == k) {
        return true;
      }
    }
    return false;
  }

  private static long clamp(long v, long lo, long hi) {
    return Math.max(lo, Math.min(hi, v));
  }

  /** The product of known dimensions; -1 when one is not known. */
  private static long product(List<Dim> dims) {
    long p = 1;
    for (Dim d : dims) {
      if (!d.known()) {
        return -1;
      }
      p *= d.value();
    }
    return p;
  }
}
