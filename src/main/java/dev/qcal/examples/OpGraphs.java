package dev.qcal.examples;

import static dev.qcal.examples.Graph.f;
import static dev.qcal.examples.Graph.i;
import static dev.qcal.examples.Graph.ints;
import static dev.qcal.examples.Graph.s;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.List;

/**
 * One small graph per operator qcal has a rule for, each op placed between Conv or MatMul producers and
 * consumers (so that the default op types quantize something around it), buildable at opsets 11, 13, 17
 * and 21 (each op's attribute-or-input form for that opset), with a free leading dimension ({@link #FREE},
 * symbolic {@code N}) or a fixed one, and saved with the newest ONNX IR version ({@link #NEWEST_IR}). The
 * single input is {@code x}: {@code [L, 4, 8, 8]} for image graphs, {@code [L, 6, 16]} for sequence
 * graphs, {@code [L, 16]} for Gemm. Weights are seeded random, scaled by {@code sqrt(2 / fan-in)}.
 *
 * <p>{@link #cases()} lists them with the figures their coverage test holds them to; a case written in
 * another class is one more line there: {@code new Case("LSTM", Recurrent::lstm, false, 20, 20, 11)}.
 */
public final class OpGraphs {
  /** The opsets every case is built at (from its {@link Case#minOpset()}). */
  public static final List<Integer> OPSETS = List.of(11, 13, 17, 21);

  /** A free (symbolic {@code N}) leading dimension. */
  public static final long FREE = 0;

  /** The fixed leading dimension the coverage test uses. */
  public static final long FIXED = 2;

  /** The IR version the current {@code onnx} package writes (ONNX Runtime reads up to 11; qcal lowers it). */
  public static final long NEWEST_IR = 14;

  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
  private static final int INT64 = TensorProto.DataType.INT64_VALUE;

  /** Builds a case's model at {@code opset} with leading dimension {@code leading} ({@link #FREE} or a size). */
  @FunctionalInterface
  public interface Builder {
    ModelProto build(int opset, long leading);
  }

  /**
   * One op's graph: whether the default op types quantize the op's node itself, the lowest output SQNR
   * (dB, against FP32) its coverage test accepts with the defaults and with the op named in
   * {@code --op-types}, and the first opset the op exists at.
   */
  public record Case(String op, Builder builder, boolean quantizedByDefault, double minDefaultsDb, double minAskedDb,
      int minOpset) {
    /** The model at {@code opset}, leading dimension {@code leading}. */
    public ModelProto build(int opset, long leading) {
      return builder.build(opset, leading);
    }
  }

