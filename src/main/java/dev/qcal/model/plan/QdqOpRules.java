package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan.Planner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The registry of per-operator Q/DQ planning rules (after ORT's {@code quantization/registry.py}); each
 * rule is a class of its own. To support another op, write a {@link Rule} and register it in {@link #ALL}.
 */
public final class QdqOpRules {

  /** Plans the activations and weights of one node. */
  interface Rule {
    void plan(NodeProto node, Planner planner);
  }

  /**
   * Op types quantized when the caller names none: the ones that carry the weights and the compute, and LSTM's
   * and GRU's weights (int8 storage, float compute: 45.1 and 45.0 dB on {@code ContribGraphs.lstm} and
   * {@code gru}, see {@link LstmRule}).
   */
  public static final Set<String> DEFAULT_OP_TYPES = Set.of("Conv", "Gemm", "MatMul", "LSTM", "GRU");

  /** Every op type a rule exists for. LayerNormalization and other fragile ops have none: they stay FP32. */
  static final Map<String, Rule> ALL = all();

  private QdqOpRules() {}

  private static Map<String, Rule> all() {
    Map<String, Rule> m = new LinkedHashMap<>();
    m.put("Conv", new ConvRule(0));
    m.put("ConvTranspose", new ConvRule(1));
    m.put("Gemm", new GemmRule());
    m.put("MatMul", new MatMulRule());
    m.put("Add", new BinaryActivationRule());
    m.put("Mul", new BinaryActivationRule());
    m.put("Concat", new ConcatRule());
    for (String op : SharedParamsRule.OPS) {
      m.put(op, new SharedParamsRule());
    }
    for (String op : UnaryRule.OPS) {
      m.put(op, new UnaryRule());
    }
    m.put("Softmax", new SoftmaxRule());
    m.put("Gather", new GatherRule());
    m.put("Where", new WhereRule());
    m.put("Pad", new PadRule());
    m.put("ArgMax", new ArgMaxRule());
    m.put("ArgMin", new ArgMaxRule());
    m.put("InstanceNormalization", new InstanceNormalizationRule());
    // planned only when not folded into a quantized producer's output (see CalibrationPlan)
    m.put("Relu", new UnaryRule());
    m.put("Clip", new UnaryRule());
    // no integer kernels in ONNX Runtime's CPU provider: Q/DQ around them only when asked for
    m.put("LayerNormalization", new UnaryRule());
    m.put("Gelu", new UnaryRule());
    addContrib(m);
    return java.util.Collections.unmodifiableMap(m);
  }

  /**
   * Why an op type with a rule is not quantized unless named in {@code --op-types}: measured on the
   * BERT-style and ViT-style blocks of {@code scripts/bench transformers} (logits SQNR, min/max, ONNX Runtime 1.28
   * CPU: the table in docs/quantization.md).
   */
  private static final Map<String, String> NOT_BY_DEFAULT = Map.ofEntries(
      Map.entry("Add", "not a default op type: Q/DQ on Add/Mul cost 18.0 dB of logits SQNR on a BERT-style block"
          + " (the -10000 attention mask shares the scores' 8-bit range) and 1.4 dB on a ViT-style one"),
      Map.entry("Softmax", "not a default op type: its input range includes the attention mask (-10000); 17.9 dB"
          + " of logits SQNR lost on a BERT-style block"),
      Map.entry("LayerNormalization", "not a default op type: ONNX Runtime has no integer kernel for it; Q/DQ"
          + " around it cost 3.4 dB (BERT-style block) and 1.3 dB (ViT-style)"),
      Map.entry("Gelu", "not a default op type: ONNX Runtime has no integer kernel for it and Q/DQ around it stop"
          + " the BiasGelu/FastGelu fusion (slower, no accuracy gained)"),
      Map.entry("Gather", "not a default op type: a uint8 embedding table (4x smaller) cost 1.6 dB on a"
          + " BERT-style block"),
      Map.entry("Where", "not a default op type: masks fill with large constants that 8 bits cannot hold; with"
          + " two activation branches between MatMuls the same 35.8 dB with and without it (OpCoverageTest)"),
      // measured by OpCoverageTest (OpGraphs, opset 13, 128 calibration rows): output SQNR, defaults and op named
      Map.entry("Pad", "not a default op type: it moves values only (the output shares the input's params);"
          + " between quantized Convs 34.5 dB with and without it"),
      Map.entry("ArgMax", "not a default op type: only its input would be quantized, which a quantized"
          + " producer already does (35.9 dB with and without it)"),
      Map.entry("InstanceNormalization", "not a default op type: ONNX Runtime runs it in float between the"
          + " DequantizeLinear and the QuantizeLinear; between quantized Convs 33.4 dB with and without it"),
      Map.entry("ReduceMean", "not a default op type: between quantized Convs 35.3 dB with and without it"),
      Map.entry("Relu", "folded into a quantized producer's output whatever --op-types says; after an FP32"
          + " producer, Q/DQ on its input and output cost 1.0 dB (32.9 to 31.9 dB)"),
      Map.entry("Sigmoid", "not a default op type: after an FP32 producer, Q/DQ on its input and output cost"
          + " 1.1 dB (35.6 to 34.5 dB)"));

  /** Op types whose reason is another's: the same rule, measured on the other. */
  private static final Map<String, String> ALIASES = Map.of("Mul", "Add", "Clip", "Relu", "ArgMin", "ArgMax");

  /** The reason a node of {@code op} (which has a rule) is not quantized when its op type is not selected. */
  static String notSelected(String op) {
    String why = SharedParamsRule.OPS.contains(op) ? "not a default op type: it moves values only; with it the"
        + " output would share the input's params"
        : NOT_BY_DEFAULT.getOrDefault(ALIASES.getOrDefault(op, op), CONTRIB_NOT_BY_DEFAULT.get(op));
    return "op type not in --op-types" + (why == null ? "" : " (" + why + ")");
  }

  /** The rules for {@link #DEFAULT_OP_TYPES}. */
  static Map<String, Rule> defaults() {
    return select(DEFAULT_OP_TYPES);
  }

  /**
   * Activation functions folded into a quantized producer: the producer's output Q/DQ moves past them (see
   * {@link CalibrationPlan}) whatever {@code --op-types} says; when named in it, one whose producer is not
   * quantized gets its input and output calibrated (its rule in {@link #ALL}).
   */
  static final Set<String> FOLDED = Set.of("Relu", "Clip");

  /**
   * The rules for {@code opTypes}; an ONNX op type without a rule is left out (its nodes stay FP32), a name that
   * is no ONNX op type is an error naming it.
   */
  static Map<String, Rule> select(Set<String> opTypes) {
    Map<String, Rule> m = new LinkedHashMap<>();
    for (String op : opTypes) {
      List<String> keys = keys(op);
      keys.forEach(k -> m.put(k, ALL.get(k)));
      if (keys.isEmpty() && !OnnxOpTypes.contains(op)) {
        throw new IllegalArgumentException("'" + op + "' is not an ONNX op type");
      }
    }
    return m;
  }

  // ---- LSTM weights and com.microsoft ops (issue 25); kept in one block ----

  /** The domain of ONNX Runtime's contrib operators, whose rules are keyed {@code com.microsoft.OpType}. */
  static final String MS_DOMAIN = "com.microsoft";

  private static void addContrib(Map<String, Rule> m) {
    m.put("LSTM", new LstmRule());
    m.put("GRU", new LstmRule());
    m.put(MS_DOMAIN + ".Attention", new AttentionRule());
    m.put(MS_DOMAIN + ".SkipLayerNormalization", new SkipLayerNormRule());
  }

  /**
   * Measured reasons for the rules of this block that are not defaults ({@code ContribRulesTest}, block SQNR
   * with min/max calibration; ONNX Runtime CPU at all optimizations).
   */
  private static final Map<String, String> CONTRIB_NOT_BY_DEFAULT = Map.of(
      MS_DOMAIN + ".Attention", "not a default op type: ONNX Runtime has no QDQ fusion into QAttention, the"
          + " Attention runs in float on the dequantized input and weights; 4.2 dB of SQNR lost on a BERT-style"
          + " block (41.7 -> 37.5 dB) for weights 4x smaller",
      MS_DOMAIN + ".SkipLayerNormalization", "not a default op type: ONNX Runtime has no integer kernel for it;"
          + " Q/DQ around it cost 4.1 dB on a residual block (40.2 -> 36.1 dB) and turn the MatMulIntegerToFloat"
          + " before it into a QLinearMatMul");

  /** The registry key of {@code n}'s op: its op type in the default domain, else {@code domain.OpType}. */
  static String key(NodeProto n) {
    return OnnxModels.isDefaultDomain(n.getDomain()) ? n.getOpType() : n.getDomain() + "." + n.getOpType();
  }

  /**
   * The registry keys an {@code --op-types} name selects: itself when it has a rule, and for a plain name the
   * {@code com.microsoft} op of that name when it has one (so {@code Attention} selects com.microsoft
   * Attention, ONNX's own Attention having no rule; each node is then matched by its domain). Empty when none.
   */
  static List<String> keys(String op) {
    List<String> keys = new ArrayList<>();
    if (ALL.containsKey(op)) {
      keys.add(op);
    }
    if (!op.contains(".") && ALL.containsKey(MS_DOMAIN + "." + op)) {
      keys.add(MS_DOMAIN + "." + op);
    }
    return keys;
  }

  /** The bias name when it is a float 1-D initializer of {@code channels} elements, else null. */
  static String bias(NodeProto n, Planner p, String b, long channels) {
    if (b.isEmpty()) {
      return null;
    }
    if (!p.graph.isInitializer(b)) {
      p.skip(b, p.describe(n) + " bias is not an initializer; left in float");
      return null;
    }
    TensorProto bt = p.floatInitializer(n, "bias", b, 1);
    if (bt == null) {
      return null;
    }
    if (bt.getDims(0) != channels) {
      p.skip(b, p.describe(n) + " bias has " + bt.getDims(0) + " elements but the weight has "
          + channels + " output channels; left in float");
      return null;
    }
    return b;
  }
}
