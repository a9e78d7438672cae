package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;
import dev.qcal.model.plan.QdqGraph;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.quant.StreamedWeight;
import dev.qcal.quant.WeightSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

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
 * has no 4-bit convolution kernels (recorded in {@link Result#notes()}; see {@link WeightScheme}). Bias
 * {@code B}: int32 {@code qK} with scale {@code inputScale * W_scale[c]}, axis 0 and no zero point (0 by
 * default). Float weights no node reads any more are removed. The short generated names keep the file
 * small (on the example they were a third of it); the inserted nodes have no names. A name that already
 * exists gets a numeric suffix ({@link QdqEmitter} writes the graph).
 *
 * <p>Weights kept in external data (see {@link ExternalData}) are quantized one tensor at a time and in
 * chunks ({@link StreamedWeight}: ranges in a first pass over the file, values in a second), and their
 * quantized values are written to a new data file in the model's directory, which the rewritten model
 * references ({@link StreamedWeightQuantizer}); {@link OnnxModels#save(ModelProto, Path, Path)} then writes
 * it with its own data file.
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

  /**
   * What to rewrite: the prepared model, the plan made from it and the calibrated params of its planned
   * activations (all must have params); the weight scheme ({@link WeightSpec#defaults()} unless set); the
   * directory the model's external data locations are relative to (null when it has none), where
   * quantized external weights go to a new data file; and what a planned graph output that no node reads
   * gets ({@link Outputs#AUTO} unless set); and weights already rounded by another algorithm (GPTQ), by
   * initializer, whose integers and params are written instead of rounding to nearest (none unless set).
   */
  public record Request(ModelProto prepared, CalibrationPlan plan, Map<String, QuantParams> activationParams,
      WeightSpec weights, Path modelDir, Outputs outputs, Map<String, Rounded> rounded) {
    public Request {
      Objects.requireNonNull(outputs, "outputs");
      rounded = Map.copyOf(Objects.requireNonNull(rounded, "rounded"));
      Objects.requireNonNull(prepared, "prepared");
      Objects.requireNonNull(plan, "plan");
      Objects.requireNonNull(activationParams, "activationParams");
      Objects.requireNonNull(weights, "weightSpec");
    }

    /** A request with int8 per-channel weights, no external data and {@link Outputs#AUTO}. */
    public static Request of(ModelProto prepared, CalibrationPlan plan, Map<String, QuantParams> activationParams) {
      return new Request(prepared, plan, activationParams, WeightSpec.defaults(), null, Outputs.AUTO, Map.of());
    }

    /** This request with weight scheme {@code weights}. */
    public Request withWeights(WeightSpec weights) {
      return new Request(prepared, plan, activationParams, weights, modelDir, outputs, rounded);
    }

    /** This request with weights of {@code type}, per channel, no blocks. */
    public Request withWeights(QuantType type) {
      Objects.requireNonNull(type, "weightType");
      return withWeights(new WeightSpec(type, true, 0));
    }

    /** This request for a model whose external data locations are relative to {@code modelDir}. */
    public Request withModelDir(Path modelDir) {
      return new Request(prepared, plan, activationParams, weights, modelDir, outputs, rounded);
    }

    /** This request with {@code outputs} for the planned graph outputs that no node reads. */
    public Request withOutputs(Outputs outputs) {
      return new Request(prepared, plan, activationParams, weights, modelDir, outputs, rounded);
    }

    /**
     * This request with the weights in {@code rounded} (by initializer) written with their own integers and
     * params; each must match the scheme the rewrite resolves for it (type, axis, block size), else the
     * rewrite fails.
     */
    public Request withRounded(Map<String, Rounded> rounded) {
      return new Request(prepared, plan, activationParams, weights, modelDir, outputs, rounded);
    }
  }

  /**
   * A weight's integers (row-major, the initializer's shape) and the params they were rounded with, made by
   * another algorithm than rounding to nearest (GPTQ).
   */
  public record Rounded(long[] codes, QuantParams params) {
    public Rounded {
      Objects.requireNonNull(codes, "codes");
      Objects.requireNonNull(params, "params");
    }
  }

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
  private final Request request;
  private final CalibrationPlan plan;
  private final Set<String> planned;
  private final Map<String, QuantParams> activationParams;
  private final QdqEmitter emitter;
  private final StreamedWeightQuantizer.DataFile dataFile;
  private final Map<String, String[]> paramNames = new HashMap<>();
  /** Per initializer and quantization scheme: the params before any widening for a bias. */
  private final Map<String, QuantParams> baseParams = new HashMap<>();
  private final Map<String, WeightQuantizer> quantizers = new HashMap<>();
  /** Per initializer and scheme: the DequantizeLinear output of each distinct set of params made. */
  private final Map<String, Map<QuantParams, String>> copies = new HashMap<>();
  private final Map<String, QuantParams> weightParams = new LinkedHashMap<>();
  private final Map<String, String> weightSources = new LinkedHashMap<>();
  private final Map<String, QuantParams> derivedParams = new LinkedHashMap<>();
  private final List<String> skipped = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  private QdqRewriter(Request request) {
    this.g = new QdqGraph(request.prepared().getGraph());
    this.request = request;
    this.plan = request.plan();
    this.planned = new HashSet<>(plan.activations());
    this.activationParams = new HashMap<>(request.activationParams());
    this.emitter = new QdqEmitter(g);
    this.dataFile = new StreamedWeightQuantizer.DataFile(request.modelDir());
  }

  /**
   * Inserts Q/DQ for every planned activation and quantizes the planned weights in the request's scheme.
   * A planned activation that is a graph output and that no node reads ({@link Outputs}): quantized, it
   * gets a Q/DQ pair whose DequantizeLinear writes the output's name (its producer writes
   * {@code NAME_QuantizeInput}, as in ONNX Runtime's quantizer), so the model's interface is unchanged and
   * ONNX Runtime can fuse the producer into an integer kernel; float, it stays the producer's output (noted
   * in {@link Result#skipped()}). Either way no Q/DQ pair is left that nothing reads.
   *
   * @throws IllegalArgumentException when the default-domain opset is below 13 (or 21 for 16-bit or 4-bit
   *     types or blocked weights), a planned activation has no params, or the plan does not match the model
   */
  public static Result rewrite(Request request) {
    Objects.requireNonNull(request, "request");
    WeightSpec weightSpec = request.weights();
    int opset = defaultOpset(request.prepared());
    if (opset < MIN_OPSET) {
      throw new IllegalArgumentException("Cannot insert Q/DQ: the model imports default-domain opset " + opset
          + " but per-channel DequantizeLinear needs opset >= " + MIN_OPSET + "; upgrade the model first");
    }
    checkType("weights", weightSpec.type(), opset);
    if (weightSpec.blockSize() > 0 && opset < MIN_OPSET_4BIT) {
      throw new IllegalArgumentException("Blocked weights (block_size " + weightSpec.blockSize()
          + ") need default-domain opset >= " + MIN_OPSET_4BIT + ", the model has opset " + opset);
    }
    QdqRewriter r = new QdqRewriter(request);
    try {
      return r.run(request.prepared());
    } finally {
      r.dataFile.close();
    }
  }

  private Result run(ModelProto model) {
    skipped.addAll(plan.skipped());
    int opset = defaultOpset(model);
    for (String t : plan.activations()) {
      quantizeActivation(t, checkedParams(t, opset), null);
    }
    for (Map.Entry<String, CalibrationPlan.Derived> e : plan.derived().entrySet()) {
      quantizeDerived(e.getKey(), e.getValue());
    }
    for (String t : new java.util.TreeSet<>(activationParams.keySet())) {
      if (!planned.contains(t) && !plan.derived().containsKey(t)) {
        skipped.add("'" + t + "': params given but the tensor is not in the plan; ignored");
      }
    }
    for (WeightRef ref : plan.weights()) {
      quantizeWeight(ref);
    }
    return new Result(model.toBuilder().setGraph(emitter.build()).build(), weightParams, weightSources, skipped,
        derivedParams, notes);
  }

  /** The params of planned activation {@code t}, checked against the model and its opset. */
  private QuantParams checkedParams(String t, int opset) {
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
    return p;
  }

  /** Q/DQ for derived tensor {@code t} on its source's params (or its fixed range), or a skip saying why not. */
  private void quantizeDerived(String t, CalibrationPlan.Derived d) {
    QuantParams source = activationParams.get(d.source());
    if (source == null || !planned.contains(d.source())) {
      skipped.add("'" + t + "': left in float because '" + d.source() + "', whose params it takes, is not quantized");
      return;
    }
    if (source.perChannel() && !d.fixed()) {
      skipped.add("'" + t + "': left in float because '" + d.source()
          + "' is quantized per channel and the op may move that axis");
      return;
    }
    QuantParams p = d.fixed() ? LinearQuant.forRange(d.min(), d.max(), source.type(), false) : source;
    activationParams.put(t, p);
    derivedParams.put(t, p);
    planned.add(t);
    quantizeActivation(t, p, d.fixed() ? null : paramNames.get(d.source()));
  }

  /** Q/DQ pair for {@code t}; {@code shared} names the scale and zero point to reuse, or null for new ones. */
  private void quantizeActivation(String t, QuantParams p, String[] shared) {
    boolean output = g.isGraphOutput(t) && g.producer(t) != null;
    boolean quantizeOutput = output && quantizesOutput(t);
    if (output && !quantizeOutput && g.consumers(t).isEmpty()) {
      skipped.add("'" + t + "': graph output that no node reads, left in float"
          + (request.outputs() == Outputs.AUTO ? ": ONNX Runtime's integer Gemm/MatMul kernels have float outputs" : ""));
      return;
    }
    paramNames.put(t, emitter.activation(t, p, shared, quantizeOutput));
  }

  /** Whether graph output {@code t} gets Q/DQ ({@link Outputs}). */
  private boolean quantizesOutput(String t) {
    if (request.outputs() != Outputs.AUTO) {
      return request.outputs() == Outputs.QUANTIZED;
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
    String what = "weight '" + ref.initializer() + "' of " + node.getOpType() + " '" + ref.node() + "'";
    WeightScheme scheme = WeightScheme.resolve(request.weights(), node.getOpType(), QdqTensors.dims(w), ref.axis(),
        what);
    notes.addAll(scheme.notes());
    String gathered = gatherSharingOutput(node, w, scheme);
    if (gathered != null) {
      scheme = scheme.asSharedTable();
    }
    QuantParams wp = weightParams(ref, w, scheme, what);
    String dq = dequantizedWeight(ref, w, scheme, wp, what);
    emitter.edit(node, wIndex, dq);
    if (ref.biasInitializer() != null) {
      quantizeBias(ref, node, wp);
    }
    if (gathered != null) {
      activationParams.put(gathered, wp);
      planned.add(gathered);
      quantizeActivation(gathered, wp, emitter.dequantizedParams(dq));
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
  private String gatherSharingOutput(NodeProto node, TensorProto w, WeightScheme scheme) {
    if (!node.getOpType().equals("Gather") || scheme.type().bits() != 8 || scheme.block() > 0
        || node.getOutputCount() < 1 || ExternalData.isExternal(w)) {
      return null;
    }
    String out = node.getOutput(0);
    return g.isFloatActivation(out) && !planned.contains(out) && !plan.derived().containsKey(out) ? out : null;
  }

  /**
   * The params of weight {@code w} in {@code scheme}, computed once per initializer and scheme by its
   * {@link WeightQuantizer} (kept for writing the values), then raised where its int32 bias needs it.
   */
  private QuantParams weightParams(WeightRef ref, TensorProto w, WeightScheme scheme, String what) {
    String key = scheme.key(ref.initializer());
    QuantParams base = baseParams.get(key);
    if (base == null) {
      Rounded rounded = request.rounded().get(ref.initializer());
      WeightQuantizer quantizer = rounded != null && !scheme.table()
          ? new RoundedWeightQuantizer(w, request.modelDir(), dataFile, rounded)
          : ExternalData.isExternal(w) ? new StreamedWeightQuantizer(w, request.modelDir(), dataFile)
          : new EmbeddedWeightQuantizer(w);
      try {
        base = quantizer.params(scheme);
      } catch (IllegalArgumentException e) {
        if (scheme.table()) {
          throw e;
        }
        throw new IllegalArgumentException(
            "Cannot quantize weight '" + ref.initializer() + "' of node '" + ref.node() + "': " + e.getMessage(), e);
      }
      baseParams.put(key, base);
      quantizers.put(key, quantizer);
    }
    return ref.biasInitializer() != null && !base.blocked() ? widenForBias(ref, what, base) : base;
  }

  /** The DequantizeLinear output of weight {@code w} quantized with {@code wp}, made once per scheme and params. */
  private String dequantizedWeight(WeightRef ref, TensorProto w, WeightScheme scheme, QuantParams wp, String what) {
    String key = scheme.key(ref.initializer());
    Map<QuantParams, String> made = copies.computeIfAbsent(key, k -> new HashMap<>());
    String dq = made.get(wp);
    if (dq == null) {
      var quantized = quantizers.get(key).values(scheme, wp);
      // ORT fuses Conv without a weight zero point but its QGemm fusion fails without one ("zero point
      // and scale of input b should have same shape size"), so only Conv weights leave out all-zero ones.
      boolean keepZeroPoint = !scheme.conv() || !allZero(wp.zeroPoint());
      dq = emitter.dequantized(QdqTensors.dims(w), quantized, wp, scheme.type(), keepZeroPoint);
      made.put(wp, dq);
      record(ref.initializer(), ref.node(), what, wp);
    }
    return dq;
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
    emitter.replaced(initializer);
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
    float[] bias = Initializers.floats(bt, request.modelDir());
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
    float[] bias = Initializers.floats(bt, request.modelDir());
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
      dq = emitter.dequantized(QdqTensors.dims(bt), ql, bp, QuantType.INT32, false);
      made.put(bp, dq);
      record(b, ref.node(), "bias '" + b + "' of " + node.getOpType() + " '" + ref.node() + "'", bp);
    }
    emitter.edit(node, bIndex, dq);
  }

  private static boolean allZero(long[] v) {
    for (long x : v) {
      if (x != 0) {
        return false;
      }
    }
    return true;
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
