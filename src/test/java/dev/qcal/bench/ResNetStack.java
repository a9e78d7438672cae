package dev.qcal.bench;

import static dev.qcal.model.TestGraphs.i;
import static dev.qcal.model.TestGraphs.ints;
import static dev.qcal.model.TestGraphs.node;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.TestGraphs;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A ResNet-style FP32 classifier at 224x224 built in code for the calibrate benchmark, so activation
 * volume per sample is that of a real vision model: a 7x7/2 stem convolution (16 channels, 112x112),
 * 3x3/2 max pooling, then three stages of two basic residual blocks (conv-relu-conv, add, relu) at
 * 16/56x56, 32/28x28 and 64/14x14 (1x1/2 projection on the shortcut where the shape changes), global
 * average pooling and a 10-way Gemm. Weights are He-normal from a fixed seed: the same model every run.
 * About 0.25 GMAC per sample.
 */
public final class ResNetStack {
  public static final String INPUT = "input";
  public static final String OUTPUT = "logits";

  private final List<NodeProto> nodes = new ArrayList<>();
  private final List<TensorProto> weights = new ArrayList<>();
  private final Random random;
  private int next;

  private ResNetStack(long seed) {
    this.random = new Random(seed);
  }

  /** The model, input {@code input [N, 3, 224, 224]}, output {@code logits [N, 10]}, opset 13. */
  public static ModelProto build(long seed) {
    ResNetStack b = new ResNetStack(seed);
    String x = b.conv(INPUT, 3, 16, 7, 2);
    x = b.relu(x);
    String pooled = "pool_" + b.next++;
    b.nodes.add(node("MaxPool", pooled, List.of(x), List.of(pooled), ints("kernel_shape", 3, 3), ints("strides", 2, 2),
        ints("pads", 1, 1, 1, 1)));
    x = pooled;
    int channels = 16;
    for (int stage = 0; stage < 3; stage++) {
      int out = 16 << stage;
      for (int block = 0; block < 2; block++) {
        int stride = stage > 0 && block == 0 ? 2 : 1;
        x = b.basicBlock(x, channels, out, stride);
        channels = out;
      }
    }
    String gap = "gap_" + b.next++;
    b.nodes.add(node("GlobalAveragePool", gap, List.of(x), List.of(gap)));
    String flat = "flat_" + b.next++;
    b.nodes.add(node("Flatten", flat, List.of(gap), List.of(flat), i("axis", 1)));
    String w = b.weight("fc_w", new long[] {10, channels}, Math.sqrt(1.0 / channels));
    String bias = b.weight("fc_b", new long[] {10}, 0.01);
    b.nodes.add(node("Gemm", "fc", List.of(flat, w, bias), List.of(OUTPUT), i("transB", 1)));
    TypeProto.Tensor.Builder in = TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE)
        .setShape(TensorShapeProto.newBuilder()
            .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
            .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(3))
            .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(224))
            .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(224)));
    ValueInfoProto input = ValueInfoProto.newBuilder().setName(INPUT)
        .setType(TypeProto.newBuilder().setTensorType(in)).build();
    TypeProto.Tensor.Builder outType = TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE)
        .setShape(TensorShapeProto.newBuilder()
            .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
            .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(10)));
    ValueInfoProto output = ValueInfoProto.newBuilder().setName(OUTPUT)
        .setType(TypeProto.newBuilder().setTensorType(outType)).build();
    ModelProto m = TestGraphs.model(13, b.nodes, List.of(input), List.of(output), b.weights);
    return m.toBuilder().setIrVersion(7).setProducerName("qcal-bench")
        .setGraph(m.getGraph().toBuilder().setName("resnet_stack_224")).build();
  }

  private String basicBlock(String x, int in, int out, int stride) {
    String h = relu(conv(x, in, out, 3, stride));
    h = conv(h, out, out, 3, 1);
    String shortcut = in == out && stride == 1 ? x : conv(x, in, out, 1, stride);
    String sum = "add_" + next++;
    nodes.add(node("Add", sum, List.of(h, shortcut), List.of(sum)));
    return relu(sum);
  }

  private String conv(String x, int in, int out, int k, int stride) {
    String name = "conv_" + next++;
    String w = weight(name + "_w", new long[] {out, in, k, k}, Math.sqrt(2.0 / (in * k * k)));
    String b = weight(name + "_b", new long[] {out}, 0.05);
    int pad = k / 2;
    nodes.add(node("Conv", name, List.of(x, w, b), List.of(name), ints("kernel_shape", k, k),
        ints("strides", stride, stride), ints("pads", pad, pad, pad, pad)));
    return name;
  }

  private String relu(String x) {
    String name = "relu_" + next++;
    nodes.add(node("Relu", name, List.of(x), List.of(name)));
    return name;
  }

  private String weight(String name, long[] dims, double std) {
    int n = 1;
    for (long d : dims) {
      n *= (int) d;
    }
    float[] v = new float[n];
    for (int k = 0; k < n; k++) {
      v[k] = (float) (random.nextGaussian() * std);
    }
    weights.add(TestGraphs.floatTensor(name, dims, v));
    return name;
  }
}