  // the thresholds (defaults dB, asked dB) are 3 dB below the lower of the figures OpCoverageTest measured over
  // the opsets and leading dimensions it calibrated (defaults / asked in the comments; ORT 1.23.2, min/max)
  private static final List<Case> CASES = List.of(
      new Case("Conv", OpGraphs::conv, true, 31, 31, 11),  // measured 34.6 / 34.6 dB
      new Case("ConvTranspose", OpGraphs::convTranspose, false, 28, 28, 11),  // measured 31.8 / 31.8 dB
      new Case("Gemm", OpGraphs::gemm, true, 35, 35, 11),  // measured 38.4 / 38.4 dB
      new Case("MatMul", OpGraphs::matMul, true, 35, 35, 11),  // measured 38.2 / 38.2 dB
      new Case("Add", (o, l) -> twoBranches(o, l, "Add"), false, 29, 29, 11),  // measured 33.0 / 33.0 dB
      new Case("Mul", (o, l) -> twoBranches(o, l, "Mul"), false, 25, 25, 11),  // measured 28.5 / 28.5 dB
      new Case("Concat", (o, l) -> twoBranches(o, l, "Concat"), false, 29, 29, 11),  // measured 32.5 / 32.5 dB
      new Case("Relu", (o, l) -> activation(o, l, "Relu"), false, 29, 28, 11),  // measured 32.9 / 31.9 dB
      new Case("Clip", (o, l) -> activation(o, l, "Clip"), false, 29, 28, 11),  // measured 32.7 / 31.9 dB
      new Case("Softmax", OpGraphs::softmax, false, 34, 34, 11),  // measured 37.9 / 37.3 dB
      new Case("Resize", OpGraphs::resize, false, 30, 30, 11),  // measured 33.6 / 33.6 dB
      new Case("Pad", OpGraphs::pad, false, 31, 31, 11),  // measured 34.5 / 34.5 dB
      new Case("MaxPool", (o, l) -> pool(o, l, "MaxPool"), false, 30, 31, 11),  // measured 33.1 / 34.3 dB
      new Case("AveragePool", (o, l) -> pool(o, l, "AveragePool"), false, 31, 31, 11),  // measured 35.0 / 35.0 dB
      new Case("GlobalAveragePool", (o, l) -> pool(o, l, "GlobalAveragePool"), false, 30, 30, 11),  // measured 33.3 / 33.3 dB
      new Case("Squeeze", OpGraphs::squeeze, false, 31, 31, 11),  // measured 34.9 / 34.9 dB
      new Case("Unsqueeze", OpGraphs::unsqueeze, false, 31, 31, 11),  // measured 34.6 / 34.6 dB
      new Case("Transpose", OpGraphs::transpose, false, 33, 33, 11),  // measured 36.8 / 36.8 dB
      new Case("Flatten", OpGraphs::flatten, false, 30, 30, 11),  // measured 33.7 / 33.7 dB
      new Case("Reshape", OpGraphs::reshape, false, 32, 32, 11),  // measured 35.5 / 35.5 dB
      new Case("Split", OpGraphs::split, false, 30, 30, 11),  // measured 33.0 / 33.7 dB
      new Case("Slice", OpGraphs::slice, false, 31, 31, 11),  // measured 34.5 / 34.5 dB
      new Case("ArgMax", OpGraphs::argMax, false, 32, 32, 11),  // measured 35.9 / 35.9 dB
      new Case("TopK", OpGraphs::topK, false, 34, 35, 11),  // measured 37.9 / 38.9 dB
      new Case("InstanceNormalization", OpGraphs::instanceNorm, false, 30, 30, 11),  // measured 33.4 / 33.4 dB
      new Case("ReduceMean", OpGraphs::reduceMean, false, 32, 32, 11),  // measured 35.3 / 35.3 dB
      new Case("GatherElements", OpGraphs::gatherElements, false, 33, 33, 11),  // measured 36.9 / 36.9 dB
      new Case("Gather", OpGraphs::gather, false, 22, 32, 11),  // measured 25.6 / 35.6 dB
      new Case("Where", OpGraphs::where, false, 32, 32, 11),  // measured 35.8 / 35.8 dB
      new Case("Sigmoid", (o, l) -> activation(o, l, "Sigmoid"), false, 32, 31, 11),  // measured 35.6 / 34.5 dB
      new Case("LayerNormalization", OpGraphs::layerNorm, false, 30, 30, 17),  // measured 34.0 / 34.0 dB
      // ContribGraphs (LSTM/GRU weights int8 per row by default; com.microsoft Attention, SkipLayerNormalization)
      new Case("LSTM", newestIr(ContribGraphs::lstm), true, 42, 42, 11),  // measured 45.1 / 45.1 dB
      new Case("GRU", newestIr(ContribGraphs::gru), true, 42, 42, 11),  // measured 45.0 / 45.0 dB
      new Case("Attention", newestIr(ContribGraphs::attention), false, 37, 33, 11),  // com.microsoft; measured 41.7 / 37.5 dB
      new Case("SkipLayerNormalization", newestIr(ContribGraphs::skipLayerNorm), false, 36, 32, 11));  // measured 40.2 / 36.1 dB

  private OpGraphs() {}

  /** {@code b}'s model saved with {@link #NEWEST_IR}, as every graph of the generator is. */
  private static Builder newestIr(Builder b) {
    return (opset, leading) -> b.build(opset, leading).toBuilder().setIrVersion(NEWEST_IR).build();
  }

