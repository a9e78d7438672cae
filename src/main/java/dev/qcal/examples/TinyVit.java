package dev.qcal.examples;

import static dev.qcal.examples.Graph.i;
import static dev.qcal.examples.Graph.ints;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.List;

/**
 * A ViT-style image classifier with seeded random weights, shaped like a PyTorch export:
 * {@code pixel_values [batch, 3, SIZE, SIZE]}, a patch Conv (stride = kernel = {@link #PATCH}), flattened and
 * transposed to tokens, a class token Expanded to the batch and Concatenated in front, position embeddings
 * Added, {@link #LAYERS} pre-LN encoder layers, a final LayerNorm and a Gemm head on the class token writing
 * {@code logits [batch, CLASSES]}.
 */
public final class TinyVit {
  public static final String INPUT = "pixel_values";
  public static final String OUTPUT = "logits";
  public static final int SIZE = 32;
  public static final int PATCH = 8;
  public static final int WIDTH = 32;
  public static final int HEADS = 2;
  public static final int LAYERS = 2;
  public static final int CLASSES = 10;

  private TinyVit() {}

  /** The model at {@code opset} (13 or later; LayerNormalization from 17, its decomposition before). */
  public static ModelProto build(int opset, long seed) {
    Graph g = new Graph(opset, seed);
    int tokens = (SIZE / PATCH) * (SIZE / PATCH) + 1;
    g.input(INPUT, TensorProto.DataType.FLOAT_VALUE, "batch", 3, SIZE, SIZE);
    String patches = g.op("Conv", "patch_embed", List.of(INPUT,
        g.weight("patch_embed.weight", Math.sqrt(1.0 / (3 * PATCH * PATCH)), WIDTH, 3, PATCH, PATCH),
        g.weight("patch_embed.bias", 0.02, WIDTH)), ints("kernel_shape", PATCH, PATCH), ints("strides", PATCH, PATCH));
    patches = g.op("Reshape", "patch_embed.flatten", List.of(patches, g.int64s("patch_embed.flat_shape", 0, 0, -1)));
    patches = g.op("Transpose", "patch_embed.transpose", List.of(patches), ints("perm", 0, 2, 1));
    String batch = g.op("Gather", "cls.batch", List.of(g.op("Shape", "cls.shape", List.of(INPUT)),
        g.int64s("cls.index0", 0)), i("axis", 0));
    String shape = g.op("Concat", "cls.expand_shape", List.of(batch, g.int64s("cls.rest", 1, WIDTH)), i("axis", 0));
    String cls = g.op("Expand", "cls.expand", List.of(g.weight("cls_token", 0.5, 1, 1, WIDTH), shape));
    String x = g.op("Concat", "cat_cls", List.of(cls, patches), i("axis", 1));
    x = g.op("Add", "pos_embed.add", List.of(x, g.weight("pos_embed", 0.5, 1, tokens, WIDTH)));
    for (int l = 0; l < LAYERS; l++) {
      String p = "blocks." + l;
      String a = Transformers.selfAttention(g, p + ".attn", g.layerNorm(p + ".norm1", x, WIDTH), WIDTH, HEADS, null,
          null);
      x = g.op("Add", p + ".attn_residual", List.of(x, a));
      String f = Transformers.mlp(g, p + ".mlp", g.layerNorm(p + ".norm2", x, WIDTH), WIDTH, 2 * WIDTH);
      x = g.op("Add", p + ".mlp_residual", List.of(x, f));
    }
    x = g.layerNorm("norm", x, WIDTH);
    String logits = g.op("Gemm", "head", List.of(Transformers.firstToken(g, "head", x),
        g.weight("head.weight", Math.sqrt(1.0 / WIDTH), CLASSES, WIDTH), g.weight("head.bias", 0.02, CLASSES)),
        i("transB", 1));
    g.output(logits, OUTPUT, TensorProto.DataType.FLOAT_VALUE, "batch", CLASSES);
    return g.build("tiny_vit");
  }
}
