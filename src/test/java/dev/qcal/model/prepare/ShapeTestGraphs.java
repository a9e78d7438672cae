package dev.qcal.model.prepare;

import static dev.qcal.model.TestGraphs.floatTensor;
import static dev.qcal.model.TestGraphs.floats;
import static dev.qcal.model.TestGraphs.i;
import static dev.qcal.model.TestGraphs.ints;
import static dev.qcal.model.TestGraphs.node;
import static dev.qcal.model.TestGraphs.randomFloats;
import static dev.qcal.model.TestGraphs.s;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Graphs for shape inference and opset upgrades, and the brute-force oracle: the shapes ONNX Runtime
 * actually produces for every node output.
 */
final class ShapeTestGraphs {

  private ShapeTestGraphs() {}

  /** A FLOAT value info whose dimensions are values (Long) or symbols (String). */
  static ValueInfoProto info(String name, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      shape.addDim(d instanceof String sym ? TensorShapeProto.Dimension.newBuilder().setDimParam(sym)
          : TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
  }

  static TensorProto int64s(String name, long... values) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
        .addDims(values.length);
    for (long v : values) {
      t.addInt64Data(v);
    }
    return t.build();
  }

  static TensorProto randomTensor(String name, long seed, long... dims) {
    int n = 1;
    for (long d : dims) {
      n *= (int) d;
    }
    float[] v = randomFloats(n, seed);
    for (int k = 0; k < n; k++) {
      v[k] *= 0.5f;
    }
    return floatTensor(name, dims, v);
  }