  /** Every case, in the order above. */
  public static List<Case> cases() {
    return CASES;
  }

  /** The case for {@code op}. */
  public static Case of(String op) {
    return CASES.stream().filter(c -> c.op().equals(op)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no op graph for " + op));
  }

  // ---- the graphs ----

  /** x -> Conv 3x3 -> Relu (folded into the Conv's output) -> Conv 1x1 -> y. */
  static ModelProto conv(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.g.op("Relu", "relu", List.of(n.conv(n.image(), 4, 8, 3, 1)));
    return n.done("conv", n.conv(h, 8, 4, 1, 1));
  }

  /** x -> Conv 3x3 -> ConvTranspose 2x2 stride 2 (upsampling) -> Conv 1x1 -> y. */
  static ModelProto convTranspose(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.conv(n.image(), 4, 8, 3, 1);
    String up = n.g.op("ConvTranspose", "deconv", List.of(h, n.w(0.35, 8, 4, 2, 2), n.w(0.02, 4)),
        ints("kernel_shape", 2, 2), ints("strides", 2, 2));
    return n.done("conv_transpose", n.conv(up, 4, 4, 1, 1));
  }

  /** x [L, 16] -> Gemm (transB) -> Relu -> Gemm -> y [L, 8]. */
  static ModelProto gemm(int opset, long leading) {
    Net n = new Net(opset, leading);
    String x = n.g.input("x", FLOAT, n.lead(), 16);
    String h = n.g.op("Relu", "relu", List.of(n.gemm(x, 16, 32)));
    return n.done("gemm", n.gemm(h, 32, 8));
  }

  /** x [L, 6, 16] -> MatMul -> Relu -> MatMul -> y [L, 6, 8]. */
  static ModelProto matMul(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.g.op("Relu", "relu", List.of(n.matMul(n.sequence(), 16, 32)));
    return n.done("matmul", n.matMul(h, 32, 8));
  }

  /** Two Convs of x (3x3 and 1x1) joined by {@code op} (Add, Mul or Concat on channels) -> Conv 1x1 -> y. */
  static ModelProto twoBranches(int opset, long leading, String op) {
    Net n = new Net(opset, leading);
    String x = n.image();
    String a = n.conv(x, 4, 8, 3, 1);
    String b = n.conv(x, 4, 8, 1, 1);
    String joined = op.equals("Concat") ? n.g.op("Concat", "concat", List.of(a, b), i("axis", 1))
        : n.g.op(op, op.toLowerCase(), List.of(a, b));
    return n.done(op.toLowerCase(), n.conv(joined, op.equals("Concat") ? 16 : 8, 4, 1, 1));
  }

  /**
   * Two Convs of x (3x3 and 1x1) summed by an Add of two activations (not a default op type, and not one
   * ONNX Runtime fuses into the Convs, so the activation's producer is not quantized) -> {@code op} (Relu,
   * Clip [0, 6] or Sigmoid) -> Conv 1x1 -> y.
   */
  static ModelProto activation(int opset, long leading, String op) {
    Net n = new Net(opset, leading);
    String x = n.image();
    String sum = n.g.op("Add", "residual", List.of(n.conv(x, 4, 8, 3, 1), n.conv(x, 4, 8, 1, 1)));
    String act = op.equals("Clip") ? n.g.clip(sum, 0f, 6f) : n.g.op(op, op.toLowerCase(), List.of(sum));
    return n.done(op.toLowerCase(), n.conv(act, 8, 4, 1, 1));
  }

  /** x [L, 6, 16] -> MatMul -> Softmax (last axis) -> MatMul -> y. */
  static ModelProto softmax(int opset, long leading) {
    Net n = new Net(opset, leading);
    String p = n.g.op("Softmax", "softmax", List.of(n.matMul(n.sequence(), 16, 8)), i("axis", -1));
    return n.done("softmax", n.matMul(p, 8, 8));
  }

  /** x -> Conv 3x3 -> Resize nearest x2 (scales input) -> Conv 3x3 -> y [L, 4, 16, 16]. */
  static ModelProto resize(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.conv(n.image(), 4, 8, 3, 1);
    String roi = n.g.constant("roi", new long[] {0});
    String scales = n.g.constant("scales", new long[] {4}, 1f, 1f, 2f, 2f);
    String up = n.g.op("Resize", "resize", List.of(h, roi, scales), s("mode", "nearest"));
    return n.done("resize", n.conv(up, 8, 4, 3, 1));
  }

  /**
   * x -> Conv 3x3 -> Pad 1 in reflect mode (pads an input from opset 11; a constant 0 pad ONNX Runtime
   * would fuse into the next Conv) -> Conv 3x3 unpadded -> y.
   */
  static ModelProto pad(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.conv(n.image(), 4, 8, 3, 1);
    String padded = n.g.op("Pad", "pad", List.of(h, n.g.int64s("pads", 0, 0, 1, 1, 0, 0, 1, 1)),
        s("mode", "reflect"));
    return n.done("pad", n.conv(padded, 8, 4, 3, 0));
  }

  /** x -> Conv 3x3 -> {@code op} (2x2 stride 2, or global) -> Conv 1x1 -> y. */
  static ModelProto pool(int opset, long leading, String op) {
    Net n = new Net(opset, leading);
    String h = n.conv(n.image(), 4, 8, 3, 1);
    String p = op.equals("GlobalAveragePool") ? n.g.op(op, "gap", List.of(h))
        : n.g.op(op, op.toLowerCase(), List.of(h), ints("kernel_shape", 2, 2), ints("strides", 2, 2));
    return n.done(op.toLowerCase(), n.conv(p, 8, 4, 1, 1));
  }

  /** x -> Conv 3x3 to one channel [L, 1, 8, 8] -> Squeeze axis 1 -> MatMul -> y [L, 8, 8]. */
  static ModelProto squeeze(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.conv(n.image(), 4, 1, 3, 1);
    String sq = opset < 13 ? n.g.op("Squeeze", "squeeze", List.of(h), ints("axes", 1))
        : n.g.op("Squeeze", "squeeze", List.of(h, n.g.int64s("squeeze_axes", 1)));
    return n.done("squeeze", n.matMul(sq, 8, 8));
  }

  /** x [L, 6, 16] -> MatMul -> Unsqueeze axis 1 [L, 1, 6, 8] -> Conv 3x3 -> y [L, 4, 6, 8]. */
  static ModelProto unsqueeze(int opset, long leading) {
    Net n = new Net(opset, leading);
    String u = n.g.unsqueeze(n.matMul(n.sequence(), 16, 8), 1);
    return n.done("unsqueeze", n.conv(u, 1, 4, 3, 1));
  }

  /** x [L, 6, 16] -> MatMul -> Transpose [L, 16, 6] -> MatMul -> y [L, 16, 8]. */
  static ModelProto transpose(int opset, long leading) {
    Net n = new Net(opset, leading);
    String t = n.g.op("Transpose", "transpose", List.of(n.matMul(n.sequence(), 16, 16)), ints("perm", 0, 2, 1));
    return n.done("transpose", n.matMul(t, 6, 8));
  }

  /** x -> Conv 3x3 stride 2 [L, 4, 4, 4] -> Flatten [L, 64] -> Gemm -> y [L, 10]. */
  static ModelProto flatten(int opset, long leading) {
    Net n = new Net(opset, leading);
    String fl = n.g.op("Flatten", "flatten", List.of(n.conv(n.image(), 4, 4, 3, 2)), i("axis", 1));
    return n.done("flatten", n.gemm(fl, 64, 10));
  }

  /**
   * x [L, 6, 16] -> MatMul -> Reshape to a constant [L, 96] (-1 when L is free, the fixed size otherwise,
   * as exporters write it) -> Gemm -> y [L, 10].
   */
  static ModelProto reshape(int opset, long leading) {
    Net n = new Net(opset, leading);
    String shape = n.g.int64s("shape", leading == FREE ? -1 : leading, 96);
    String r = n.g.op("Reshape", "reshape", List.of(n.matMul(n.sequence(), 16, 16), shape));
    return n.done("reshape", n.gemm(r, 96, 10));
  }

  /** x -> Conv 3x3 (8 channels) -> Split 4 + 4 (an input from opset 13) -> Conv 1x1 each -> Add -> y. */
  static ModelProto split(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.conv(n.image(), 4, 8, 3, 1);
    List<String> parts = opset < 13 ? n.g.ops("Split", "split", 2, List.of(h), i("axis", 1), ints("split", 4, 4))
        : n.g.ops("Split", "split", 2, List.of(h, n.g.int64s("split_sizes", 4, 4)), i("axis", 1));
    String sum = n.g.op("Add", "add", List.of(n.conv(parts.get(0), 4, 4, 1, 1), n.conv(parts.get(1), 4, 4, 1, 1)));
    return n.done("split", sum);
  }

  /** x -> Conv 3x3 -> Slice rows 1..7 of axis 2 -> Conv 3x3 -> y [L, 4, 6, 8]. */
  static ModelProto slice(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.conv(n.image(), 4, 8, 3, 1);
    String sl = n.g.slice(h, n.g.int64s("starts", 1), n.g.int64s("ends", 7), n.g.int64s("slice_axes", 2));
    return n.done("slice", n.conv(sl, 8, 4, 3, 1));
  }

  /**
   * x [L, 6, 16] -> MatMul -> h; outputs y = MatMul(h) [L, 6, 8] and ArgMax(h) over the last axis
   * (int64 [L, 6]).
   */
  static ModelProto argMax(int opset, long leading) {
    Net n = new Net(opset, leading);
    String h = n.matMul(n.sequence(), 16, 8);
    String idx = n.g.op("ArgMax", "argmax", List.of(h), i("axis", -1), i("keepdims", 0));
    n.g.outputAnyShape(idx, INT64);
    return n.done("argmax", n.matMul(h, 8, 8));
  }

  /** x [L, 6, 16] -> MatMul [L, 6, 8] -> TopK 3 of the last axis (k an input) -> values -> MatMul -> y. */
  static ModelProto topK(int opset, long leading) {
    Net n = new Net(opset, leading);
    List<String> vi = n.g.ops("TopK", "topk", 2, List.of(n.matMul(n.sequence(), 16, 8), n.g.int64s("k", 3)),
        i("axis", -1));
    return n.done("topk", n.matMul(vi.get(0), 3, 8));
  }

  /** x -> Conv 3x3 -> InstanceNormalization (scale near 1, bias near 0) -> Conv 1x1 -> y. */
  static ModelProto instanceNorm(int opset, long leading) {
    Net n = new Net(opset, leading);
    float[] scale = new float[8];
    float[] bias = new float[8];
    for (int k = 0; k < 8; k++) {
      scale[k] = (float) (1 + 0.1 * n.g.gaussian());
      bias[k] = (float) (0.1 * n.g.gaussian());
    }
    String norm = n.g.op("InstanceNormalization", "instance_norm", List.of(n.conv(n.image(), 4, 8, 3, 1),
        n.g.constant("in_scale", new long[] {8}, scale), n.g.constant("in_bias", new long[] {8}, bias)),
        f("epsilon", 1e-5f));
    return n.done("instance_norm", n.conv(norm, 8, 4, 1, 1));
  }

  /** x -> Conv 3x3 -> ReduceMean over the width, kept (axes an input from opset 18) -> Conv 1x1 -> y. */
  static ModelProto reduceMean(int opset, long leading) {
    Net n = new Net(opset, leading);
    String m = n.g.reduceMean(n.conv(n.image(), 4, 8, 3, 1), true, 3);
    return n.done("reduce_mean", n.conv(m, 8, 4, 1, 1));
  }

  /**
   * x [L, 6, 16] -> MatMul -> data [L, 6, 8]; GatherElements(data, indices, axis 1) with constant indices
   * (each column's rows in another order) expanded to data's shape -> MatMul -> y [L, 6, 8].
   */
  static ModelProto gatherElements(int opset, long leading) {
    Net n = new Net(opset, leading);
    String data = n.matMul(n.sequence(), 16, 8);
    long[] order = new long[48];
    for (int k = 0; k < order.length; k++) {
      order[k] = (k / 8 * 5 + k % 8) % 6;
    }
    String idx = n.g.op("Expand", "expand", List.of(n.g.int64("order", new long[] {1, 6, 8}, order),
        n.g.op("Shape", "shape", List.of(data))));
    String picked = n.g.op("GatherElements", "gather_elements", List.of(data, idx), i("axis", 1));
    return n.done("gather_elements", n.matMul(picked, 8, 8));
  }

  /** x [L, 6, 16] -> MatMul -> Gather position 0 of axis 1 (a CLS token) [L, 16] -> MatMul -> y [L, 8]. */
  static ModelProto gather(int opset, long leading) {
    Net n = new Net(opset, leading);
    String cls = n.g.op("Gather", "gather", List.of(n.matMul(n.sequence(), 16, 16),
        n.g.int64("cls", new long[0], 0)), i("axis", 1));
    return n.done("gather", n.matMul(cls, 16, 8));
  }

  /** Where(constant mask [6, 8], MatMul(x), MatMul(x)) -> MatMul -> y; both branches activations. */
  static ModelProto where(int opset, long leading) {
    Net n = new Net(opset, leading);
    String x = n.sequence();
    boolean[] mask = new boolean[48];
    for (int k = 0; k < mask.length; k++) {
      mask[k] = k % 8 <= k / 8;
    }
    String w = n.g.op("Where", "where", List.of(n.g.bools("mask", new long[] {6, 8}, mask), n.matMul(x, 16, 8),
        n.matMul(x, 16, 8)));
    return n.done("where", n.matMul(w, 8, 8));
  }

  /** x [L, 6, 16] -> MatMul -> LayerNormalization (opset 17; written out before it) -> MatMul -> y. */
  static ModelProto layerNorm(int opset, long leading) {
    Net n = new Net(opset, leading);
    String norm = n.g.layerNorm("ln", n.matMul(n.sequence(), 16, 16), 16);
    return n.done("layer_norm", n.matMul(norm, 16, 8));
  }

  /** A graph under construction with its leading dimension and a counter for weight names. */
  private static final class Net {
    final Graph g;
    final long leading;
    private int k;

    Net(int opset, long leading) {
      this.g = new Graph(opset, 25);
      this.leading = leading;
    }

    Object lead() {
      return leading == FREE ? "N" : (Object) leading;
    }

    String image() {
      return g.input("x", FLOAT, lead(), 4, 8, 8);
    }

    String sequence() {
      return g.input("x", FLOAT, lead(), 6, 16);
    }

    String w(double std, long... dims) {
      return g.weight("w" + k++, std, dims);
    }

    /** Conv with {@code kernel / 2} padding (the same size at stride 1), or none when {@code stride} is 0. */
    String conv(String x, int in, int out, int kernel, int stride) {
      int p = stride == 0 ? 0 : kernel / 2;
      stride = Math.max(stride, 1);
      return g.op("Conv", "conv", List.of(x, w(Math.sqrt(2.0 / (in * kernel * kernel)), out, in, kernel, kernel),
          w(0.02, out)), ints("kernel_shape", kernel, kernel), ints("pads", p, p, p, p), ints("strides", stride, stride));
    }

    String matMul(String x, int in, int out) {
      return g.op("MatMul", "matmul", List.of(x, w(Math.sqrt(2.0 / in), in, out)));
    }

    String gemm(String x, int in, int out) {
      return g.op("Gemm", "gemm", List.of(x, w(Math.sqrt(2.0 / in), out, in), w(0.02, out)), i("transB", 1));
    }

    ModelProto done(String name, String y) {
      g.outputAnyShape(y, FLOAT);
      return g.build(name + "_opset" + g.opset()).toBuilder().setIrVersion(NEWEST_IR).build();
    }
  }
}
