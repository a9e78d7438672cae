package dev.qcal.model.plan;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The op types of ONNX's default domain (ai.onnx, up to opset 23) and a few of ONNX Runtime's com.microsoft
 * ones, so that a misspelt {@code --op-types} entry can be told from a real op qcal has no rule for. The ONNX proto classes carry no such list.
 */
public final class OnnxOpTypes {

  private static final Set<String> ALL = Set.copyOf(List.of(
      "Abs", "Acos", "Acosh", "Add", "AffineGrid", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
      "Attention", "AveragePool", "BatchNormalization", "Bernoulli", "BitShift", "BitwiseAnd", "BitwiseNot",
      "BitwiseOr", "BitwiseXor", "BlackmanWindow", "Cast", "CastLike", "Ceil", "Celu", "CenterCropPad", "Clip",
      "Col2Im", "Compress", "Concat", "ConcatFromSequence", "Constant", "ConstantOfShape", "Conv", "ConvInteger",
      "ConvTranspose", "Cos", "Cosh", "CumSum", "DFT", "DeformConv", "DepthToSpace", "DequantizeLinear", "Det", "Div",
      "Dropout", "DynamicQuantizeLinear", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten",
      "Floor", "GRU", "Gather", "GatherElements", "GatherND", "Gelu", "Gemm", "GlobalAveragePool", "GlobalLpPool",
      "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample", "GroupNormalization", "HammingWindow", "HannWindow",
      "HardSigmoid", "HardSwish", "Hardmax", "Identity", "If", "ImageDecoder", "InstanceNormalization", "IsInf",
      "IsNaN", "LRN", "LSTM", "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "Loop",
      "LpNormalization", "LpPool", "MatMul", "MatMulInteger", "Max", "MaxPool", "MaxRoiPool", "MaxUnpool", "Mean",
      "MeanVarianceNormalization", "MelWeightMatrix", "Min", "Mish", "Mod", "Mul", "Multinomial", "Neg",
      "NegativeLogLikelihoodLoss", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Optional", "OptionalGetElement",
      "OptionalHasElement", "Or", "PRelu", "Pad", "Pow", "QLinearConv", "QLinearMatMul", "QuantizeLinear", "RMSNormalization",
      "RNN", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Range", "Reciprocal",
      "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd",
      "ReduceSum", "ReduceSumSquare", "RegexFullMatch", "Relu", "Reshape", "Resize", "ReverseSequence", "RoiAlign",
      "RotaryEmbedding", "Round", "STFT", "Scan", "Scatter", "ScatterElements", "ScatterND", "Selu", "SequenceAt",
      "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength", "SequenceMap",
      "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax", "SoftmaxCrossEntropyLoss",
      "Softplus", "Softsign", "SpaceToDepth", "Split", "SplitToSequence", "Sqrt", "Squeeze", "StringConcat",
      "StringNormalizer", "StringSplit", "Sub", "Sum", "Swish", "Tan", "Tanh", "TfIdfVectorizer", "ThresholdedRelu",
      "Tile", "TopK", "Transpose", "Trilu", "Unique", "Unsqueeze", "Upsample", "Where", "Xor"));

  /**
   * ONNX Runtime's {@code com.microsoft} ops that its transformer optimizer and exporters put in models, so that
   * they can be named in {@code --op-types} (as {@code com.microsoft.Attention} or plainly).
   */
  private static final Set<String> CONTRIB = Set.of("Attention", "BiasGelu", "BiasSoftmax",
      "EmbedLayerNormalization", "FastGelu", "FusedConv", "FusedMatMul", "Gelu", "GroupQueryAttention",
      "MultiHeadAttention", "QuickGelu", "RotaryEmbedding", "SkipLayerNormalization",
      "SkipSimplifiedLayerNormalization");

  private static final String MS_PREFIX = QdqOpRules.MS_DOMAIN + ".";

  private OnnxOpTypes() {}

  /**
   * Whether {@code op} is an op type of ONNX's default domain (case-sensitive, as in a graph), or one of the
   * {@code com.microsoft} ops above, plain or as {@code com.microsoft.OpType}.
   */
  public static boolean contains(String op) {
    return ALL.contains(op) || CONTRIB.contains(op)
        || op.startsWith(MS_PREFIX) && CONTRIB.contains(op.substring(MS_PREFIX.length()));
  }

  /**
   * The op type closest to {@code op} (at most two edits, adjacent swaps counting one; ops qcal has a rule for
   * win ties), or null when none is that close.
   */
  public static String closest(String op) {
    String best = null;
    int bestDistance = 3;
    List<String> candidates = new java.util.ArrayList<>(QdqOpRules.ALL.keySet());
    candidates.addAll(new TreeSet<>(ALL));
    candidates.addAll(new TreeSet<>(CONTRIB));
    new TreeSet<>(CONTRIB).forEach(c -> candidates.add(MS_PREFIX + c));
    for (String c : candidates) {
      int d = distance(op.toLowerCase(java.util.Locale.ROOT), c.toLowerCase(java.util.Locale.ROOT));
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    return best;
  }

  /** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
  public static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }
}