  static ModelProto model(int opset, List<NodeProto> nodes, List<ValueInfoProto> inputs, List<ValueInfoProto> outputs,
      List<TensorProto> initializers) {
    GraphProto graph = GraphProto.newBuilder().setName("g" + opset).addAllNode(nodes).addAllInput(inputs)
        .addAllOutput(outputs).addAllInitializer(initializers).build();
    return ModelProto.newBuilder().setIrVersion(Math.max(3, OpsetUpgrader.minIrVersion(opset))).setProducerName("qcal-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(graph).build();
  }

  /**
   * SVTR-style multi-head self-attention at opset 9, as PaddlePaddle exports it in the PP-OCRv4
   * recognizer's neck: x [N, 8, 2, W] is flattened to [N, L=2W, 8] through a Reshape whose target comes
   * from Shape/Slice/Concat (N and W are dynamic, so it is not folded), qkv is split into heads by a
   * second computed Reshape (its length read through int32 Casts, as exported) and a Transpose, and {@code Softmax(axis=3)} of {@code MatMul(q, kᵀ)} needs
   * a rank that only inference through those Reshapes can tell.
   */
  static ModelProto attention() {
    List<NodeProto> n = new ArrayList<>();
    n.add(node("Shape", "shape_x", List.of("x"), List.of("sx")));
    n.add(node("Slice", "nc", List.of("sx"), List.of("sx_nc"), ints("axes", 0), ints("starts", 0), ints("ends", 2)));
    n.add(node("Concat", "flat_shape", List.of("sx_nc", "minus1"), List.of("flat_to"), i("axis", 0)));
    n.add(node("Reshape", "flatten", List.of("x", "flat_to"), List.of("flat")));
    n.add(node("Transpose", "tokens", List.of("flat"), List.of("t"), ints("perm", 0, 2, 1)));
    n.add(node("MatMul", "qkv_mm", List.of("t", "w_qkv"), List.of("qkv0")));
    n.add(node("Add", "qkv_bias", List.of("qkv0", "b_qkv"), List.of("qkv")));
    // as exported: [0, L, 3, heads, C / heads] with L read through int32 casts
    n.add(node("Shape", "shape_qkv", List.of("qkv"), List.of("sq")));
    n.add(node("Cast", "shape32", List.of("sq"), List.of("sq32"), i("to", TensorProto.DataType.INT32_VALUE)));
    n.add(node("Slice", "length", List.of("sq32"), List.of("l32"), ints("axes", 0), ints("starts", 1), ints("ends", 2)));
    n.add(node("Cast", "length64", List.of("l32"), List.of("l1"), i("to", TensorProto.DataType.INT64_VALUE)));
    n.add(node("Concat", "heads_shape", List.of("keep", "l1", "heads_tail"), List.of("heads_to"), i("axis", 0)));
    n.add(node("Reshape", "heads", List.of("qkv", "heads_to"), List.of("qkv5")));
    n.add(node("Transpose", "qkv_first", List.of("qkv5"), List.of("qkvt"), ints("perm", 2, 0, 3, 1, 4)));
    String[] parts = {"q", "k", "v"};
    for (int p = 0; p < 3; p++) {
      n.add(node("Slice", "slice_" + parts[p], List.of("qkvt"), List.of(parts[p] + "5"), ints("axes", 0),
          ints("starts", p), ints("ends", p + 1)));
      n.add(node("Squeeze", "squeeze_" + parts[p], List.of(parts[p] + "5"), List.of(parts[p] + "4"), ints("axes", 0)));
    }
    n.add(node("Mul", "scale_q", List.of("q4", "scale"), List.of("qs")));
    n.add(node("Transpose", "k_t", List.of("k4"), List.of("kt"), ints("perm", 0, 1, 3, 2)));
    n.add(node("MatMul", "scores", List.of("qs", "kt"), List.of("attn0")));
    n.add(node("Softmax", "attn_softmax", List.of("attn0"), List.of("attn"), i("axis", 3)));
    n.add(node("MatMul", "context", List.of("attn", "v4"), List.of("ctx")));
    n.add(node("Transpose", "ctx_t", List.of("ctx"), List.of("ctxt"), ints("perm", 0, 2, 1, 3)));
    n.add(node("Reshape", "merge_heads", List.of("ctxt", "merge_to"), List.of("merged")));
    n.add(node("MatMul", "proj", List.of("merged", "w_out"), List.of("y")));
    List<TensorProto> init = List.of(int64s("minus1", -1), randomTensor("w_qkv", 11, 8, 24),
        randomTensor("b_qkv", 12, 24), int64s("keep", 0), int64s("heads_tail", 3, 2, 4),
        floatTensor("scale", new long[] {}, 0.5f), int64s("merge_to", 0, 0, 8), randomTensor("w_out", 13, 8, 8));
    return model(9, n, List.of(info("x", "N", 8, 2, "W")), List.of(info("y", "N", "L", 8)), init);
  }

  /**
   * The same small convolutional net written in the operator forms of {@code opset} (7 to 21): Conv, Clip
   * (attributes before 11), MaxPool, Pad (attributes before 11), Upsample (7, 9) or Resize (10, 11, 13+),
   * Slice (attributes before 10), ReduceMean (axes input from 18), Transpose, Split (sizes input from 13),
   * a gated unit, Unsqueeze/Squeeze (axes input from 13), a Reshape to a target computed from Shape, MatMul,
 * Softmax on the last axis (whose rank only inference through that Reshape tells), ReduceSum
   * (axes input from 13). x is [N, 3, 8, W], y [N, 5].
   */
  static ModelProto convNet(int opset) {
    List<NodeProto> n = new ArrayList<>();
    List<TensorProto> init = new ArrayList<>();
    init.add(randomTensor("w", 21, 4, 3, 3, 3));
    init.add(randomTensor("b", 22, 4));
    init.add(randomTensor("w2", 23, 2, 5));
    n.add(node("Conv", "conv", List.of("x", "w", "b"), List.of("c"), ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)));
    if (opset < 11) {
      n.add(node("Clip", "clip", List.of("c"), List.of("r"), TestGraphs.f("min", 0f), TestGraphs.f("max", 6f)));
    } else {
      init.add(floatTensor("lo", new long[] {}, 0f));
      init.add(floatTensor("hi", new long[] {}, 6f));
      n.add(node("Clip", "clip", List.of("c", "lo", "hi"), List.of("r")));
    }
    n.add(node("MaxPool", "pool", List.of("r"), List.of("p"), ints("kernel_shape", 2, 2), ints("strides", 2, 2)));
    if (opset < 11) {
      n.add(node("Pad", "pad", List.of("p"), List.of("pd"), ints("pads", 0, 0, 1, 1, 0, 0, 1, 1)));
    } else {
      init.add(int64s("pads", 0, 0, 1, 1, 0, 0, 1, 1));
      n.add(node("Pad", "pad", List.of("p", "pads"), List.of("pd")));
    }
    float[] scales = {1f, 1f, 2f, 2f};
    if (opset < 9) {
      n.add(node("Upsample", "up", List.of("pd"), List.of("u"), floats("scales", scales)));
    } else {
      init.add(floatTensor("scales", new long[] {4}, scales));
      if (opset == 9) {
        n.add(node("Upsample", "up", List.of("pd", "scales"), List.of("u")));
      } else if (opset == 10) {
        n.add(node("Resize", "up", List.of("pd", "scales"), List.of("u")));
      } else {
        if (opset < 13) {
          init.add(floatTensor("roi", new long[] {0}));
        }
        n.add(node("Resize", "up", List.of("pd", opset < 13 ? "roi" : "", "scales"), List.of("u"),
            s("coordinate_transformation_mode", "asymmetric"), s("nearest_mode", "floor")));
      }
    }
    if (opset < 10) {
      n.add(node("Slice", "rows", List.of("u"), List.of("sl"), ints("axes", 2), ints("starts", 1), ints("ends", 11)));
    } else {
      init.add(int64s("starts", 1));
      init.add(int64s("ends", 11));
      init.add(int64s("axis2", 2));
      n.add(node("Slice", "rows", List.of("u", "starts", "ends", "axis2"), List.of("sl")));
    }
    if (opset < 18) {
      n.add(node("ReduceMean", "mean_h", List.of("sl"), List.of("m"), ints("axes", 2), i("keepdims", 0)));
    } else {
      init.add(int64s("axis2", 2));
      n.add(node("ReduceMean", "mean_h", List.of("sl", "axis2"), List.of("m"), i("keepdims", 0)));
    }
    n.add(node("Transpose", "tokens", List.of("m"), List.of("t"), ints("perm", 0, 2, 1)));
    if (opset < 13) {
      n.add(node("Split", "split", List.of("t"), List.of("ga", "gb"), i("axis", 2), ints("split", 2, 2)));
    } else {
      init.add(int64s("halves", 2, 2));
      n.add(node("Split", "split", List.of("t", "halves"), List.of("ga", "gb"), i("axis", 2)));
    }
    n.add(node("Sigmoid", "gate", List.of("gb"), List.of("gs")));
    n.add(node("Mul", "glu", List.of("ga", "gs"), List.of("g")));
    if (opset < 13) {
      n.add(node("Unsqueeze", "unsq", List.of("g"), List.of("g4"), ints("axes", 1)));
      n.add(node("Squeeze", "sq", List.of("g4"), List.of("g3"), ints("axes", 1)));
    } else {
      init.add(int64s("axis1", 1));
      n.add(node("Unsqueeze", "unsq", List.of("g", "axis1"), List.of("g4")));
      n.add(node("Squeeze", "sq", List.of("g4", "axis1"), List.of("g3")));
    }
    // an exporter's identity Reshape whose target is computed (Shape, Slice, Concat): not folded for dynamic N, W
    n.add(node("Shape", "shape_g", List.of("g3"), List.of("gshape")));
    if (opset < 10) {
      n.add(node("Slice", "batch", List.of("gshape"), List.of("gn"), ints("axes", 0), ints("starts", 0), ints("ends", 1)));
    } else {
      init.add(int64s("zero1", 0));
      init.add(int64s("one1", 1));
      n.add(node("Slice", "batch", List.of("gshape", "zero1", "one1"), List.of("gn")));
    }
    init.add(int64s("rest", -1, 2));
    n.add(node("Concat", "target", List.of("gn", "rest"), List.of("gto"), i("axis", 0)));
    n.add(node("Reshape", "regroup", List.of("g3", "gto"), List.of("gr")));
    n.add(node("MatMul", "mm", List.of("gr", "w2"), List.of("logits")));
    n.add(node("Softmax", "softmax", List.of("logits"), List.of("probs"), i("axis", opset < 13 ? 2 : -1)));
    if (opset < 13) {
      n.add(node("ReduceSum", "pool_tokens", List.of("probs"), List.of("y"), ints("axes", 1), i("keepdims", 0)));
    } else {
      init.add(int64s("axis1", 1));
      n.add(node("ReduceSum", "pool_tokens", List.of("probs", "axis1"), List.of("y"), i("keepdims", 0)));
    }
    List<TensorProto> unique = new ArrayList<>(init.stream()
        .collect(java.util.stream.Collectors.toMap(TensorProto::getName, t -> t, (a, b) -> a, LinkedHashMap::new)).values());
    return model(opset, n, List.of(info("x", "N", 3, 8, "W")), List.of(info("y", "N", 5)), unique);
  }

