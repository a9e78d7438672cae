package dev.qcal.examples;

import static dev.qcal.examples.Graph.i;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.List;

/**
 * A GPT-2-style decoder with seeded random weights, shaped like a PyTorch export of {@code GPT2LMHeadModel}:
 * int64 {@code input_ids [batch, seq]} (seq dynamic, at most {@link #MAX_POSITIONS}), token and position
 * embeddings (Gather; positions a buffer Sliced to the sequence length), {@link #LAYERS} pre-LN decoder
 * layers whose causal mask is a constant lower-triangular bool buffer Sliced to {@code [seq, seq]} and applied
 * with Where (masked scores {@code -10000}), a final LayerNorm and an LM head tied to the token embedding
 * (its transpose, as constant folding leaves it) writing {@code logits [batch, seq, VOCAB]}.
 */
public final class TinyGpt {
  public static final String INPUT = "input_ids";
  public static final String OUTPUT = "logits";
  public static final int VOCAB = 100;
  public static final int MAX_POSITIONS = 64;
  public static final int WIDTH = 32;
  public static final int HEADS = 2;
  public static final int LAYERS = 2;

  private TinyGpt() {}

  /** The model at {@code opset} (11 or later; LayerNormalization from 17, its decomposition before). */
  public static ModelProto build(int opset, long seed) {
    Graph g = new Graph(opset, seed);
    g.input(INPUT, TensorProto.DataType.INT64_VALUE, "batch", "seq");
    float[] wte = new float[VOCAB * WIDTH];
    float[] lmHead = new float[WIDTH * VOCAB];
    for (int v = 0; v < VOCAB; v++) {
      for (int c = 0; c < WIDTH; c++) {
        wte[v * WIDTH + c] = (float) g.gaussian();
        lmHead[c * VOCAB + v] = wte[v * WIDTH + c];
      }
    }
    String tokens = g.op("Gather", "transformer.wte", List.of(g.constant("transformer.wte.weight",
        new long[] {VOCAB, WIDTH}, wte), INPUT));
    long[] positions = new long[MAX_POSITIONS];
    boolean[] tril = new boolean[MAX_POSITIONS * MAX_POSITIONS];
    for (int r = 0; r < MAX_POSITIONS; r++) {
      positions[r] = r;
      for (int c = 0; c <= r; c++) {
        tril[r * MAX_POSITIONS + c] = true;
      }
    }
    String seq = Transformers.seqLength(g, "transformer", INPUT);
    String positionIds = g.slice(g.int64("transformer.position_ids", new long[] {1, MAX_POSITIONS}, positions),
        g.int64s("transformer.pos_start", 0), seq, g.int64s("transformer.pos_axis", 1));
    String pos = g.op("Gather", "transformer.wpe", List.of(g.weight("transformer.wpe.weight", 0.5, MAX_POSITIONS,
        WIDTH), positionIds));
    String x = g.op("Add", "transformer.embed", List.of(tokens, pos));
    String ends = g.op("Concat", "causal.ends", List.of(seq, seq), i("axis", 0));
    String keep = g.slice(g.bools("causal.bias", new long[] {1, 1, MAX_POSITIONS, MAX_POSITIONS}, tril),
        g.int64s("causal.starts", 0, 0), ends, g.int64s("causal.axes", 2, 3));
    for (int l = 0; l < LAYERS; l++) {
      String p = "transformer.h." + l;
      String a = Transformers.selfAttention(g, p + ".attn", g.layerNorm(p + ".ln_1", x, WIDTH), WIDTH, HEADS, null,
          keep);
      x = g.op("Add", p + ".attn_residual", List.of(x, a));
      String f = Transformers.mlp(g, p + ".mlp", g.layerNorm(p + ".ln_2", x, WIDTH), WIDTH, 4 * WIDTH);
      x = g.op("Add", p + ".mlp_residual", List.of(x, f));
    }
    x = g.layerNorm("transformer.ln_f", x, WIDTH);
    String logits = g.op("MatMul", "lm_head", List.of(x, g.constant("lm_head.weight_t", new long[] {WIDTH, VOCAB},
        lmHead)));
    g.output(logits, OUTPUT, TensorProto.DataType.FLOAT_VALUE, "batch", "seq", VOCAB);
    return g.build("tiny_gpt");
  }
}
