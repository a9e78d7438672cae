package dev.qcal.examples;

import static dev.qcal.examples.Graph.i;
import static dev.qcal.examples.Graph.ints;

import java.util.List;

/** The attention and MLP blocks shared by the example transformers, in the form PyTorch exports them. */
final class Transformers {

  private Transformers() {}

  /**
   * Multi-head self-attention of {@code x [batch, seq, width]}: Q, K, V projections (MatMul, Add), heads
   * split by Reshape {@code [0, 0, heads, width/heads]} and Transpose, scores {@code Q K^T / sqrt(d)}
   * (MatMul, Div), plus {@code mask} when given (added, broadcast to the scores) or replaced by
   * {@code -10000} where {@code keep} is false (Where), Softmax, context MatMul, heads merged and the
   * output projection.
   */
  static String selfAttention(Graph g, String prefix, String x, int width, int heads, String mask, String keep) {
    int d = width / heads;
    String q = splitHeads(g, prefix + ".q", g.linear(prefix + ".query", x, width, width), heads, d, 0, 2, 1, 3);
    String kt = splitHeads(g, prefix + ".k", g.linear(prefix + ".key", x, width, width), heads, d, 0, 2, 3, 1);
    String v = splitHeads(g, prefix + ".v", g.linear(prefix + ".value", x, width, width), heads, d, 0, 2, 1, 3);
    String scores = g.op("MatMul", prefix + ".scores", List.of(q, kt));
    scores = g.op("Div", prefix + ".scale",
        List.of(scores, g.constant(prefix + ".sqrt_d", new long[0], (float) Math.sqrt(d))));
    if (mask != null) {
      scores = g.op("Add", prefix + ".mask", List.of(scores, mask));
    }
    if (keep != null) {
      scores = g.op("Where", prefix + ".causal",
          List.of(keep, scores, g.constant(prefix + ".masked_bias", new long[0], -10000f)));
    }
    String probs = g.op("Softmax", prefix + ".softmax", List.of(scores), i("axis", -1));
    String ctx = g.op("MatMul", prefix + ".context", List.of(probs, v));
    ctx = g.op("Transpose", prefix + ".merge", List.of(ctx), ints("perm", 0, 2, 1, 3));
    ctx = g.op("Reshape", prefix + ".merge_reshape", List.of(ctx, g.int64s(prefix + ".merged_shape", 0, 0, width)));
    return g.linear(prefix + ".output", ctx, width, width);
  }

  private static String splitHeads(Graph g, String prefix, String x, int heads, int d, long... perm) {
    String r = g.op("Reshape", prefix + ".reshape", List.of(x, g.int64s(prefix + ".heads_shape", 0, 0, heads, d)));
    return g.op("Transpose", prefix + ".transpose", List.of(r), ints("perm", perm));
  }

  /** The feed-forward block: Linear, GELU (Erf form), Linear. */
  static String mlp(Graph g, String prefix, String x, int width, int hidden) {
    String h = g.gelu(prefix + ".gelu", g.linear(prefix + ".fc1", x, width, hidden));
    return g.linear(prefix + ".fc2", h, hidden, width);
  }

  /** A 0-d int64 {@code 0}; Gather with it on axis 1 takes token 0 and drops the axis. */
  static String firstToken(Graph g, String prefix, String x) {
    return g.op("Gather", prefix + ".first_token", List.of(x, g.int64(prefix + ".zero", new long[0], 0)),
        i("axis", 1));
  }

  /** The sequence length of {@code [batch, seq, ...]} tensor {@code x} as a 1-D int64 {@code [seq]}. */
  static String seqLength(Graph g, String prefix, String x) {
    String shape = g.op("Shape", prefix + ".shape", List.of(x));
    return g.op("Slice", prefix + ".seq_len", List.of(shape, g.int64s(prefix + ".one", 1),
        g.int64s(prefix + ".two", 2), g.int64s(prefix + ".axis0", 0)));
  }
}
