package dev.qcal.model.prepare;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.NodeAttributes;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.onnx.TensorShape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raises a model's default-domain (ai.onnx) opset, rewriting the nodes whose operator changed meaning
 * or signature on the way, and refusing every operator it does not know to be safe.
 *
 * <p>Source opsets 7 to 20 and target opsets up to 21 are supported. Rewrites (see the ONNX
 * Changelog): Clip (&lt;11 min/max attributes → scalar inputs), Slice (&lt;10 starts/ends/axes → int64
 * inputs), Pad (&lt;11 pads/value → inputs), TopK (&lt;10 k → input), Squeeze, Unsqueeze, ReduceSum
 * (&lt;13 axes → input), the other Reduce* operators (ReduceL1/L2/LogSum/LogSumExp/Max/Mean/Min/Prod/
 * SumSquare: &lt;18 axes → input), Split (&lt;13 split → input; at ≥18 a Split without a split input gets
 * {@code num_outputs}, which 18 requires), Upsample (→ Resize at ≥10, asymmetric coordinates, floor
 * rounding for nearest), Resize-10 (→ asymmetric Resize-11), Softmax, LogSoftmax and Hardmax (&lt;13: an
 * explicit axis when it is the last one, the rank told by {@link ShapeInference} or learned from a run,
 * else Flatten, the operator on axis 1 and a Reshape back),
 * BatchNormalization (the removed {@code spatial} attribute dropped when 1; several outputs refused at
 * ≥14), Dropout (inference only: ratio → input at ≥12, a mask output refused when its type changes at
 * 10), GridSample (&lt;20 modes bilinear/bicubic renamed linear/cubic at 20), GroupNormalization (&lt;21
 * per-group scale and bias become per-channel at 21: constant scale and bias are repeated over each
 * group's channels when the channel count is declared or inferred, else the node is refused), Scatter
 * (→ ScatterElements at ≥11), RoiAlign (&lt;16: the old {@code output_half_pixel} coordinates made
 * explicit). Operators in
 * {@link #UNCHANGED} pass through, and those in {@link #UNCHANGED_SINCE} when the source opset is at
 * least the one listed; any other operator in the default domain, or a node carrying a subgraph, is
 * refused with a one-line message naming the node, the operator and both opsets. Nodes of other domains
 * are left alone.
 */
public final class OpsetUpgrader {

  private static final Logger LOG = LoggerFactory.getLogger(OpsetUpgrader.class);

  /** The lowest source opset accepted: before 7, binary operators had a {@code broadcast} attribute. */
  public static final int MIN_SOURCE_OPSET = 7;

  /** The highest target opset: 21 brings int4/uint4, int16/uint16 Q/DQ and blocked quantization. */
  public static final int MAX_TARGET_OPSET = 21;

  /**
   * Operators whose new versions between opsets 7 and 21 only add types, allow negative axes, add
   * optional attributes or inputs whose defaults keep the old meaning, or clarify the documentation.
   */
  static final Set<String> UNCHANGED = Set.of(
      // element-wise maths (broadcasting since 7; later versions add types)
      "Abs", "Acos", "Acosh", "Add", "And", "Asin", "Asinh", "Atan", "Atanh", "Ceil", "Cos", "Cosh", "Div",
      "Elu", "Equal", "Erf", "Exp", "Floor", "Greater", "HardSigmoid", "IsNaN", "LeakyRelu", "Less", "Log",
      "Max", "Mean", "Min", "Mod", "Mul", "Neg", "Not", "Or", "Pow", "PRelu", "Reciprocal", "Relu", "Selu",
      "Sigmoid", "Sign", "Sin", "Sinh", "Softplus", "Softsign", "Sqrt", "Sub", "Sum", "Tan", "Tanh", "Where",
      "Xor",
      // linear algebra, convolution and pooling
      "AveragePool", "Conv", "Gemm", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool", "InstanceNormalization",
      "LpNormalization", "LpPool", "LRN", "MatMul", "MaxPool", "MaxRoiPool",
      // recurrent (14 adds 'layout', default 0: the old layout)
      "GRU", "LSTM", "RNN",
      // random generators
      "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
      // arg reductions (the Reduce* operators have a rule: their axes move to an input at 18)
      "ArgMax", "ArgMin",
      // shape and data movement
      "Cast", "Concat", "Constant", "ConstantOfShape", "DepthToSpace", "Expand", "Flatten", "Gather",
      "Identity", "NonZero", "Range", "Reshape", "Shape", "Size", "SpaceToDepth", "Tile", "Transpose");

  /** Reductions whose {@code axes} attribute becomes an input at opset 18 (ReduceSum moved at 13). */
  static final Set<String> REDUCE_AXES_18 = Set.of("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
      "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare");

  /**
   * Operators unchanged in meaning from the listed opset up to 21 (later versions only add types or
   * optional attributes with neutral defaults); a model at a lower source opset is refused.
   */
  static final Map<String, Integer> UNCHANGED_SINCE = Map.ofEntries(
      Map.entry("ConvTranspose", 11), Map.entry("LayerNormalization", 17), Map.entry("HardSwish", 14),
      Map.entry("Trilu", 14), Map.entry("Mish", 18), Map.entry("Gelu", 20), Map.entry("Einsum", 12),
      Map.entry("GatherElements", 11), Map.entry("GatherND", 12), Map.entry("ScatterND", 11),
      Map.entry("ScatterElements", 11), Map.entry("CumSum", 11), Map.entry("Round", 11), Map.entry("Celu", 12),
      Map.entry("ThresholdedRelu", 10), Map.entry("Shrink", 9), Map.entry("LessOrEqual", 12),
      Map.entry("GreaterOrEqual", 12), Map.entry("IsInf", 10), Map.entry("OneHot", 11), Map.entry("Compress", 9),
      Map.entry("NonMaxSuppression", 11), Map.entry("MeanVarianceNormalization", 9), Map.entry("CastLike", 15),
      Map.entry("QuantizeLinear", 10), Map.entry("DequantizeLinear", 10), Map.entry("DynamicQuantizeLinear", 11),
      Map.entry("EyeLike", 9), Map.entry("Mod", 10), Map.entry("ReverseSequence", 10), Map.entry("Unique", 11),
      Map.entry("BitwiseAnd", 18), Map.entry("BitwiseOr", 18), Map.entry("BitwiseXor", 18),
      Map.entry("BitwiseNot", 18), Map.entry("CenterCropPad", 18), Map.entry("Col2Im", 18),
      Map.entry("DeformConv", 19), Map.entry("AffineGrid", 20),
      Map.entry("QLinearConv", 10), Map.entry("QLinearMatMul", 10), Map.entry("MatMulInteger", 10),
      Map.entry("ConvInteger", 10), Map.entry("BitShift", 11), Map.entry("Det", 11));

  private OpsetUpgrader() {}

  /**
   * A copy of {@code model} importing {@code targetOpset} for the default domain, with ir_version at
   * least what that opset needs; the model itself when it already imports {@code targetOpset}.
   *
   * @throws ModelException when the opsets are out of range or a node cannot be upgraded
   */
  public static ModelProto upgrade(ModelProto model, int targetOpset) {
    return upgrade(model, targetOpset, Map.of());
  }

  /**
   * The tensors whose rank the upgrade of {@code model} to {@code targetOpset} needs and shape inference
   * cannot decide (in graph order): what {@link #upgrade(ModelProto, int, Map)} must be told, for example
   * from one run of the model.
   *
   * @throws ModelException when the upgrade would fail for another reason
   */
  public static Set<String> ranksToLearn(ModelProto model, int targetOpset) {
    int source = OnnxModels.opset(model);
    if (source >= targetOpset || source < MIN_SOURCE_OPSET || targetOpset > MAX_TARGET_OPSET) {
      return Set.of();
    }
    Upgrade up = new Upgrade(model.getGraph(), source, targetOpset, Map.of());
    up.collectUnknownRanks = true;
    for (NodeProto node : model.getGraph().getNodeList()) {
      if (OnnxModels.isDefaultDomain(node.getDomain())) {
        up.rewrite(node);
      }
    }
    return up.unknownRanks;
  }

  /**
   * As {@link #upgrade(ModelProto, int)}, with the ranks of tensors that shape inference cannot decide
   * taken from {@code learnedRanks} (used only where inference fails, each use logged).
   */
  public static ModelProto upgrade(ModelProto model, int targetOpset, Map<String, Integer> learnedRanks) {
    int source = OnnxModels.opset(model);
    String graphName = model.getGraph().getName();
    if (targetOpset > MAX_TARGET_OPSET) {
      throw new ModelException("cannot upgrade model '" + graphName + "' to opset " + targetOpset
          + ": targets up to " + MAX_TARGET_OPSET + " are supported");
    }
    if (source > targetOpset) {
      throw new ModelException("cannot upgrade model '" + graphName + "' from opset " + source + " to "
          + targetOpset + ": the target is lower than the source");
    }
    if (source == targetOpset) {
      return model;
    }
    if (source < MIN_SOURCE_OPSET) {
      throw new ModelException("cannot upgrade model '" + graphName + "' from opset " + source + " to "
          + targetOpset + ": source opsets from " + MIN_SOURCE_OPSET + " are supported");
    }
    Upgrade up = new Upgrade(model.getGraph(), source, targetOpset, learnedRanks);
    GraphProto.Builder graph = model.getGraph().toBuilder().clearNode();
    for (NodeProto node : model.getGraph().getNodeList()) {
      NodeProto rewritten = OnnxModels.isDefaultDomain(node.getDomain()) ? up.rewrite(node) : node;
      graph.addAllNode(up.before);
      up.before.clear();
      graph.addNode(rewritten);
    }
    graph.addAllInitializer(up.newInitializers.values());
    ModelProto.Builder out = model.toBuilder().setGraph(graph);
    out.clearOpsetImport();
    for (OperatorSetIdProto id : model.getOpsetImportList()) {
      out.addOpsetImport(OnnxModels.isDefaultDomain(id.getDomain()) ? id.toBuilder().setVersion(targetOpset).build() : id);
    }
    out.setIrVersion(Math.max(model.getIrVersion(), minIrVersion(targetOpset)));
    LOG.info("upgraded graph '{}' from opset {} to {}: {} nodes rewritten, {} initializers added",
        graphName, source, targetOpset, up.rewritten, up.newInitializers.size());
    return out.build();
  }

  /**
   * The lowest ir_version whose opset range includes {@code opset} (ir 7: opsets 12-13, ir 8: 14-18,
   * ir 9: 19-20, ir 10: 21, which also brings the 4-bit element types).
   */
  static long minIrVersion(int opset) {
    return opset <= 13 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
  }

  /** State of one upgrade: the graph's names, shapes and the initializers created so far. */
  private static final class Upgrade {
    private final int source;
    private final int target;
    private final Set<String> usedNames = new HashSet<>();
    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final Map<String, TypeProto.Tensor> declared = new HashMap<>();
    private final Map<String, NodeProto> producers = new HashMap<>();
    private final Set<String> consumed = new HashSet<>();
    private final ShapeInference.Result shapes;
    private final Map<String, Integer> learnedRanks;
    /** In {@link OpsetUpgrader#ranksToLearn}: unknown ranks are collected instead of failing. */
    private boolean collectUnknownRanks;
    private final Set<String> unknownRanks = new java.util.LinkedHashSet<>();
    /** Nodes a rule adds before the node it returns (emptied by the caller after each node). */
    private final List<NodeProto> before = new ArrayList<>();
    /** Created initializers by content key, so identical constants are shared. */
    private final Map<String, TensorProto> newInitializers = new LinkedHashMap<>();
    private int rewritten;

    Upgrade(GraphProto graph, int source, int target, Map<String, Integer> learnedRanks) {
      this.source = source;
      this.target = target;
      this.shapes = ShapeInference.infer(graph, source);
      this.learnedRanks = learnedRanks;
      for (TensorProto t : graph.getInitializerList()) {
        initializers.put(t.getName(), t);
        usedNames.add(t.getName());
      }
      for (List<ValueInfoProto> infos : List.of(graph.getInputList(), graph.getOutputList(), graph.getValueInfoList())) {
        for (ValueInfoProto v : infos) {
          usedNames.add(v.getName());
          if (v.getType().hasTensorType()) {
            declared.put(v.getName(), v.getType().getTensorType());
          }
        }
      }
      for (ValueInfoProto v : graph.getOutputList()) {
        consumed.add(v.getName());
      }
      for (NodeProto n : graph.getNodeList()) {
        usedNames.add(n.getName());
        usedNames.addAll(n.getInputList());
        usedNames.addAll(n.getOutputList());
        consumed.addAll(n.getInputList());
        for (String o : n.getOutputList()) {
          producers.put(o, n);
        }
      }
    }

    NodeProto rewrite(NodeProto node) {
      String op = node.getOpType();
      for (AttributeProto a : node.getAttributeList()) {
        if (a.hasG() || a.getGraphsCount() > 0) {
          throw fail(node, "nodes with subgraphs are not supported");
        }
      }
      NodeProto out = switch (op) {
        case "Clip" -> clip(node);
        case "Slice" -> slice(node);
        case "Pad" -> pad(node);
        case "TopK" -> topK(node);
        case "Squeeze", "Unsqueeze", "ReduceSum" -> axesToInput(node);
        case "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
            "ReduceProd", "ReduceSumSquare" -> reduceAxes(node);
        case "GridSample" -> gridSample(node);
        case "GroupNormalization" -> groupNorm(node);
        case "Split" -> split(node);
        case "Upsample", "Resize" -> resize(node);
        case "Softmax", "LogSoftmax", "Hardmax" -> softmax(node);
        case "BatchNormalization" -> batchNorm(node);
        case "Dropout" -> dropout(node);
        case "Scatter" -> scatter(node);
        case "RoiAlign" -> roiAlign(node);
        default -> {
          Integer since = UNCHANGED_SINCE.get(op);
          if (since != null && source < since) {
            throw fail(node, "this operator is known unchanged from opset " + since + " only");
          }
          if (!UNCHANGED.contains(op) && since == null) {
            throw fail(node, "no upgrade rule for this operator");
          }
          yield node;
        }
      };
      if (out != node) {
        rewritten++;
      }
      return out;
    }

    // ---- rules

    private NodeProto clip(NodeProto node) {
      if (source >= 11 || target < 11) {
        return node;
      }
      int type = floatType(node, node.getInput(0));
      List<String> inputs = new ArrayList<>(List.of(node.getInput(0), "", ""));
      Optional<AttributeProto> min = attr(node, "min");
      Optional<AttributeProto> max = attr(node, "max");
      if (min.isPresent()) {
        inputs.set(1, constant(node, "min", scalar(type, min.get().getF())));
      }
      if (max.isPresent()) {
        inputs.set(2, constant(node, "max", scalar(type, max.get().getF())));
      }
      return withInputs(node, trimTrailingEmpty(inputs), "min", "max");
    }

    private NodeProto slice(NodeProto node) {
      if (source >= 10 || target < 10) {
        return node;
      }
      List<String> inputs = new ArrayList<>(List.of(node.getInput(0)));
      inputs.add(constant(node, "starts", int64s(ints(node, "starts", true))));
      inputs.add(constant(node, "ends", int64s(ints(node, "ends", true))));
      long[] axes = ints(node, "axes", false);
      if (axes != null) {
        inputs.add(constant(node, "axes", int64s(axes)));
      }
      return withInputs(node, inputs, "starts", "ends", "axes");
    }

    private NodeProto pad(NodeProto node) {
      if (source >= 11 || target < 11) {
        return node;
      }
      List<String> inputs = new ArrayList<>(List.of(node.getInput(0)));
      inputs.add(constant(node, "pads", int64s(ints(node, "pads", true))));
      Optional<AttributeProto> value = attr(node, "value");
      if (value.isPresent() && value.get().getF() != 0f) {
        inputs.add(constant(node, "value", scalar(floatType(node, node.getInput(0)), value.get().getF())));
      }
      return withInputs(node, inputs, "pads", "value");
    }

    private NodeProto topK(NodeProto node) {
      if (source >= 10 || target < 10) {
        return node;
      }
      long k = attr(node, "k").orElseThrow(() -> fail(node, "attribute 'k' is missing")).getI();
      return withInputs(node, List.of(node.getInput(0), constant(node, "k", int64s(new long[] {k}))), "k");
    }

    private NodeProto axesToInput(NodeProto node) {
      if (source >= 13 || target < 13) {
        return node;
      }
      long[] axes = ints(node, "axes", node.getOpType().equals("Unsqueeze"));
      List<String> inputs = new ArrayList<>(List.of(node.getInput(0)));
      if (axes != null) {
        inputs.add(constant(node, "axes", int64s(axes)));
      }
      return withInputs(node, inputs, "axes");
    }

    private NodeProto split(NodeProto node) {
      NodeProto out = splitTo13(node);
      if (source < 18 && target >= 18 && (out.getInputCount() < 2 || out.getInput(1).isEmpty())
          && attr(out, "num_outputs").isEmpty()) {
        // Split-18 needs the 'split' input or 'num_outputs'; without both it split into equal parts
        out = out.toBuilder().addAttribute(AttributeProto.newBuilder().setName("num_outputs")
            .setType(AttributeProto.AttributeType.INT).setI(out.getOutputCount())).build();
      }
      return out;
    }

    /** Reduce* other than ReduceSum: axes attribute → int64 input at 18; no axes still reduces all. */
    private NodeProto reduceAxes(NodeProto node) {
      if (source >= 18 || target < 18) {
        return node;
      }
      long[] axes = ints(node, "axes", false);
      if (axes == null) {
        return node;
      }
      return withInputs(node, List.of(node.getInput(0), constant(node, "axes", int64s(axes))), "axes");
    }

    /** GridSample (16) renames its interpolation modes at 20: bilinear → linear, bicubic → cubic. */
    private NodeProto gridSample(NodeProto node) {
      if (source < 16) {
        throw fail(node, "GridSample exists from opset 16");
      }
      if (source >= 20 || target < 20) {
        return node;
      }
      Optional<AttributeProto> mode = attr(node, "mode");
      if (mode.isEmpty()) {
        return node; // the default, bilinear, is 20's default linear
      }
      String m = mode.get().getS().toStringUtf8();
      String renamed = switch (m) {
        case "bilinear" -> "linear";
        case "bicubic" -> "cubic";
        case "nearest" -> "nearest";
        default -> throw fail(node, "mode '" + m + "' is not one of bilinear, bicubic, nearest");
      };
      return withoutAttributes(node, "mode").addAttribute(stringAttr("mode", renamed)).build();
    }

    /**
     * GroupNormalization-18 scales and shifts per group ({@code [G]}), 21 per channel ({@code [C]}); constant
     * scale and bias are repeated {@code C / G} times, which keeps the meaning. C comes from the declared
     * shape of the input.
     */
    private NodeProto groupNorm(NodeProto node) {
      if (source >= 21 || target < 21) {
        return node;
      }
      long groups = attr(node, "num_groups").orElseThrow(() -> fail(node, "attribute 'num_groups' is missing")).getI();
      TensorShape x = shapes.shape(node.getInput(0));
      if (x.rank() < 2 || !x.dim(1).known()) {
        throw fail(node, "its scale and bias become per channel at opset 21 and the channel count of '"
            + node.getInput(0) + "' is neither declared nor inferred (shape " + x + ")");
      }
      long channels = x.dim(1).value();
      if (groups <= 0 || channels % groups != 0) {
        throw fail(node, channels + " channels do not split into " + groups + " groups");
      }
      List<String> inputs = new ArrayList<>(List.of(node.getInput(0)));
      for (int k = 1; k <= 2; k++) {
        String name = node.getInput(k);
        TensorProto t = initializers.get(name);
        if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
          throw fail(node, "its scale and bias become per channel at opset 21 and input '" + name
              + "' is not a FLOAT initializer that could be repeated per channel");
        }
        float[] perGroup = Initializers.floats(t);
        if (perGroup.length != groups) {
          throw fail(node, "input '" + name + "' has " + perGroup.length + " values, expected num_groups = " + groups);
        }
        float[] perChannel = new float[(int) channels];
        for (int c = 0; c < channels; c++) {
          perChannel[c] = perGroup[(int) (c / (channels / groups))];
        }
        inputs.add(constant(node, k == 1 ? "scale" : "bias", floats(perChannel)));
      }
      return withInputs(node, inputs);
    }

    private NodeProto splitTo13(NodeProto node) {
      if (source >= 13 || target < 13) {
        return node;
      }
      long[] sizes = ints(node, "split", false);
      if (node.getInputCount() > 1) {
        throw fail(node, "a 'split' input before opset 13 is not supported");
      }
      List<String> inputs = new ArrayList<>(List.of(node.getInput(0)));
      if (sizes != null) {
        inputs.add(constant(node, "split", int64s(sizes)));
      }
      return withInputs(node, inputs, "split");
    }

    /** Upsample (7, 9) and Resize-10 use asymmetric coordinates and floor rounding; Resize-11 defaults differ. */
    private NodeProto resize(NodeProto node) {
      boolean upsample = node.getOpType().equals("Upsample");
      if (!upsample && (source >= 11 || target < 11)) {
        return node;
      }
      if (upsample && target < 10) {
        return node;
      }
      String mode = attr(node, "mode").map(a -> a.getS().toStringUtf8()).orElse("nearest");
      if (!mode.equals("nearest") && !mode.equals("linear")) {
        throw fail(node, "mode '" + mode + "' is not supported, expected 'nearest' or 'linear'");
      }
      String scales;
      if (node.getInputCount() >= 2) {
        scales = node.getInput(1);
      } else {
        Optional<AttributeProto> attr = attr(node, "scales");
        if (attr.isEmpty() || attr.get().getFloatsCount() == 0) {
          throw fail(node, "no 'scales' attribute or input");
        }
        float[] values = new float[attr.get().getFloatsCount()];
        for (int i = 0; i < values.length; i++) {
          values[i] = attr.get().getFloats(i);
        }
        scales = constant(node, "scales", floats(values));
      }
      NodeProto.Builder b = node.toBuilder().setOpType("Resize").clearAttribute().clearInput();
      b.addInput(node.getInput(0));
      if (target >= 11) {
        b.addInput(target >= 13 ? "" : constant(node, "roi", floats(new float[0])));
      }
      b.addInput(scales);
      b.addAttribute(stringAttr("mode", mode));
      if (target >= 11) {
        b.addAttribute(stringAttr("coordinate_transformation_mode", "asymmetric"));
        if (mode.equals("nearest")) {
          b.addAttribute(stringAttr("nearest_mode", "floor"));
        }
      }
      return b.build();
    }

    /**
     * Before 13 these operators flatten the input to 2-D at {@code axis}; from 13 they work along one
     * axis. On the last axis both agree and the node only gets an explicit axis; on another axis, or when
     * the rank is unknown, the old meaning is spelled out: {@code Reshape(op13(Flatten(x, axis), axis=1),
     * Shape(x))}, the operator keeping the node's name.
     */
    private NodeProto softmax(NodeProto node) {
      if (source >= 13 || target < 13) {
        return node;
      }
      long axis = attr(node, "axis").map(AttributeProto::getI).orElse(1L);
      int rank = rank(node, node.getInput(0));
      if (rank < 0 && collectUnknownRanks) {
        unknownRanks.add(node.getInput(0));
        return node;
      }
      long normalized = axis < 0 && rank >= 0 ? axis + rank : axis;
      if (rank >= 0 && normalized == rank - 1) {
        return withoutAttributes(node, "axis").addAttribute(intAttr("axis", normalized)).build();
      }
      LOG.info("node '{}' ({}): axis {} of {} is {}; written as Flatten, {} on axis 1, Reshape back", nodeName(node),
          node.getOpType(), axis, node.getInput(0), rank < 0 ? "an input of unknown rank" : "not the last of rank " + rank,
          node.getOpType());
      String x = node.getInput(0);
      String y = node.getOutput(0);
      String flat = freshName(y + "_2d_in");
      String flatOut = freshName(y + "_2d");
      String shape = freshName(y + "_shape");
      before.add(NodeProto.newBuilder().setOpType("Flatten").setName(freshName(nodeName(node) + "_flatten"))
          .addInput(x).addOutput(flat).addAttribute(intAttr("axis", axis)).build());
      before.add(withoutAttributes(node, "axis").clearInput().addInput(flat).clearOutput().addOutput(flatOut)
          .addAttribute(intAttr("axis", 1)).build());
      before.add(NodeProto.newBuilder().setOpType("Shape").setName(freshName(nodeName(node) + "_shape"))
          .addInput(x).addOutput(shape).build());
      return NodeProto.newBuilder().setOpType("Reshape").setName(freshName(nodeName(node) + "_reshape"))
          .addInput(flatOut).addInput(shape).addOutput(y).build();
    }

    private String freshName(String base) {
      String name = base;
      for (int i = 1; usedNames.contains(name); i++) {
        name = base + "_" + i;
      }
      usedNames.add(name);
      return name;
    }

    private static AttributeProto intAttr(String name, long value) {
      return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    /** Scatter (9, deprecated at 11) is ScatterElements-11 under its old name. */
    private NodeProto scatter(NodeProto node) {
      if (target < 11) {
        return node;
      }
      return node.toBuilder().setOpType("ScatterElements").build();
    }

    /** RoiAlign-16 defaults to half-pixel coordinates; 10's meaning is {@code output_half_pixel}. */
    private NodeProto roiAlign(NodeProto node) {
      if (source >= 16 || target < 16) {
        return node;
      }
      return node.toBuilder().addAttribute(stringAttr("coordinate_transformation_mode", "output_half_pixel")).build();
    }

    private NodeProto batchNorm(NodeProto node) {
      if (target >= 14 && source < 14 && node.getOutputList().stream().skip(1).anyMatch(s -> !s.isEmpty())) {
        throw fail(node, "training outputs (running mean/var) change meaning at opset 14, expected a single output");
      }
      Optional<AttributeProto> spatial = attr(node, "spatial");
      if (spatial.isPresent() && spatial.get().getI() != 1) {
        throw fail(node, "spatial=" + spatial.get().getI() + " was removed at opset 9, expected spatial=1");
      }
      if (attr(node, "spatial").isEmpty() && attr(node, "is_test").isEmpty() && attr(node, "consumed_inputs").isEmpty()) {
        return node;
      }
      return withoutAttributes(node, "spatial", "is_test", "consumed_inputs").build();
    }

    /** Dropout is the identity at inference; only its signature changes. */
    private NodeProto dropout(NodeProto node) {
      NodeProto out = node;
      if (node.getOutputCount() > 1 && !node.getOutput(1).isEmpty() && source < 10 && target >= 10) {
        if (consumed.contains(node.getOutput(1))) {
          throw fail(node, "its mask output '" + node.getOutput(1) + "' is used and changes type to bool at opset 10");
        }
        out = out.toBuilder().clearOutput().addOutput(node.getOutput(0)).build();
      }
      if (source < 12 && target >= 12) {
        Optional<AttributeProto> ratio = attr(out, "ratio");
        NodeProto.Builder b = withoutAttributes(out, "ratio", "is_test");
        if (ratio.isPresent()) {
          b.clearInput().addInput(out.getInput(0));
          b.addInput(constant(out, "ratio", scalar(TensorProto.DataType.FLOAT_VALUE, ratio.get().getF())));
        }
        out = b.build();
      }
      return out;
    }

    // ---- helpers

    private ModelException fail(NodeProto node, String why) {
      return new ModelException("cannot upgrade node '" + nodeName(node) + "' (" + node.getOpType() + ") from opset "
          + source + " to " + target + ": " + why);
    }

    private static String nodeName(NodeProto node) {
      if (!node.getName().isEmpty()) {
        return node.getName();
      }
      return node.getOutputCount() > 0 ? node.getOutput(0) : "";
    }

    private static Optional<AttributeProto> attr(NodeProto node, String name) {
      return NodeAttributes.find(node, name);
    }

    private long[] ints(NodeProto node, String name, boolean required) {
      Optional<AttributeProto> a = attr(node, name);
      if (a.isEmpty()) {
        if (required) {
          throw fail(node, "attribute '" + name + "' is missing");
        }
        return null;
      }
      return a.get().getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    private static NodeProto.Builder withoutAttributes(NodeProto node, String... names) {
      Set<String> drop = Set.of(names);
      NodeProto.Builder b = node.toBuilder().clearAttribute();
      for (AttributeProto a : node.getAttributeList()) {
        if (!drop.contains(a.getName())) {
          b.addAttribute(a);
        }
      }
      return b;
    }

    private static NodeProto withInputs(NodeProto node, List<String> inputs, String... removedAttributes) {
      return withoutAttributes(node, removedAttributes).clearInput().addAllInput(inputs).build();
    }

    private static List<String> trimTrailingEmpty(List<String> inputs) {
      int n = inputs.size();
      while (n > 1 && inputs.get(n - 1).isEmpty()) {
        n--;
      }
      return inputs.subList(0, n);
    }

    private static AttributeProto stringAttr(String name, String value) {
      return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
          .setS(ByteString.copyFromUtf8(value)).build();
    }

    /** FLOAT or DOUBLE: the element type of {@code tensor} when declared, FLOAT when unknown. */
    private int floatType(NodeProto node, String tensor) {
      int type = elemType(tensor);
      if (type == TensorProto.DataType.UNDEFINED_VALUE) {
        return TensorProto.DataType.FLOAT_VALUE;
      }
      if (type != TensorProto.DataType.FLOAT_VALUE && type != TensorProto.DataType.DOUBLE_VALUE) {
        throw fail(node, "input '" + tensor + "' has element type " + TensorProto.DataType.forNumber(type)
            + ", expected FLOAT or DOUBLE");
      }
      return type;
    }

    private int elemType(String tensor) {
      TensorProto init = initializers.get(tensor);
      if (init != null) {
        return init.getDataType();
      }
      TypeProto.Tensor t = declared.get(tensor);
      return t == null ? TensorProto.DataType.UNDEFINED_VALUE : t.getElemType();
    }

    /** Adds (or reuses an identical) initializer named after the node and returns its name. */
    private String constant(NodeProto node, String role, TensorProto.Builder value) {
      String key = value.getDataType() + value.getDimsList().toString()
          + Base64.getEncoder().encodeToString(value.getRawData().toByteArray());
      TensorProto existing = newInitializers.get(key);
      if (existing != null) {
        return existing.getName();
      }
      String name = freshName(nodeName(node) + "_" + role);
      newInitializers.put(key, value.setName(name).build());
      return name;
    }

    private static TensorProto.Builder scalar(int type, float value) {
      TensorProto.Builder t = TensorProto.newBuilder().setDataType(type);
      if (type == TensorProto.DataType.DOUBLE_VALUE) {
        return t.setRawData(ByteString.copyFrom(le(8).putDouble(value).flip()));
      }
      return t.setRawData(ByteString.copyFrom(le(4).putFloat(value).flip()));
    }

    private static TensorProto.Builder floats(float[] values) {
      ByteBuffer b = le(4 * values.length);
      for (float v : values) {
        b.putFloat(v);
      }
      return TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(values.length)
          .setRawData(ByteString.copyFrom(b.flip()));
    }

    private static TensorProto.Builder int64s(long[] values) {
      ByteBuffer b = le(8 * values.length);
      for (long v : values) {
        b.putLong(v);
      }
      return TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64_VALUE).addDims(values.length)
          .setRawData(ByteString.copyFrom(b.flip()));
    }

    private static ByteBuffer le(int bytes) {
      return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ---- ranks

    /**
     * The rank of {@code tensor} (an input of {@code node}) from shape inference, else from the learned
     * ranks (logged), else -1.
     */
    private int rank(NodeProto node, String tensor) {
      int inferred = shapes.rank(tensor);
      if (inferred >= 0) {
        return inferred;
      }
      Integer learned = learnedRanks.get(tensor);
      if (learned == null) {
        return -1;
      }
      LOG.info("node '{}' ({}): the rank of '{}' is {}, learned from a run of the model (shape inference could not"
          + " decide it)", nodeName(node), node.getOpType(), tensor, learned);
      return learned;
    }
  }
}
