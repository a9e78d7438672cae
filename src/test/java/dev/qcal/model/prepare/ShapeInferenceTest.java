package dev.qcal.model.prepare;

import static dev.qcal.model.prepare.ShapeTestGraphs.info;
import static dev.qcal.model.prepare.ShapeTestGraphs.int64s;
import static dev.qcal.model.prepare.ShapeTestGraphs.randomTensor;
import static dev.qcal.model.TestGraphs.floatTensor;
import static dev.qcal.model.TestGraphs.i;
import static dev.qcal.model.TestGraphs.ints;
import static dev.qcal.model.TestGraphs.node;
import static dev.qcal.model.TestGraphs.s;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.TensorShape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Shapes worked out by hand from the operators' definitions, and, for whole graphs, checked against the
 * shapes ONNX Runtime produces when it runs them (every known dimension must be the actual one).
 */
class ShapeInferenceTest {

  @TempDir Path dir;

  private static ShapeInference.Result infer(int opset, List<NodeProto> nodes, List<TensorProto> init,
      ai.onnx.proto.OnnxMl.ValueInfoProto... inputs) {
    return ShapeInference.infer(ShapeTestGraphs.model(opset, nodes, List.of(inputs), List.of(), init).getGraph(), opset);
  }

  private static void assertShape(String expected, ShapeInference.Result r, String tensor) {
    assertEquals(expected, r.shape(tensor).toString(), tensor);
  }

  @Test
  void matMulBroadcastsBatchDimensionsAndDropsThoseOfVectors() {
    ShapeInference.Result r = infer(13, List.of(
            node("MatMul", "a", List.of("x4", "w3"), List.of("y4")),
            node("MatMul", "b", List.of("v", "w3"), List.of("yv")),
            node("MatMul", "c", List.of("x4", "v6"), List.of("y3")),
            node("MatMul", "d", List.of("v", "v"), List.of("dot"))),
        List.of(randomTensor("w3", 1, 5, 4, 6), randomTensor("v", 2, 4), randomTensor("v6", 3, 4)),
        info("x4", 2, 1, 3, 4));
    assertShape("[2,5,3,6]", r, "y4"); // batch [2,1] with [5] broadcast to [2,5]
    assertShape("[5,6]", r, "yv"); // [4] is [1,4], its 1 dropped
    assertShape("[2,1,3]", r, "y3"); // [4] is [4,1], its 1 dropped
    assertShape("[]", r, "dot");
  }

  @Test
  void broadcastingKeepsSymbolsAndNeverGuessesBetweenTwo() {
    ShapeInference.Result r = infer(13, List.of(
            node("Add", "a", List.of("x", "c"), List.of("y")),
            node("Mul", "b", List.of("x", "z"), List.of("w")),
            node("Where", "c", List.of("x", "x", "c"), List.of("u"))),
        List.of(randomTensor("c", 1, 3, 1)), info("x", "N", 1, 4), info("z", "M", 3, 4));
    assertShape("[N,3,4]", r, "y");
    assertShape("[?,3,4]", r, "w"); // N and M: one of them is 1, which one is not known
    assertShape("[N,3,4]", r, "u");
  }

