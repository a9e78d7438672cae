package dev.qcal.examples;

import static dev.qcal.examples.Graph.i;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.List;

/**
 * A BERT-style text classifier with seeded random weights, shaped like a PyTorch export of
 * {@code BertForSequenceClassification}: int64 inputs {@code input_ids}, {@code attention_mask},
 * {@code token_type_ids} of shape {@code [batch, seq]} (seq dynamic, at most {@link #MAX_POSITIONS}); word,
 * position (a buffer Sliced to the sequence length) and token-type embeddings (Gather), LayerNorm, an
 * additive mask {@code (1 - mask) * -10000} (Unsqueeze, Cast, Sub, Mul), {@link #LAYERS} post-LN encoder
 * layers, a pooler (token 0, Gemm, Tanh) and a classifier Gemm writing {@code logits [batch, CLASSES]}.
 */
public final class TinyBert {
  public static final List<String> INPUTS = List.of("input_ids", "attention_mask", "token_type_ids");
  public static final String OUTPUT = "logits";
  public static final int VOCAB = 100;
  public static final int MAX_POSITIONS = 64;
  public static final int WIDTH = 32;
  public static final int HEADS = 2;
  public static final int LAYERS = 2;
  public static final int CLASSES = 3;

  private TinyBert() {}

  /** The model at {@code opset} (11 or later; LayerNormalization from 17, its decomposition before). */
  public static ModelProto build(int opset, long seed) {
    Graph g = new Graph(opset, seed);
    int int64 = TensorProto.DataType.INT64_VALUE;
    for (String in : INPUTS) {
      g.input(in, int64, "batch", "seq");
    }
    String words = g.op("Gather", "embeddings.word", List.of(g.weight("embeddings.word_embeddings.weight", 1.0, VOCAB,
        WIDTH), "input_ids"));
    long[] positions = new long[MAX_POSITIONS];
    for (int k = 0; k < positions.length; k++) {
      positions[k] = k;
    }
    String positionIds = g.slice(g.int64("embeddings.position_ids", new long[] {1, MAX_POSITIONS}, positions),
        g.int64s("embeddings.start", 0), Transformers.seqLength(g, "embeddings", "input_ids"),
        g.int64s("embeddings.axis1", 1));
    String pos = g.op("Gather", "embeddings.position", List.of(g.weight("embeddings.position_embeddings.weight", 0.5,
        MAX_POSITIONS, WIDTH), positionIds));
    String types = g.op("Gather", "embeddings.token_type", List.of(g.weight("embeddings.token_type_embeddings.weight",
        0.5, 2, WIDTH), "token_type_ids"));
    String x = g.op("Add", "embeddings.add", List.of(g.op("Add", "embeddings.add", List.of(words, pos)), types));
    x = g.layerNorm("embeddings.LayerNorm", x, WIDTH);

    String m = g.op("Cast", "extended_mask.cast", List.of(g.unsqueeze("attention_mask", 1, 2)),
        i("to", TensorProto.DataType.FLOAT_VALUE));
    m = g.op("Sub", "extended_mask.invert", List.of(g.constant("extended_mask.one", new long[0], 1f), m));
    String mask = g.op("Mul", "extended_mask.scale", List.of(m, g.constant("extended_mask.min", new long[0], -10000f)));

    for (int l = 0; l < LAYERS; l++) {
      String p = "encoder.layer." + l;
      String a = Transformers.selfAttention(g, p + ".attention", x, WIDTH, HEADS, mask, null);
      x = g.layerNorm(p + ".attention.LayerNorm", g.op("Add", p + ".attention.residual", List.of(a, x)), WIDTH);
      String f = Transformers.mlp(g, p + ".mlp", x, WIDTH, 2 * WIDTH);
      x = g.layerNorm(p + ".output.LayerNorm", g.op("Add", p + ".output.residual", List.of(f, x)), WIDTH);
    }
    String pooled = g.op("Gemm", "pooler.dense", List.of(Transformers.firstToken(g, "pooler", x),
        g.weight("pooler.dense.weight", Math.sqrt(1.0 / WIDTH), WIDTH, WIDTH), g.weight("pooler.dense.bias", 0.02,
        WIDTH)), i("transB", 1));
    pooled = g.op("Tanh", "pooler.activation", List.of(pooled));
    String logits = g.op("Gemm", "classifier", List.of(pooled, g.weight("classifier.weight", Math.sqrt(1.0 / WIDTH),
        CLASSES, WIDTH), g.weight("classifier.bias", 0.02, CLASSES)), i("transB", 1));
    g.output(logits, OUTPUT, TensorProto.DataType.FLOAT_VALUE, "batch", CLASSES);
    return g.build("tiny_bert");
  }
}
