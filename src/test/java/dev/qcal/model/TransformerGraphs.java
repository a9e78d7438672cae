package dev.qcal.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Small transformer graphs built in code for the Q/DQ measurements: a BERT-style encoder (int64
 * {@code input_ids} and {@code attention_mask} [N, S], word embedding Gather, LayerNormalization ops,
 * multi-head attention with an additive mask, Erf-form GELU, CLS-token pooler, 2 logits) and a ViT-style
 * image encoder (float {@code pixels} [N, 3, 32, 32], Conv patch embedding, decomposed LayerNorm,
 * Tanh-form GELU, mean pooling, 10 logits). Random weights scaled by 1/sqrt(fan-in), deterministic.
 */
public final class TransformerGraphs {

  /** Sizes of a block. */
  public record Size(int hidden, int heads, int layers, int seq, int vocab) {}

  public static final Size BERT = new Size(128, 4, 2, 32, 8192);
  public static final Size VIT = new Size(128, 4, 2, 16, 0);

  private final List<NodeProto> nodes = new ArrayList<>();
  private final List<TensorProto> inits = new ArrayList<>();
  private final Random rnd;
  private int counter;

  private TransformerGraphs(long seed) {
    this.rnd = new Random(seed);
  }

  /** The BERT-style encoder at opset 17 (LayerNormalization ops). */
  public static ModelProto bert(Size s) {
    TransformerGraphs b = new TransformerGraphs(1);
    int h = s.hidden();
    String word = b.gaussian("word_embeddings", 0.5, s.vocab(), h);
    b.nodes.add(b.node("Gather", "embed", List.of(word, "input_ids"), "emb"));
    String pos = b.gaussian("position_embeddings", 0.5, s.seq(), h);
    String x = b.layerNormOp(b.op("Add", "emb", pos), h);
    // additive mask: (1 - mask) * -10000, shaped [N, 1, 1, S]
    String m = b.op("Cast", "attention_mask", null, TestGraphs.i("to", TensorProto.DataType.FLOAT_VALUE));
    String inv = b.op("Sub", b.scalar(1f), m);
    String add = b.op("Mul", inv, b.scalar(-10000f));
    String mask = b.op("Unsqueeze", add, b.longs(1, 2));
    for (int l = 0; l < s.layers(); l++) {
      x = b.encoderLayer(x, mask, s, true, false);
    }
    String cls = b.op("Gather", x, b.longs0(0), TestGraphs.i("axis", 1));
    String pooled = b.op("Tanh", b.linear(cls, h, h), null);
    String logits = b.linear(pooled, h, 2);
    b.rename(logits, "logits");
    return TestGraphs.model(17, b.nodes, List.of(intInput("input_ids", s.seq()), intInput("attention_mask", s.seq())),
        List.of(TestGraphs.floatInfo("logits")), b.inits).toBuilder().setIrVersion(8).build();
  }

  /** The ViT-style encoder at {@code opset} (decomposed LayerNorm, Tanh GELU; 4x4 patches of 8x8 pixels). */
  public static ModelProto vit(Size s, int opset) {
    TransformerGraphs b = new TransformerGraphs(2);
    int h = s.hidden();
    String w = b.gaussian("patch_w", 1 / Math.sqrt(3 * 64), h, 3, 8, 8);
    String pb = b.gaussian("patch_b", 0.02, h);
    String c = b.op("Conv", List.of("pixels", w, pb), TestGraphs.ints("strides", 8, 8), TestGraphs.ints("kernel_shape", 8, 8));
    String r = b.op("Reshape", c, b.longs(0, h, s.seq()));
    String x = b.op("Transpose", r, null, TestGraphs.ints("perm", 0, 2, 1));
    x = b.op("Add", x, b.gaussian("vit_pos", 0.5, s.seq(), h));
    b.opset = opset;
    for (int l = 0; l < s.layers(); l++) {
      x = b.encoderLayer(x, null, s, false, true);
    }
    String pooled = b.reduceMean(x, 1);
    String logits = b.linear(b.layerNormDecomposed(pooled, h), h, 10);
    b.rename(logits, "logits");
    return TestGraphs.model(opset, b.nodes, List.of(TestGraphs.batchInput("pixels", 3, 32, 32)),
        List.of(TestGraphs.floatInfo("logits")), b.inits).toBuilder().setIrVersion(8).build();
  }

  private int opset = 17;

  /** Post-LN (BERT) or pre-LN (ViT) encoder layer. */
  private String encoderLayer(String x, String mask, Size s, boolean postLn, boolean tanhGelu) {
    int h = s.hidden();
    int d = h / s.heads();
    String in = postLn ? x : layerNormDecomposed(x, h);
    String q = heads(linear(in, h, h), s, 0, 2, 1, 3);
    String k = heads(linear(in, h, h), s, 0, 2, 3, 1);
    String v = heads(linear(in, h, h), s, 0, 2, 1, 3);
    String scores = op("Div", op("MatMul", q, k), scalar((float) Math.sqrt(d)));
    if (mask != null) {
      scores = op("Add", scores, mask);
    }
    String probs = op("Softmax", scores, null, TestGraphs.i("axis", -1));
    String ctx = op("Transpose", op("MatMul", probs, v), null, TestGraphs.ints("perm", 0, 2, 1, 3));
    String attn = linear(op("Reshape", ctx, longs(0, 0, h)), h, h);
    String r1 = op("Add", attn, x);
    String a = postLn ? layerNormOp(r1, h) : r1;
    String f = linear(postLn ? a : layerNormDecomposed(a, h), h, 4 * h);
    String g = tanhGelu ? geluTanh(f) : geluErf(f);
    String r2 = op("Add", linear(g, 4 * h, h), a);
    return postLn ? layerNormOp(r2, h) : r2;
  }

