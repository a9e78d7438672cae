package dev.qcal.examples;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.List;
import java.util.Set;

/**
 * Small graphs for the ops whose rules quantize weights inside a recurrent or fused operator: ONNX's LSTM and
 * ONNX Runtime's {@code com.microsoft} Attention and SkipLayerNormalization. Each builds at opsets 11 to 21;
 * {@code leading} is the size of the first input dimension, 0 for a free (symbolic) one. The output is named
 * {@code logits}, the input {@code x}.
 */
public final class ContribGraphs {

  /** The domain of ONNX Runtime's contrib operators. */
  public static final String MS_DOMAIN = "com.microsoft";

  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;

  private ContribGraphs() {}

  /**
   * A batch-first bidirectional LSTM as PyTorch exports it: x [N, 6, 8] -> Transpose -> LSTM (hidden 16,
   * W [2, 64, 8], R [2, 64, 16], B [2, 128]) -> Y [6, 2, N, 16] -> Transpose -> Reshape -> logits [N, 6, 32].
   */
  public static ModelProto lstm(int opset, long leading) {
    return recurrent(opset, leading, "LSTM", 4, 11);
  }

  /**
   * The GRU counterpart of {@link #lstm}: x [N, 6, 8] -> Transpose -> bidirectional GRU (hidden 16, W [2, 48, 8],
   * R [2, 48, 16], B [2, 96]) -> Transpose -> Reshape -> logits [N, 6, 32].
   */
  public static ModelProto gru(int opset, long leading) {
    return recurrent(opset, leading, "GRU", 3, 13);
  }

  /** The bidirectional {@code op} (hidden 16, {@code gates} gates) between the batch-first transposes. */
  private static ModelProto recurrent(int opset, long leading, String op, int gates, long seed) {
    String name = op.toLowerCase(java.util.Locale.ROOT);
    Graph g = new Graph(opset, seed);
    Object n = lead(leading);
    String x = g.input("x", FLOAT, n, 6, 8);
    String t = g.op("Transpose", "to_time_major", List.of(x), Graph.ints("perm", 1, 0, 2));
    String w = g.weight(name + ".W", 0.35, 2, gates * 16, 8);
    String r = g.weight(name + ".R", 0.25, 2, gates * 16, 16);
    String b = g.weight(name + ".B", 0.1, 2, gates * 32);
    String y = g.op(op, name, List.of(t, w, r, b), Graph.i("hidden_size", 16), Graph.s("direction", "bidirectional"));
    String back = g.op("Transpose", "to_batch_major", List.of(y), Graph.ints("perm", 2, 0, 1, 3));
    String out = g.op("Reshape", "merge_directions", List.of(back, g.int64s("merge_shape", 0, 6, 32)));
    g.output(out, "logits", FLOAT, n, 6, 32);
    return g.build(name);
  }

  /**
   * A BERT-style attention block on ONNX Runtime's fused ops: x [N, 8, 16] -> Attention (2 heads, QKV weight
   * [16, 48], bias [48]) -> MatMul (output projection [16, 16]) -> SkipLayerNormalization (skip x, gamma, beta,
   * projection bias) -> logits [N, 8, 16].
   */
  public static ModelProto attention(int opset, long leading) {
    Graph g = new Graph(opset, 23);
    Object n = lead(leading);
    String x = g.input("x", FLOAT, n, 8, 16);
    String qkv = g.weight("attn.qkv.weight", 0.25, 16, 48);
    String qkvBias = g.weight("attn.qkv.bias", 0.05, 48);
    String ctx = g.op("Attention", "attention", List.of(x, qkv, qkvBias), Graph.i("num_heads", 2));
    String proj = g.op("MatMul", "attn.out.matmul", List.of(ctx, g.weight("attn.out.weight", 0.25, 16, 16)));
    String out = skipLayerNorm(g, "attn.ln", proj, x, g.weight("attn.out.bias", 0.05, 16));
    g.output(out, "logits", FLOAT, n, 8, 16);
    return msDomain(g.build("attention"), Set.of("Attention", "SkipLayerNormalization"));
  }

  /**
   * A residual feed-forward block: x [N, 8, 16] -> MatMul [16, 16] -> SkipLayerNormalization (skip x, gamma,
   * beta, bias) -> logits [N, 8, 16].
   */
  public static ModelProto skipLayerNorm(int opset, long leading) {
    Graph g = new Graph(opset, 29);
    Object n = lead(leading);
    String x = g.input("x", FLOAT, n, 8, 16);
    String h = g.op("MatMul", "ffn.matmul", List.of(x, g.weight("ffn.weight", 0.3, 16, 16)));
    String out = skipLayerNorm(g, "ffn.ln", h, x, g.weight("ffn.bias", 0.05, 16));
    g.output(out, "logits", FLOAT, n, 8, 16);
    return msDomain(g.build("skip_layer_norm"), Set.of("SkipLayerNormalization"));
  }

  /** SkipLayerNormalization(input, skip, gamma near 1, beta near 0, bias) over the last axis (width 16). */
  private static String skipLayerNorm(Graph g, String prefix, String input, String skip, String bias) {
    float[] gamma = new float[16];
    float[] beta = new float[16];
    for (int k = 0; k < 16; k++) {
      gamma[k] = (float) (1 + 0.1 * g.gaussian());
      beta[k] = (float) (0.05 * g.gaussian());
    }
    String gm = g.constant(prefix + ".gamma", new long[] {16}, gamma);
    String bt = g.constant(prefix + ".beta", new long[] {16}, beta);
    return g.op("SkipLayerNormalization", prefix, List.of(input, skip, gm, bt, bias), Graph.f("epsilon", 1e-5f));
  }

  private static Object lead(long leading) {
    return leading > 0 ? (Object) leading : "batch";
  }

  /** {@code m} with the nodes of {@code ops} in the com.microsoft domain, which it then imports (version 1). */
  static ModelProto msDomain(ModelProto m, Set<String> ops) {
    ModelProto.Builder b = m.toBuilder();
    for (NodeProto.Builder node : b.getGraphBuilder().getNodeBuilderList()) {
      if (ops.contains(node.getOpType())) {
        node.setDomain(MS_DOMAIN);
      }
    }
    return b.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1)).build();
  }
}