  @Test
  void convolutionAndPoolingWindows() {
    ShapeInference.Result r = infer(13, List.of(
            node("Conv", "conv", List.of("x", "w"), List.of("c"), ints("pads", 1, 1, 1, 1), ints("strides", 2, 2)),
            node("MaxPool", "ceil", List.of("c"), List.of("p"), ints("kernel_shape", 3, 3), ints("strides", 2, 2),
                i("ceil_mode", 1)),
            node("AveragePool", "same", List.of("c"), List.of("q"), ints("kernel_shape", 3, 3), ints("strides", 2, 2),
                s("auto_pad", "SAME_UPPER")),
            node("ConvTranspose", "up", List.of("c", "wt"), List.of("t"), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1),
                ints("output_padding", 1, 1)),
            node("GlobalAveragePool", "gap", List.of("c"), List.of("g"))),
        List.of(randomTensor("w", 1, 8, 3, 3, 3), randomTensor("wt", 2, 8, 2, 3, 3)), info("x", "N", 3, 32, 30));
    // (32 + 2 - 3) / 2 + 1 = 16, (30 + 2 - 3) / 2 + 1 = 15
    assertShape("[N,8,16,15]", r, "c");
    // ceil((16 - 3) / 2) + 1 = 8, ceil((15 - 3) / 2) + 1 = 7
    assertShape("[N,8,8,7]", r, "p");
    assertShape("[N,8,8,8]", r, "q");
    // 2 * (16 - 1) + 1 + 3 - 2 = 32, 2 * (15 - 1) + 1 + 3 - 2 = 30
    assertShape("[N,2,32,30]", r, "t");
    assertShape("[N,8,1,1]", r, "g");
  }

  @Test
  void reshapeTargetsWithZeroAndMinusOneAndComputedTargets() {
    ShapeInference.Result r = infer(13, List.of(
            node("Reshape", "a", List.of("x", "t1"), List.of("y1")),
            node("Reshape", "b", List.of("s", "t1"), List.of("y2")),
            node("Shape", "sh", List.of("s"), List.of("ss")),
            node("Gather", "g", List.of("ss", "zero"), List.of("n")),
            node("Unsqueeze", "u", List.of("n", "axis0"), List.of("n1")),
            node("Concat", "cat", List.of("n1", "tail"), List.of("t3"), i("axis", 0)),
            node("Reshape", "c", List.of("s", "t3"), List.of("y3")),
            node("Flatten", "f", List.of("x"), List.of("fl"), i("axis", 2)),
            node("Cast", "cast", List.of("t3"), List.of("t3f"), i("to", TensorProto.DataType.FLOAT_VALUE)),
            node("Cast", "back", List.of("t3f"), List.of("t3i"), i("to", TensorProto.DataType.INT64_VALUE)),
            node("Reshape", "d", List.of("s", "t3i"), List.of("y4"))),
        List.of(int64s("t1", 0, -1, 5), int64s("axis0", 0), int64s("tail", 6, 2, 2),
            int64s("zero", 0).toBuilder().clearDims().build()),
        info("x", 2, 3, 4, 5), info("s", "N", 24));
    assertShape("[2,12,5]", r, "y1"); // 120 / (2 * 5)
    assertShape("[N,?,5]", r, "y2"); // N unknown: -1 cannot be computed
    assertShape("[1]", r, "n1");
    assertShape("[N,6,2,2]", r, "y3"); // the target's values travel through Shape, Gather, Unsqueeze, Concat
    assertShape("[6,20]", r, "fl");
    assertShape("[?,?,?,?]", r, "y4"); // values lost through a float Cast: only the target's length is known
  }

  @Test
  void squeezeUnsqueezeSliceAndReduceInTheirAttributeAndInputForms() {
    ShapeInference.Result old = infer(11, List.of(
            node("Unsqueeze", "u", List.of("x"), List.of("u4"), ints("axes", 0, -1)),
            node("Squeeze", "s", List.of("u4"), List.of("s2"), ints("axes", 0)),
            node("Squeeze", "all", List.of("y"), List.of("y1")),
            node("Slice", "sl", List.of("x", "starts", "ends", "axes", "steps"), List.of("sl2")),
            node("ReduceMean", "rm", List.of("x"), List.of("r1"), ints("axes", -1), i("keepdims", 0)),
            node("ReduceSum", "rs", List.of("x"), List.of("r2"), ints("axes", 0))),
        List.of(int64s("starts", -1, 2), int64s("ends", -1000, Long.MAX_VALUE), int64s("axes", 0, 1),
            int64s("steps", -2, 3)),
        info("x", 10, 20), info("y", 1, "N", 1));
    assertShape("[1,10,20,1]", old, "u4");
    assertShape("[10,20,1]", old, "s2");
    assertShape("[unknown rank]", old, "y1"); // N may be 1 too
    // axis 0: from 9 down to past the start by -2: 9,7,5,3,1; axis 1: 2..19 by 3: 2,5,...,17
    assertShape("[5,6]", old, "sl2");
    assertShape("[10]", old, "r1");
    assertShape("[1,20]", old, "r2");

    ShapeInference.Result now = infer(18, List.of(
            node("Unsqueeze", "u", List.of("x", "ax"), List.of("u4")),
            node("Squeeze", "s", List.of("u4", "ax"), List.of("s2")),
            node("ReduceMean", "rm", List.of("x", "ax"), List.of("r1")),
            node("ReduceSum", "rs", List.of("x", "dyn"), List.of("r2"), i("keepdims", 0))),
        List.of(int64s("ax", 1)), info("x", 10, 20), info("dyn", 1));
    assertShape("[10,1,20]", now, "u4");
    assertShape("[10,20]", now, "s2");
    assertShape("[10,1]", now, "r1");
    assertShape("[unknown rank]", now, "r2"); // axes not constant and not kept
  }

  @Test
  void concatSplitGatherTransposeGemmLayerNormResizeAndPad() {
    ShapeInference.Result r = infer(18, List.of(
            node("Concat", "cat", List.of("x", "x"), List.of("c"), i("axis", -1)),
            node("Split", "even", List.of("c"), List.of("s1", "s2", "s3"), i("axis", 2), i("num_outputs", 3)),
            node("Split", "sized", List.of("c", "sizes"), List.of("t1", "t2"), i("axis", 1)),
            node("Gather", "g", List.of("x", "idx"), List.of("gx"), i("axis", 1)),
            node("Transpose", "tr", List.of("x"), List.of("xt")),
            node("Gemm", "gemm", List.of("m", "wg"), List.of("gm"), i("transB", 1)),
            node("LayerNormalization", "ln", List.of("x", "gamma"), List.of("ln", "mean", "inv"), i("axis", -1)),
            node("Resize", "rz", List.of("x", "", "scales"), List.of("rx")),
            node("Pad", "pad", List.of("x", "pads"), List.of("px"))),
        List.of(int64s("sizes", 1, 2), TensorProto.newBuilder().setName("idx").setDataType(TensorProto.DataType.INT64_VALUE)
            .addDims(2).addDims(3).addAllInt64Data(List.of(0L, 1L, 2L, 0L, 1L, 2L)).build(),
            randomTensor("wg", 1, 7, 5), randomTensor("gamma", 2, 4), floatTensor("scales", new long[] {3}, 1f, 2f, 0.5f),
            int64s("pads", 0, 1, 2, 0, 3, 4)),
        info("x", "N", 3, 4), info("m", "B", 5));
    assertShape("[N,3,8]", r, "c");
    assertShape("[N,3,3]", r, "s1"); // ceil(8 / 3) = 3
    assertShape("[N,3,2]", r, "s3"); // the remainder
    assertShape("[N,1,8]", r, "t1");
    assertShape("[N,2,8]", r, "t2");
    assertShape("[N,2,3,4]", r, "gx");
    assertShape("[4,3,N]", r, "xt");
    assertShape("[B,7]", r, "gm");
    assertShape("[N,3,4]", r, "ln");
    assertShape("[N,3,1]", r, "mean");
    assertShape("[N,6,2]", r, "rx"); // N times 1 is N; 3 * 2, 4 * 0.5
    assertShape("[N,7,10]", r, "px"); // N padded by 0 stays N; 3 + 1 + 3, 4 + 2 + 4
  }

  @Test
  void anUnknownOperatorMakesEverythingDownstreamUnknownUnlessDeclared() {
    NodeProto custom = node("Mystery", "m", List.of("x"), List.of("z")).toBuilder().setDomain("com.example").build();
    ModelProto m = ShapeTestGraphs.model(13, List.of(custom,
            node("Relu", "r", List.of("z"), List.of("zr")),
            node("Einsum", "e", List.of("x", "x"), List.of("ee"), s("equation", "ij,jk->ik")),
            node("Relu", "r2", List.of("ee"), List.of("er"))),
        List.of(info("x", 3, 3)), List.of(info("er", 3, 3)), List.of());
    ShapeInference.Result r = ShapeInference.infer(m.getGraph(), 13);
    assertEquals(-1, r.rank("z"));
    assertEquals(-1, r.rank("zr"));
    assertEquals(-1, r.rank("ee"));
    assertShape("[3,3]", r, "er"); // declared as a graph output
  }

  @Test
  void aMalformedNodeGetsUnknownShapesInsteadOfFailingInference() {
    ShapeInference.Result r = infer(13, List.of(
            node("Flatten", "f", List.of("x"), List.of("fl"), i("axis", 7)),
            node("Conv", "c", List.of("x4", "w"), List.of("cv"), ints("strides", 0, 0)),
            node("Relu", "r", List.of("x"), List.of("ok"))),
        List.of(randomTensor("w", 1, 2, 3, 1, 1)), info("x", 2, 3), info("x4", 1, 3, 4, 4));
    assertEquals(-1, r.rank("fl"));
    assertEquals(-1, r.rank("cv"));
    assertShape("[2,3]", r, "ok");
  }

  @Test
  void attentionShapesMatchThoseOnnxRuntimeProduces() {
    ModelProto m = ShapeTestGraphs.attention();
    ShapeInference.Result r = ShapeInference.infer(m.getGraph(), 9);
    assertShape("[N,8,?]", r, "flat"); // 2 * W: W is a symbol
    assertShape("[3,N,2,?,4]", r, "qkvt");
    assertShape("[N,2,?,?]", r, "attn0");
    assertShape("[N,L,8]", r, "y"); // L from the declared output
    assertAgreesWithOnnxRuntime(m, r, Map.of("x", new long[] {2, 8, 2, 5}));
  }

  @ParameterizedTest
  @ValueSource(ints = {7, 9, 10, 11, 13, 17, 18, 21})
  void convNetShapesMatchThoseOnnxRuntimeProduces(int opset) {
    ModelProto m = ShapeTestGraphs.convNet(opset);
    ShapeInference.Result r = ShapeInference.infer(m.getGraph(), opset);
    // pad 1 + 2 + 2 = 12 → rows 1..11: 10; pooled width W/2 + 2 padded, doubled
    assertShape("[N,4,10,?]", r, "sl");
    assertShape("[N,5]", r, "y");
    ModelProto fixed = m.toBuilder().setGraph(m.getGraph().toBuilder().setInput(0, info("x", 2, 3, 8, 6))).build();
    ShapeInference.Result known = ShapeInference.infer(fixed.getGraph(), opset);
    assertShape("[2,4,10,10]", known, "sl"); // 6 / 2 = 3, + 2 = 5, * 2 = 10
    assertShape("[2,10,2]", known, "g3");
    assertAgreesWithOnnxRuntime(fixed, known, Map.of("x", new long[] {2, 3, 8, 6}));
    assertAgreesWithOnnxRuntime(m, r, Map.of("x", new long[] {3, 3, 8, 10}));
  }

  /** Every node output has its rank inferred, and every dimension inferred as a value is the actual one. */
  private void assertAgreesWithOnnxRuntime(ModelProto m, ShapeInference.Result r, Map<String, long[]> inputs) {
    Map<String, long[]> actual = ShapeTestGraphs.actualShapes(m, dir, inputs);
    List<String> wrong = new ArrayList<>();
    for (Map.Entry<String, long[]> e : actual.entrySet()) {
      TensorShape s = r.shape(e.getKey());
      boolean ok = s.rank() == e.getValue().length;
      for (int k = 0; ok && k < s.rank(); k++) {
        ok = !s.dim(k).known() || s.dim(k).value() == e.getValue()[k];
      }
      if (!ok) {
        wrong.add(e.getKey() + ": inferred " + s + ", actual " + java.util.Arrays.toString(e.getValue()));
      }
    }
    assertTrue(wrong.isEmpty(), String.join("; ", wrong));
    assertTrue(actual.size() >= 10, "the oracle saw " + actual.size() + " tensors");
  }

  @Test
  void sliceRangeFollowsOnnxClamping() {
    assertArrayEquals(new long[] {9, -1, 5}, ShapeInference.sliceRange(-1, -1000, -2, 10));
    assertArrayEquals(new long[] {2, 10, 8}, ShapeInference.sliceRange(2, Long.MAX_VALUE, 1, 10));
    assertArrayEquals(new long[] {10, 10, 0}, ShapeInference.sliceRange(20, 30, 1, 10));
  }
}
