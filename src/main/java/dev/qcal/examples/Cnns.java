package dev.qcal.examples;

import static dev.qcal.examples.Graph.f;
import static dev.qcal.examples.Graph.i;
import static dev.qcal.examples.Graph.ints;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.List;

/**
 * Convolutional example models with seeded random weights: a MobileNet-style depthwise-separable classifier,
 * a fully convolutional net with dynamic height and width, and a small CNN that can be written at any opset
 * from 9 to 21 with the same weights. Input {@link #INPUT} {@code [batch, 3, H, W]} float, output
 * {@link #OUTPUT}.
 */
public final class Cnns {
  public static final String INPUT = "input";
  public static final String OUTPUT = "logits";
  public static final int CLASSES = 10;
  /** Input height and width of the two classifiers. */
  public static final int SIZE = 32;

  private Cnns() {}

  /**
   * MobileNet-style, opset 13: a 3x3/2 stem Conv (16 channels), then three depthwise-separable blocks (3x3
   * depthwise Conv with {@code group} = channels, BatchNormalization, Clip(0, 6), 1x1 pointwise Conv,
   * BatchNormalization, Clip(0, 6)) to 24, 32 and 48 channels (stride 2 in the second), GlobalAveragePool,
   * Flatten and a Gemm to {@code logits [batch, CLASSES]}. The BatchNormalizations stay unfolded.
   */
  public static ModelProto separable(long seed) {
    Graph g = new Graph(13, seed);
    g.input(INPUT, TensorProto.DataType.FLOAT_VALUE, "batch", 3, SIZE, SIZE);
    String x = relu6(g, batchNorm(g, "stem.bn", conv(g, "stem", INPUT, 3, 16, 3, 2, 1), 16));
    int channels = 16;
    int[] widths = {24, 32, 48};
    for (int b = 0; b < widths.length; b++) {
      String p = "block" + b;
      x = relu6(g, batchNorm(g, p + ".dw.bn", conv(g, p + ".dw", x, channels, channels, 3, b == 1 ? 2 : 1, channels),
          channels));
      x = relu6(g, batchNorm(g, p + ".pw.bn", conv(g, p + ".pw", x, channels, widths[b], 1, 1, 1), widths[b]));
      channels = widths[b];
    }
    return classifierHead(g, x, channels, "separable_cnn");
  }

  /**
   * Fully convolutional, opset 13: {@code input [batch, 3, height, width]} with symbolic height and width,
   * Conv 3x3 (8 channels), Relu, Conv 3x3 (8), Relu, Conv 1x1 (2), all padded so {@code logits} is
   * {@code [batch, 2, height, width]}.
   */
  public static ModelProto fullyConvolutional(long seed) {
    Graph g = new Graph(13, seed);
    g.input(INPUT, TensorProto.DataType.FLOAT_VALUE, "batch", 3, "height", "width");
    String x = g.op("Relu", "relu", List.of(conv(g, "conv1", INPUT, 3, 8, 3, 1, 1)));
    x = g.op("Relu", "relu", List.of(conv(g, "conv2", x, 8, 8, 3, 1, 1)));
    x = conv(g, "conv3", x, 8, 2, 1, 1, 1);
    g.output(x, OUTPUT, TensorProto.DataType.FLOAT_VALUE, "batch", 2, "height", "width");
    return g.build("fully_convolutional");
  }

  /**
   * A small CNN at {@code opset} (9 to 21), the same weights at every opset: Conv 3x3 (8), Clip(0, 6)
   * (bounds as attributes before opset 11), MaxPool 2x2, Conv 3x3 (16), Relu, ReduceMean over H and W (axes an
   * input from opset 18), Gemm to {@code logits [batch, CLASSES]}.
   */
  public static ModelProto small(int opset, long seed) {
    Graph g = new Graph(opset, seed);
    g.input(INPUT, TensorProto.DataType.FLOAT_VALUE, "batch", 3, SIZE, SIZE);
    String x = g.clip(conv(g, "conv1", INPUT, 3, 8, 3, 1, 1), 0f, 6f);
    x = g.op("MaxPool", "pool", List.of(x), ints("kernel_shape", 2, 2), ints("strides", 2, 2));
    x = g.op("Relu", "relu", List.of(conv(g, "conv2", x, 8, 16, 3, 1, 1)));
    x = g.reduceMean(x, false, 2, 3);
    String logits = g.op("Gemm", "fc", List.of(x, g.weight("fc.weight", Math.sqrt(1.0 / 16), CLASSES, 16),
        g.weight("fc.bias", 0.02, CLASSES)), i("transB", 1));
    g.output(logits, OUTPUT, TensorProto.DataType.FLOAT_VALUE, "batch", CLASSES);
    return g.build("small_cnn_opset" + opset);
  }

  private static ModelProto classifierHead(Graph g, String x, int channels, String name) {
    x = g.op("GlobalAveragePool", "gap", List.of(x));
    x = g.op("Flatten", "flatten", List.of(x), i("axis", 1));
    String logits = g.op("Gemm", "fc", List.of(x, g.weight("fc.weight", Math.sqrt(1.0 / channels), CLASSES, channels),
        g.weight("fc.bias", 0.02, CLASSES)), i("transB", 1));
    g.output(logits, OUTPUT, TensorProto.DataType.FLOAT_VALUE, "batch", CLASSES);
    return g.build(name);
  }

  private static String conv(Graph g, String name, String x, int in, int out, int k, int stride, int group) {
    int pad = k / 2;
    return g.op("Conv", name, List.of(x, g.weight(name + ".weight", Math.sqrt(2.0 / (in / group * k * k)), out,
        in / group, k, k), g.weight(name + ".bias", 0.05, out)), ints("kernel_shape", k, k), ints("strides", stride,
        stride), ints("pads", pad, pad, pad, pad), i("group", group));
  }

  private static String batchNorm(Graph g, String name, String x, int channels) {
    float[] scale = new float[channels];
    float[] bias = new float[channels];
    float[] mean = new float[channels];
    float[] var = new float[channels];
    for (int c = 0; c < channels; c++) {
      scale[c] = (float) (1 + 0.2 * g.gaussian());
      bias[c] = (float) (0.1 * g.gaussian());
      mean[c] = (float) (0.1 * g.gaussian());
      var[c] = (float) (0.5 + Math.abs(g.gaussian()));
    }
    return g.op("BatchNormalization", name, List.of(x, g.constant(name + ".weight", new long[] {channels}, scale),
        g.constant(name + ".bias", new long[] {channels}, bias), g.constant(name + ".running_mean",
        new long[] {channels}, mean), g.constant(name + ".running_var", new long[] {channels}, var)),
        f("epsilon", 1e-5f));
  }

  private static String relu6(Graph g, String x) {
    return g.clip(x, 0f, 6f);
  }
}
