package dev.qcal.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.examples.Graph;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/** Builders for the tiny ONNX graphs the model tests construct in code (the vocabulary of {@link Graph}). */
public final class TestGraphs {

  public static final Path EXAMPLE = Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx");

  private TestGraphs() {}

  public static ModelProto model(int opset, List<NodeProto> nodes, List<ValueInfoProto> inputs, List<ValueInfoProto> outputs,
      List<TensorProto> initializers) {
    GraphProto graph = GraphProto.newBuilder().setName("tiny").addAllNode(nodes).addAllInput(inputs)
        .addAllOutput(outputs).addAllInitializer(initializers).build();
    return ModelProto.newBuilder().setIrVersion(4).setProducerName("qcal-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(graph).build();
  }

  /** A FLOAT value info; no dims means an unknown shape. */
  public static ValueInfoProto floatInfo(String name, long... dims) {
    TypeProto.Tensor.Builder t = TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE);
    if (dims.length > 0) {
      TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
      for (long d : dims) {
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
      }
      t.setShape(shape);
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(t)).build();
  }

  /** A FLOAT graph input of shape [N, dims...] with a symbolic batch dimension N. */
  public static ValueInfoProto batchInput(String name, long... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
    for (long d : dims) {
      shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
  }

  /** A graph input of ONNX element type {@code elemType} and shape [N, dims...] with a symbolic batch N. */
  public static ValueInfoProto typedBatchInput(String name, int elemType, long... dims) {
    ValueInfoProto f = batchInput(name, dims);
    return f.toBuilder().setType(f.getType().toBuilder().setTensorType(
        f.getType().getTensorType().toBuilder().setElemType(elemType))).build();
  }

  public static NodeProto node(String op, String name, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
    return Graph.node(op, name, inputs, outputs, attrs);
  }

  public static AttributeProto f(String name, float v) {
    return Graph.f(name, v);
  }

  public static AttributeProto i(String name, long v) {
    return Graph.i(name, v);
  }

  public static AttributeProto s(String name, String v) {
    return Graph.s(name, v);
  }

  public static AttributeProto ints(String name, long... v) {
    return Graph.ints(name, v);
  }

  public static AttributeProto floats(String name, float... v) {
    return Graph.floats(name, v);
  }

  public static TensorProto floatTensor(String name, long[] dims, float... values) {
    return Graph.floatTensor(name, dims, values);
  }

  public static float[] randomFloats(int n, long seed) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int k = 0; k < n; k++) {
      a[k] = (float) (r.nextDouble() * 4 - 2);
    }
    return a;
  }

  public static NodeProto find(ModelProto m, String opType) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(opType)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + opType + " node"));
  }
}