  /**
   * The oracle: the shape of every node output when ONNX Runtime runs {@code model} on random inputs of
   * {@code shapes} (each output's Shape is exposed as an extra graph output).
   */
  static Map<String, long[]> actualShapes(ModelProto model, Path dir, Map<String, long[]> shapes) {
    GraphProto.Builder g = model.getGraph().toBuilder();
    Map<String, String> probes = new LinkedHashMap<>();
    for (NodeProto node : model.getGraph().getNodeList()) {
      for (String out : node.getOutputList()) {
        if (out.isEmpty()) {
          continue;
        }
        String name = "oracle_shape_" + probes.size();
        g.addNode(node("Shape", name, List.of(out), List.of(name)));
        g.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.INT64_VALUE))));
        probes.put(out, name);
      }
    }
    Path file = dir.resolve("oracle-" + System.nanoTime() + ".onnx");
    OnnxModels.save(model.toBuilder().setGraph(g).build(), file);
    Map<String, float[]> in = new LinkedHashMap<>();
    long seed = 5;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long count = 1;
      for (long d : e.getValue()) {
        count *= d;
      }
      in.put(e.getKey(), randomFloats((int) count, seed++));
    }
    Map<String, float[]> out = Ort.run(file, in, shapes);
    Map<String, long[]> actual = new LinkedHashMap<>();
    probes.forEach((tensor, name) -> {
      float[] v = out.get(name);
      long[] dims = new long[v.length];
      for (int k = 0; k < v.length; k++) {
        dims[k] = (long) v[k];
      }
      actual.put(tensor, dims);
    });
    return actual;
  }
}