  private String heads(String t, Size s, long... perm) {
    String r = op("Reshape", t, longs(0, 0, s.heads(), s.hidden() / s.heads()));
    return op("Transpose", r, null, TestGraphs.ints("perm", perm));
  }

  /** MatMul by W[in, out] then Add bias[out]. */
  private String linear(String x, int in, int out) {
    String w = gaussian("w" + counter, 1 / Math.sqrt(in), in, out);
    String b = gaussian("b" + counter, 0.02, out);
    return op("Add", op("MatMul", x, w), b);
  }

  private String layerNormOp(String x, int h) {
    return op("LayerNormalization", List.of(x, gamma(h), gaussian("beta" + counter, 0.02, h)),
        TestGraphs.i("axis", -1));
  }

  private String layerNormDecomposed(String x, int h) {
    String mu = reduceMean(x, -1);
    String dlt = op("Sub", x, mu);
    String var = reduceMean(op("Pow", dlt, scalar(2f)), -1);
    String std = op("Sqrt", op("Add", var, scalar(1e-5f)));
    String n = op("Div", dlt, std);
    return op("Add", op("Mul", n, gamma(h)), gaussian("beta" + counter, 0.02, h));
  }

  private String reduceMean(String x, long axis) {
    if (opset >= 18) {
      return op("ReduceMean", List.of(x, longs(axis)), TestGraphs.i("keepdims", axis == -1 ? 1 : 0));
    }
    return op("ReduceMean", List.of(x), TestGraphs.ints("axes", axis), TestGraphs.i("keepdims", axis == -1 ? 1 : 0));
  }

  private String gamma(int h) {
    float[] v = new float[h];
    for (int i = 0; i < h; i++) {
      v[i] = (float) (1 + 0.1 * rnd.nextGaussian());
    }
    String name = "gamma" + counter++;
    inits.add(TestGraphs.floatTensor(name, new long[] {h}, v));
    return name;
  }

  /** 0.5 x (1 + erf(x / sqrt 2)), as PyTorch exports it. */
  private String geluErf(String x) {
    String e = op("Add", op("Erf", op("Div", x, scalar(1.4142135f))), scalar(1f));
    return op("Mul", op("Mul", x, scalar(0.5f)), e);
  }

  /** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), GPT-2's form. */
  private String geluTanh(String x) {
    String half = op("Mul", scalar(0.5f), x);
    String inner = op("Add", x, op("Mul", scalar(0.044715f), op("Pow", x, scalar(3f))));
    String t = op("Tanh", op("Mul", inner, scalar(0.7978846f)));
    return op("Mul", half, op("Add", t, scalar(1f)));
  }

  private String op(String type, String a, String b, AttributeProto... attrs) {
    return op(type, b == null ? List.of(a) : List.of(a, b), attrs);
  }

  private String op(String type, String a) {
    return op(type, List.of(a));
  }

  private String op(String type, List<String> inputs, AttributeProto... attrs) {
    String out = type.toLowerCase() + "_" + counter++;
    nodes.add(TestGraphs.node(type, type + "_" + counter, inputs, List.of(out), attrs));
    return out;
  }

  private NodeProto node(String type, String name, List<String> inputs, String out) {
    return TestGraphs.node(type, name, inputs, List.of(out));
  }

  /** Makes the node writing {@code t} write {@code name} instead. */
  private void rename(String t, String name) {
    for (int i = 0; i < nodes.size(); i++) {
      NodeProto n = nodes.get(i);
      if (n.getOutputList().contains(t)) {
        nodes.set(i, n.toBuilder().setOutput(n.getOutputList().indexOf(t), name).build());
      }
    }
  }

  private String gaussian(String name, double std, long... dims) {
    int n = 1;
    for (long d : dims) {
      n *= (int) d;
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (std * rnd.nextGaussian());
    }
    inits.add(TestGraphs.floatTensor(name, dims, v));
    return name;
  }

  private String scalar(float v) {
    String name = "c" + counter++;
    inits.add(TestGraphs.floatTensor(name, new long[0], v));
    return name;
  }

  /** A 1-D int64 initializer. */
  private String longs(long... v) {
    String name = "i" + counter++;
    inits.add(int64(name, new long[] {v.length}, v));
    return name;
  }

  /** A 0-D int64 initializer (a Gather index that drops the axis). */
  private String longs0(long v) {
    String name = "i" + counter++;
    inits.add(int64(name, new long[0], v));
    return name;
  }

  static TensorProto int64(String name, long[] dims, long... v) {
    ByteBuffer bb = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      bb.putLong(x);
    }
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
        .setRawData(ByteString.copyFrom(bb.array()));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  private static ValueInfoProto intInput(String name, long seq) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(seq)).build();
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.INT64_VALUE).setShape(shape))).build();
  }
}
