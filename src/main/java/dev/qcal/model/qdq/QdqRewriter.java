package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.ExternalDataFile;
import dev.qcal.model.onnx.GraphNames;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;
import dev.qcal.model.plan.QdqGraph;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.quant.StreamedWeight;
import dev.qcal.quant.WeightSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Rewrites a prepared model into QDQ form from a {@link CalibrationPlan} and calibrated activation
 * parameters (after ORT's {@code qdq_quantizer.py}).
 *
 * <p>Layout, for activation {@code T}: {@code QuantizeLinear(T, sK, zK) -> qK} and
 * {@code DequantizeLinear(qK, sK, zK) -> dK}, with {@code K} a counter in plan order; every other reader of
 * {@code T} reads {@code dK}; a graph output {@code T} that no node reads is either float or written by
 * the DQ (see {@link Outputs}). Tensors whose params
 * are derived from another's (see {@link CalibrationPlan#derived()}) reuse its {@code sK}/{@code zK} when
 * shared. Weight {@code W}: symmetric per-channel initializers {@code qK} (int8), {@code sK[C]},
 * {@code zK[C]} (left out for Conv weights, where it is all 0, the default) and
 * {@code DequantizeLinear(axis) -> dK}; per tensor ({@link WeightSpec#perChannel()} false) scalars and no
 * axis; blocked ({@link WeightSpec#blockSize()} B, MatMul/Gemm only) {@code sK}/{@code zK} of shape
 * {@code [ceil(K/B), N]} and {@code DequantizeLinear(axis = K axis, block_size = B)}. 4-bit weights
 * (MatMul, Gemm, Gather) are packed two per byte; Conv and ConvTranspose weights stay int8, as ONNX Runtime
 * has no 4-bit convolution kernels (recorded in {@link Result#notes()}). Bias {@code B}: int32 {@code qK} with scale
 * {@code inputScale * W_scale[c]}, axis 0 and no zero point (0 by default). Float weights no node reads
 * any more are removed. The short generated names keep the file small (on the example they were a third
 * of it); the inserted nodes have no names. A name that already exists gets a numeric suffix.
 *
 * <p>Weights kept in external data (see {@link ExternalData}) are quantized one tensor at a time and in
 * chunks ({@link StreamedWeight}: ranges in a first pass over the file, values in a second), and their
 * quantized values are written to a new data file in the model's directory, which the rewritten model
 * references; {@link OnnxModels#save(ModelProto, Path, Path)} then writes it with its own data file.
 */
public final class QdqRewriter {

  /**
   * The rewritten model; the weight and bias parameters by entry name (the initializer's name, or for
   * a further quantized copy of an initializer that several nodes read, {@code initializer@node}), with
   * {@code weightSources} giving each entry's initializer in the prepared model; the tensors left in
   * float, each with its reason (the plan's own skips included); and the parameters of the
   * {@linkplain CalibrationPlan#derived() derived} tensors that were Q/DQ'd, in plan order.
   */
  public record Result(ModelProto model, Map<String, QuantParams> weightParams, Map<String, String> weightSources,
      List<String> skipped, Map<String, QuantParams> derivedParams, List<String> notes) {
    public Result {
      Objects.requireNonNull(model, "model");
      weightParams = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(weightParams));
      weightSources = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(weightSources));
      skipped = List.copyOf(skipped);
      derivedParams = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(derivedParams));
      notes = List.copyOf(notes);
    }
  }

  /** Op types whose constant weights may be 4-bit; the others (Conv, ConvTranspose) keep int8. */
  private static final Set<String> FOUR_BIT_OPS = Set.of("MatMul", "Gemm", "Gather");

  /** Op types whose 2-D weights may be quantized in blocks along their reduction axis. */
  private static final Set<String> BLOCK_OPS = Set.of("MatMul", "Gemm");

  /**
   * What a planned activation that is a graph output and that no node reads gets. Measured with
   * {@code scripts/bench graph-outputs} (ONNX Runtime CPU, all optimizations): a last Conv with a float
   * output stays a float Conv (DQ'd weights), 2.1 to 3.3 times slower (three runs) than the QLinearConv
   * that Q/DQ on its output allows, for 1.7 dB more SQNR; a last Gemm or MatMul is fused either way (QGemm
   * with a float output, MatMulIntegerToFloat), at the same speed and 1.7 to 3.7 dB more SQNR kept float.
   */
  public enum Outputs {
    /** Q/DQ, the DequantizeLinear writing the output's name (ONNX Runtime's quantizer does this). */
    QUANTIZED,
    /** The producer's float output, no Q/DQ. */
    FLOAT,
    /** FLOAT when only Gemm/MatMul rules quantize the tensor, else QUANTIZED: the better of both measured. */
    AUTO
  }

  /** Ops whose integer kernels in ONNX Runtime also have a float output: their graph outputs stay float. */
  private static final Set<String> FLOAT_OUTPUT_OPS = Set.of("Gemm", "MatMul");

  private static final int MIN_OPSET = 13;
  private static final int MIN_OPSET_16BIT = 21;
  private static final int MIN_OPSET_4BIT = 21;

  private final QdqGraph g;
  private final CalibrationPlan plan;
  private final Set<String> planned;
  private final Map<String, QuantParams> activationParams;
  private final WeightSpec weightSpec;
  private final Path modelDir;
  private ExternalDataFile streamed;
  private final GraphNames names;
  private final List<TensorProto> newInitializers = new ArrayList<>();
  private final List<NodeProto> head = new ArrayList<>();
  private final Map<String, List<NodeProto>> afterTensor = new HashMap<>();
  private final Map<String, String> activationRename = new HashMap<>();
  /** Graph outputs whose producer now writes another name, read by the Q whose DQ writes the output. */
  private final Map<String, String> outputRename = new HashMap<>();
  private final Outputs outputs;
  private final Map<String, String[]> paramNames = new HashMap<>();
  /** Per weight DequantizeLinear output: its scale and zero point initializers. */
  private final Map<String, String[]> dqParams = new HashMap<>();
  private int counter;
  private final Map<NodeProto, Map<Integer, String>> inputEdits = new HashMap<>();
  /** Per initializer and quantization scheme: the params before any widening for a bias. */
  private final Map<String, QuantParams> baseParams = new HashMap<>();
  private final Map<String, StreamedWeight> streamedWeights = new HashMap<>();
  /** Per initializer and scheme: the DequantizeLinear output of each distinct set of params made. */
  private final Map<String, Map<QuantParams, String>> copies = new HashMap<>();
  private final Map<String, QuantParams> weightParams = new LinkedHashMap<>();
  private final Map<String, String> weightSources = new LinkedHashMap<>();
  private final Map<String, QuantParams> derivedParams = new LinkedHashMap<>();
  private final Set<String> replacedInitializers = new HashSet<>();
  private final List<String> skipped = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  private QdqRewriter(
      ModelProto model, Path modelDir, CalibrationPlan plan, Map<String, QuantParams> activationParams,
      WeightSpec weightSpec, Outputs outputs) {
    this.g = new QdqGraph(model.getGraph());
    this.outputs = outputs;
    this.modelDir = modelDir;
    this.plan = plan;
    this.planned = new HashSet<>(plan.activations());
    this.activationParams = new HashMap<>(activationParams);
    this.weightSpec = weightSpec;
    this.names = new GraphNames(model.getGraph());
  }

  /**
   * Inserts Q/DQ for every planned activation (all must have params) and quantizes the planned weights
   * to {@code weightType} per channel.
   *
   * @throws IllegalArgumentException when the default-domain opset is below 13, a planned activation has
   *     no params, or the plan does not match the model
   */
  public static Result rewrite(
      ModelProto prepared,
      CalibrationPlan plan,
      Map<String, QuantParams> activationParams,
      QuantType weightType) {
    Objects.requireNonNull(weightType, "weightType");
    return rewrite(prepared, null, plan, activationParams, new WeightSpec(weightType, true, 0));
  }

  /**
   * As {@link #rewrite(ModelProto, CalibrationPlan, Map, QuantType)} with a full weight scheme (type, per
   * channel or per tensor, block size).
   *
   * @throws IllegalArgumentException also when 4-bit or blocked weights meet an opset below 21
   */
  public static Result rewrite(
      ModelProto prepared,
      CalibrationPlan plan,
      Map<String, QuantParams> activationParams,
      WeightSpec weightSpec) {
    return rewrite(prepared, null, plan, activationParams, weightSpec);
  }

  /**
   * As {@link #rewrite(ModelProto, CalibrationPlan, Map, QuantType)} for a model whose external data
   * locations are relative to {@code modelDir} (null when it has none); quantized external weights go to
   * a new data file there.
   */
  public static Result rewrite(
      ModelProto prepared,
      Path modelDir,
      CalibrationPlan plan,
      Map<String, QuantParams> activationParams,
      QuantType weightType) {
    Objects.requireNonNull(weightType, "weightType");
    return rewrite(prepared, modelDir, plan, activationParams, new WeightSpec(weightType, true, 0));
  }

  /**
   * The full form: a weight scheme, and the directory {@code modelDir} the model's external data locations
   * are relative to (null when it has none). External weights are quantized in chunks in any scheme
   * ({@link StreamedWeight}) and written to a new data file in {@code modelDir}.
   */
  public static Result rewrite(
      ModelProto prepared,
      Path modelDir,
      CalibrationPlan plan,
      Map<String, QuantParams> activationParams,
      WeightSpec weightSpec) {
    return rewrite(prepared, modelDir, plan, activationParams, weightSpec, Outputs.AUTO);
  }

  /**
   * As above, choosing what happens to a planned activation that is a graph output and that no node
   * reads ({@link Outputs}): quantized, it gets a Q/DQ pair whose DequantizeLinear writes the output's
   * name (its producer writes {@code NAME_QuantizeInput}, as in ONNX Runtime's quantizer), so the model's
   * interface is unchanged and ONNX Runtime can fuse the producer into an integer kernel; float, it stays
   * the producer's output (noted in {@link Result#skipped()}). Either way no Q/DQ pair is left that
   * nothing reads.
   */
  public static Result rewrite(
      ModelProto prepared,
      Path modelDir,
      CalibrationPlan plan,
      Map<String, QuantParams> activationParams,
      WeightSpec weightSpec,
      Outputs outputs) {
    Objects.requireNonNull(outputs, "outputs");
    Objects.requireNonNull(prepared, "prepared");
    Objects.requireNonNull(plan, "plan");
    Objects.requireNonNull(activationParams, "activationParams");
    Objects.requireNonNull(weightSpec, "weightSpec");
    int opset = defaultOpset(prepared);
    if (opset < MIN_OPSET) {
      throw new IllegalArgumentException("Cannot insert Q/DQ: the model imports default-domain opset " + opset
          + " but per-channel DequantizeLinear needs opset >= " + MIN_OPSET + "; upgrade the model first");
    }
    checkType("weights", weightSpec.type(), opset);
    if (weightSpec.blockSize() > 0 && opset < MIN_OPSET_4BIT) {
      throw new IllegalArgumentException("Blocked weights (block_size " + weightSpec.blockSize()
          + ") need default-domain opset >= " + MIN_OPSET_4BIT + ", the model has opset " + opset);
    }
    QdqRewriter r = new QdqRewriter(prepared, modelDir, plan, activationParams, weightSpec, outputs);
    try {
      return r.run(prepared);
    } finally {
      if (r.streamed != null) {
        r.streamed.close();
      }
    }
  }

  private Result run(ModelProto model) {
    skipped.addAll(plan.skipped());
    int opset = defaultOpset(model);
    for (String t : plan.activations()) {
      QuantParams p = activationParams.get(t);
      if (p == null) {
        throw new IllegalArgumentException("No quantization params for activation '" + t
            + "' in the calibration plan; calibrate it or drop it from the plan");
      }
      if (!g.isFloatActivation(t)) {
        throw new IllegalArgumentException("Planned activation '" + t
            + "' is not a float graph input or node output of this model; was the plan made from another model?");
      }
      checkType("activation '" + t + "'", p.type(), opset);
      if (p.type().bits() == 4) {
        throw new IllegalArgumentException("Cannot quantize activation '" + t + "' to " + p.type().id()
            + ": 4-bit types are for weights only");
      }
      quantizeActivation(t, p, null);
    }
    for (Map.Entry<String, CalibrationPlan.Derived> e : plan.derived().entrySet()) {
      String t = e.getKey();
      CalibrationPlan.Derived d = e.getValue();
      QuantParams source = activationParams.get(d.source());
      if (source == null || !planned.contains(d.source())) {
        skipped.add("'" + t + "': left in float because '" + d.source() + "', whose params it takes, is not quantized");
        continue;
      }
      if (source.perChannel() && !d.fixed()) {
        skipped.add("'" + t + "': left in float because '" + d.source()
            + "' is quantized per channel and the op may move that axis");
        continue;
      }
      QuantParams p = d.fixed() ? LinearQuant.forRange(d.min(), d.max(), source.type(), false) : source;
      activationParams.put(t, p);
      derivedParams.put(t, p);
      planned.add(t);
      quantizeActivation(t, p, d.fixed() ? null : paramNames.get(d.source()));
    }
    for (String t : new java.util.TreeSet<>(activationParams.keySet())) {
      if (!planned.contains(t) && !plan.derived().containsKey(t)) {
        skipped.add("'" + t + "': params given but the tensor is not in the plan; ignored");
      }
    }
    for (WeightRef ref : plan.weights()) {
      quantizeWeight(ref);
    }
    return new Result(model.toBuilder().setGraph(buildGraph()).build(), weightParams, weightSources, skipped,
        derivedParams, notes);
  }

  /** Q/DQ pair for {@code t}; {@code shared} names the scale and zero point to reuse, or null for new ones. */
  private void quantizeActivation(String t, QuantParams p, String[] shared) {
    boolean output = g.isGraphOutput(t) && g.producer(t) != null;
    boolean quantizeOutput = output && quantizesOutput(t);
    if (output && !quantizeOutput && g.consumers(t).isEmpty()) {
      skipped.add("'" + t + "': graph output that no node reads, left in float"
          + (outputs == Outputs.AUTO ? ": ONNX Runtime's integer Gemm/MatMul kernels have float outputs" : ""));
      return;
    }
    long[] dims = p.perChannel() ? new long[] {p.channels()} : new long[0];
    String scale;
    String zp;
    if (shared != null) {
      scale = shared[0];
      zp = shared[1];
    } else {
      scale = names.tensor("s" + counter);
      zp = names.tensor("z" + counter);
      newInitializers.add(QdqTensors.floatTensor(scale, dims, p.scale()));
      newInitializers.add(QdqTensors.intTensor(zp, p.type(), dims, p.zeroPoint()));
    }
    paramNames.put(t, new String[] {scale, zp});
    String q = names.tensor("q" + counter);
    String dq = names.tensor("d" + counter);
    counter++;
    String in = t;
    if (quantizeOutput) {
      // the DQ writes the graph output, so its readers and the model's interface keep the name
      in = names.tensor(t + "_QuantizeInput");
      dq = t;
      outputRename.put(t, in);
    }
    List<NodeProto> pair = List.of(
        qdqNode("QuantizeLinear", in, scale, zp, q, p.axis()),
        qdqNode("DequantizeLinear", q, scale, zp, dq, p.axis()));
    if (g.producer(t) == null) {
      head.addAll(pair);
    } else {
      afterTensor.put(t, pair);
    }
    if (!dq.equals(t)) {
      activationRename.put(t, dq);
    }
  }

  /** Whether graph output {@code t} gets Q/DQ ({@link Outputs}). */
  private boolean quantizesOutput(String t) {
    if (outputs != Outputs.AUTO) {
      return outputs == Outputs.QUANTIZED;
    }
    Set<String> owners = plan.owners(t);
    return owners.isEmpty() || !owners.stream().allMatch(id -> {
      NodeProto n = g.node(id);
      return n != null && FLOAT_OUTPUT_OPS.contains(n.getOpType());
    });
  }

  /**
   * Quantizes the weight of {@code ref} and its bias. An initializer several nodes read is quantized once
   * per distinct scheme (axis, type, block size, zero point kept) and params: readers that agree share
   * one DequantizeLinear, the others get their own copy.
   */
  private void quantizeWeight(WeightRef ref) {
    NodeProto node = g.node(ref.node());
    if (node == null) {
      throw new IllegalArgumentException("Plan names node '" + ref.node() + "' (weight '" + ref.initializer()
          + "') but the model has no such node; was the plan made from another model?");
    }
    // the last match: a node reading the initializer twice (MatMul(W, W)) has its weight at input 1
    int wIndex = node.getInputList().lastIndexOf(ref.initializer());
    TensorProto w = g.initializer(ref.initializer());
    if (wIndex < 0 || w == null) {
      throw new IllegalArgumentException("Node '" + ref.node() + "' does not read initializer '"
          + ref.initializer() + "'; was the plan made from another model?");
    }
    String op = node.getOpType();
    long[] dims = QdqTensors.dims(w);
    QuantType type = weightSpec.type();
    String what = "weight '" + ref.initializer() + "' of " + op + " '" + ref.node() + "'";
    if (type.bits() == 4 && !FOUR_BIT_OPS.contains(op)) {
      type = QuantType.INT8;
      notes.add(what + ": int8, not " + weightSpec.type().id() + ": ONNX Runtime has no 4-bit " + op + " kernels");
    }
    int block = 0;
    if (weightSpec.blockSize() > 0) {
      if (BLOCK_OPS.contains(op) && dims.length == 2) {
        block = weightSpec.blockSize();
      } else {
        notes.add(what + ": " + (weightSpec.perChannel() ? "per channel" : "per tensor")
            + ", not in blocks: blocks apply to 2-D MatMul/Gemm weights only");
      }
    }
    // the block axis is the reduction (K) axis: the other axis of a 2-D weight whose channel axis is N
    int axis = block > 0 ? 1 - ref.axis() : ref.axis();
    String gathered = gatherSharingOutput(node, w, type, block);
    if (gathered != null) {
      type = QuantType.UINT8;
    }
    boolean perTensor = !weightSpec.perChannel() && block == 0 || gathered != null;
    boolean conv = op.equals("Conv");
    String key = ref.initializer() + "@" + (perTensor ? "tensor" : axis) + "@" + type.id() + "@" + block
        + (conv ? "@conv" : "");
    QuantParams base = baseParams.get(key);
    if (base == null) {
      base = gathered != null ? tableParams(w) : weightParams(ref, w, dims, perTensor ? null : axis, block, type, key);
      baseParams.put(key, base);
    }
    QuantParams wp = ref.biasInitializer() != null && !base.blocked() ? widenForBias(ref, what, base) : base;
    Map<QuantParams, String> made = copies.computeIfAbsent(key, k -> new HashMap<>());
    String dq = made.get(wp);
    if (dq == null) {
      Function<String, TensorProto> quantized;
      QuantParams p = wp;
      if (ExternalData.isExternal(w)) {
        StreamedWeight sw = streamedWeights.get(key);
        quantized = name -> streamQuantized(name, w, sw, p);
      } else {
        long[] q = LinearQuant.quantizeAll(QdqTensors.floats(w), dims, wp);
        QuantType qt = type;
        quantized = name -> QdqTensors.intTensor(name, qt, dims, q);
      }
      // ORT fuses Conv without a weight zero point but its QGemm fusion fails without one ("zero point
      // and scale of input b should have same shape size"), so only Conv weights leave out all-zero ones.
      boolean keepZeroPoint = !conv || !allZero(wp.zeroPoint());
      dq = dequantized(dims, quantized, wp, type, keepZeroPoint);
      made.put(wp, dq);
      record(ref.initializer(), ref.node(), what, wp);
    }
    edit(node, wIndex, dq);
    if (ref.biasInitializer() != null) {
      quantizeBias(ref, node, wp);
    }
    if (gathered != null) {
      activationParams.put(gathered, wp);
      planned.add(gathered);
      quantizeActivation(gathered, wp, dqParams.get(dq));
    }
  }

  /**
   * The output of {@code node} when it is a Gather whose table can be stored as uint8 per tensor (its own
   * min/max range, asymmetric) with the output Q/DQ'd on the table's scale and zero point, as ORT's quantizer
   * does (it quantizes the table as an activation): ONNX Runtime then drops the Q/DQ pair around the Gather
   * and gathers 8-bit rows, dequantizing only those. With one scale per row, or an int8 table (whose
   * output pair ORT converts to uint8, so the pair no longer matches), it dequantizes the whole table on
   * every run. Null when the weight type is not 8-bit (no 4-bit activations), the table is in external data,
   * or the output is not a float activation or is already planned (calibrated by a consumer's rule): those
   * keep one scale per row and a float output.
   */
  private String gatherSharingOutput(NodeProto node, TensorProto w, QuantType type, int block) {
    if (!node.getOpType().equals("Gather") || type.bits() != 8 || block > 0 || node.getOutputCount() < 1
        || ExternalData.isExternal(w)) {
      return null;
    }
    String out = node.getOutput(0);
    return g.isFloatActivation(out) && !planned.contains(out) && !plan.derived().containsKey(out) ? out : null;
  }

  /** uint8 asymmetric per-tensor params covering a table's values (and 0). */
  private static QuantParams tableParams(TensorProto w) {
    float lo = 0;
    float hi = 0;
    for (float v : QdqTensors.floats(w)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return LinearQuant.forRange(lo, hi, QuantType.UINT8, false);
  }

  /**
   * The params of weight {@code w} in one scheme; an external weight is streamed in chunks for its
   * ranges, and its {@link StreamedWeight} kept under {@code key} for writing the values.
   */
  private QuantParams weightParams(WeightRef ref, TensorProto w, long[] dims, Integer axis, int block, QuantType type,
      String key) {
    try {
      if (ExternalData.isExternal(w)) {
        // streamed in chunks: a first pass for the ranges, a second writes the values to the data file
        StreamedWeight sw = new StreamedWeight(dims, axis, block);
        Initializers.forEachChunk(w, modelDir, Initializers.CHUNK_FLOATS, sw::observe);
        QuantParams p = sw.params(type);
        StreamedWeight.byteLength(type, Initializers.count(w));
        streamedWeights.put(key, sw);
        return p;
      }
      float[] data = QdqTensors.floats(w);
      return block > 0 ? LinearQuant.blockWeightParams(data, dims, axis, block, type)
          : axis == null ? LinearQuant.weightParamsPerTensor(data, type)
          : LinearQuant.weightParams(data, dims, axis, type);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "Cannot quantize weight '" + ref.initializer() + "' of node '" + ref.node() + "': " + e.getMessage(), e);
    }
  }

  /**
   * Records the params of a quantized copy of {@code initializer}: under its own name for the first copy,
   * else as {@code initializer@node} (noted, with the reason: its params differ from the other readers').
   */
  private void record(String initializer, String node, String what, QuantParams p) {
    String entry = initializer;
    if (weightParams.containsKey(initializer)) {
      entry = initializer + "@" + node;
      for (int k = 2; weightParams.containsKey(entry) || g.isInitializer(entry); k++) {
        entry = initializer + "@" + node + "#" + k;
      }
      notes.add(what + ": read by several nodes whose quantization differs (axis, type or scales);"
          + " this node reads its own quantized copy, '" + entry + "' in qparams.json");
    }
    weightParams.put(entry, p);
    weightSources.put(entry, initializer);
    replacedInitializers.add(initializer);
  }

  /**
   * Raises weight scales whose int32 bias would overflow: the bias scale is {@code input scale x weight
   * scale[c]}, and with 16-bit activations (scales ~256 times smaller) {@code b[c] / scale} can pass
   * {@code 2^31 - 1}. Each such channel's weight scale becomes the smallest float that fits (ONNX Runtime's
   * quantizer adjusts weight scales for int32 biases the same way); noted in {@link Result#notes()}.
   */
  private QuantParams widenForBias(WeightRef ref, String what, QuantParams wp) {
    String act = ref.activationInput();
    QuantParams ap = act == null || !planned.contains(act) ? null : activationParams.get(act);
    TensorProto bt = g.initializer(ref.biasInitializer());
    if (ap == null || ap.perChannel() || bt == null || bt.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
      return wp;
    }
    float[] bias = Initializers.floats(bt, modelDir);
    if (wp.perChannel() && bias.length != wp.channels()) {
      return wp; // quantizeBias names the mismatch
    }
    float in = ap.scale(0);
    float[] scale = wp.scale();
    int raised = 0;
    for (int c = 0; c < bias.length; c++) {
      int k = wp.perChannel() ? c : 0;
      double need = Math.abs((double) bias[c]) / Integer.MAX_VALUE;
      if (!(in * scale[k] >= need)) {
        float sw = (float) (need / in);
        while (!(in * sw >= need) || Math.abs((double) bias[c] / (in * sw)) > Integer.MAX_VALUE) {
          sw = Math.nextUp(sw);
        }
        scale[k] = sw;
        raised++;
      }
    }
    if (raised == 0) {
      return wp;
    }
    notes.add(what + ": " + raised + " weight scale(s) raised so that bias '" + ref.biasInitializer()
        + "' fits int32 with input scale " + in);
    return new QuantParams(scale, wp.zeroPoint(), wp.type(), wp.axis(), wp.blockSize());
  }

  private void quantizeBias(WeightRef ref, NodeProto node, QuantParams wp) {
    String b = ref.biasInitializer();
    String act = ref.activationInput();
    QuantParams ap = act == null || !planned.contains(act) ? null : activationParams.get(act);
    if (ap == null) {
      skipped.add("'" + b + "': bias of '" + ref.node() + "' left in float because its activation input "
          + (act == null ? "is not planned" : "'" + act + "' is not quantized"));
      return;
    }
    if (ap.perChannel()) {
      skipped.add("'" + b + "': bias of '" + ref.node() + "' left in float because activation '" + act
          + "' is quantized per channel");
      return;
    }
    if (wp.blocked()) {
      skipped.add("'" + b + "': bias of '" + ref.node() + "' left in float because weight '" + ref.initializer()
          + "' is quantized in blocks (no single scale per output channel)");
      return;
    }
    int bIndex = node.getInputList().lastIndexOf(b);
    TensorProto bt = g.initializer(b);
    if (bIndex < 0 || bt == null) {
      throw new IllegalArgumentException("Node '" + ref.node() + "' does not read bias initializer '" + b + "'");
    }
    float[] bias = Initializers.floats(bt, modelDir);
    if (wp.perChannel() && bias.length != wp.channels()) {
      throw new IllegalArgumentException("Bias '" + b + "' of node '" + ref.node() + "' has " + bias.length
          + " values but weight '" + ref.initializer() + "' has " + wp.channels() + " channels");
    }
    // a bias shared by nodes whose input x weight scales differ gets one int32 copy per scale
    QuantParams bp = LinearQuant.biasParams(ap.scale(0), wp);
    Map<QuantParams, String> made = copies.computeIfAbsent(b + "@bias", k -> new HashMap<>());
    String dq = made.get(bp);
    if (dq == null) {
      int[] q = LinearQuant.quantizeBias(bias, bp);
      long[] ql = new long[q.length];
      for (int i = 0; i < q.length; i++) {
        ql[i] = q[i];
      }
      dq = dequantized(QdqTensors.dims(bt), ql, bp, QuantType.INT32, false);
      made.put(bp, dq);
      record(b, ref.node(), "bias '" + b + "' of " + node.getOpType() + " '" + ref.node() + "'", bp);
    }
    edit(node, bIndex, dq);
  }

  /**
   * Adds initializers {@code qK}, {@code sK} and, when {@code keepZeroPoint}, {@code zK}, and a
   * DequantizeLinear; returns its output name. A left-out zero point is 0 (ONNX's default).
   */
  private String dequantized(long[] dims, long[] values, QuantParams p, QuantType type, boolean keepZeroPoint) {
    return dequantized(dims, name -> QdqTensors.intTensor(name, type, dims, values), p, type, keepZeroPoint);
  }

  /** As above, the quantized initializer (of shape {@code dims}) made by {@code quantized} from its name. */
  private String dequantized(long[] dims,
      Function<String, TensorProto> quantized, QuantParams p, QuantType type, boolean keepZeroPoint) {
    long[] pdims = p.blocked() ? LinearQuant.blockParamDims(dims, p.axis(), p.blockSize())
        : p.perChannel() ? new long[] {p.channels()} : new long[0];
    String q = names.tensor("q" + counter);
    String scale = names.tensor("s" + counter);
    String zp = keepZeroPoint ? names.tensor("z" + counter) : "";
    String dq = names.tensor("d" + counter);
    counter++;
    newInitializers.add(quantized.apply(q));
    newInitializers.add(QdqTensors.floatTensor(scale, pdims, p.scale()));
    if (!zp.isEmpty()) {
      newInitializers.add(QdqTensors.intTensor(zp, type, pdims, p.zeroPoint()));
    }
    NodeProto dqNode = qdqNode("DequantizeLinear", q, scale, zp, dq, p.axis());
    if (p.blocked()) {
      dqNode = dqNode.toBuilder().addAttribute(AttributeProto.newBuilder()
          .setName("block_size").setType(AttributeProto.AttributeType.INT).setI(p.blockSize())).build();
    }
    head.add(dqNode);
    dqParams.put(dq, new String[] {scale, zp});
    return dq;
  }

  /**
   * The quantized values of external weight {@code w}, computed chunk by chunk in a second pass over its
   * file and appended to this rewrite's data file in the model's directory.
   */
  private TensorProto streamQuantized(String name, TensorProto w, StreamedWeight sw, QuantParams p) {
    if (streamed == null) {
      String location = "qcal-quantized-" + java.util.UUID.randomUUID() + ".data";
      streamed = new ExternalDataFile(modelDir.resolve(location), location);
    }
    long length = StreamedWeight.byteLength(p.type(), Initializers.count(w));
    long offset = streamed.begin(length);
    ByteBuffer out = ByteBuffer.allocateDirect(StreamedWeight.maxChunkBytes(p.type(), Initializers.CHUNK_FLOATS))
        .order(ByteOrder.LITTLE_ENDIAN);
    Initializers.forEachChunk(w, modelDir, Initializers.CHUNK_FLOATS, (first, chunk) -> {
      out.clear();
      sw.quantize(first, chunk, p, out);
      streamed.write(out.flip());
    });
    out.clear();
    sw.finish(out);
    if (out.position() > 0) {
      streamed.write(out.flip());
    }
    TensorProto header = TensorProto.newBuilder().setName(name).setDataType(p.type().onnxElemType())
        .addAllDims(w.getDimsList()).build();
    return streamed.reference(header, offset, length);
  }

  private static boolean allZero(long[] v) {
    for (long x : v) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private void edit(NodeProto node, int index, String newInput) {
    inputEdits.computeIfAbsent(node, k -> new HashMap<>()).put(index, newInput);
  }

  private GraphProto buildGraph() {
    GraphProto.Builder gb = g.graph().toBuilder().clearNode();
    gb.addAllNode(head);
    for (NodeProto n : g.nodes()) {
      Map<Integer, String> edits = inputEdits.getOrDefault(n, Map.of());
      NodeProto.Builder nb = n.toBuilder();
      for (int i = 0; i < n.getInputCount(); i++) {
        String replacement = edits.getOrDefault(i, activationRename.get(n.getInput(i)));
        if (replacement != null) {
          nb.setInput(i, replacement);
        }
      }
      for (int i = 0; i < n.getOutputCount(); i++) {
        String renamed = outputRename.get(n.getOutput(i));
        if (renamed != null) {
          nb.setOutput(i, renamed);
        }
      }
      gb.addNode(nb.build());
      for (String out : n.getOutputList()) {
        gb.addAllNode(afterTensor.getOrDefault(out, List.of()));
      }
    }
    Set<String> used = new HashSet<>();
    for (NodeProto n : gb.getNodeList()) {
      collectInputs(n, used);
    }
    gb.getOutputList().forEach(v -> used.add(v.getName()));
    List<TensorProto> kept = new ArrayList<>();
    for (TensorProto t : gb.getInitializerList()) {
      if (!replacedInitializers.contains(t.getName()) || used.contains(t.getName())) {
        kept.add(t);
      }
    }
    Set<String> removed = new HashSet<>(replacedInitializers);
    removed.removeAll(used);
    List<ValueInfoProto> inputs = gb.getInputList().stream().filter(v -> !removed.contains(v.getName())).toList();
    List<ValueInfoProto> infos =
        gb.getValueInfoList().stream().filter(v -> !removed.contains(v.getName())).toList();
    gb.clearInitializer().addAllInitializer(kept).addAllInitializer(newInitializers);
    gb.clearInput().addAllInput(inputs);
    gb.clearValueInfo().addAllValueInfo(infos);
    return gb.build();
  }

  /** Inputs of a node and, for nodes with subgraphs, every name those subgraphs read. */
  private static void collectInputs(NodeProto n, Set<String> used) {
    used.addAll(n.getInputList());
    for (AttributeProto a : n.getAttributeList()) {
      List<GraphProto> subgraphs = new ArrayList<>(a.getGraphsList());
      if (a.hasG()) {
        subgraphs.add(a.getG());
      }
      for (GraphProto sg : subgraphs) {
        for (NodeProto sn : sg.getNodeList()) {
          collectInputs(sn, used);
        }
        sg.getOutputList().forEach(v -> used.add(v.getName()));
      }
    }
  }

  /** An unnamed Q or DQ node; an empty {@code zp} leaves the optional zero point out. */
  private static NodeProto qdqNode(String op, String x, String scale, String zp, String y, Integer axis) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).addInput(x).addInput(scale);
    if (!zp.isEmpty()) {
      n.addInput(zp);
    }
    n.addOutput(y);
    if (axis != null) {
      n.addAttribute(AttributeProto.newBuilder()
          .setName("axis").setType(AttributeProto.AttributeType.INT).setI(axis));
    }
    return n.build();
  }

  static int defaultOpset(ModelProto model) {
    for (OperatorSetIdProto o : model.getOpsetImportList()) {
      if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
        return (int) o.getVersion();
      }
    }
    throw new IllegalArgumentException("The model imports no default-domain (ai.onnx) opset");
  }

  private static void checkType(String what, QuantType type, int opset) {
    switch (type) {
      case UINT8, INT8 -> { }
      case UINT16, INT16 -> {
        if (opset < MIN_OPSET_16BIT) {
          throw new IllegalArgumentException("Quantizing " + what + " to " + type.id()
              + " needs default-domain opset >= " + MIN_OPSET_16BIT + ", the model has opset " + opset);
        }
      }
      case UINT4, INT4 -> {
        if (opset < MIN_OPSET_4BIT) {
          throw new IllegalArgumentException("Quantizing " + what + " to " + type.id()
              + " needs default-domain opset >= " + MIN_OPSET_4BIT + ", the model has opset " + opset);
        }
      }
      case INT32 -> throw new IllegalArgumentException(
          "Cannot quantize " + what + " to int32: int32 is used for biases only");
    }
  }
}
