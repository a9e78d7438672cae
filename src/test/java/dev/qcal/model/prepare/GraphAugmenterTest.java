package dev.qcal.model.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GraphAugmenterTest {

  @TempDir Path dir;

  private static NodeProto nth(ModelProto m, String opType, int k) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(opType)).skip(k).findFirst().orElseThrow();
  }

  @Test
  void augmentedExampleReturnsTheExtraOutputs() {
    ModelProto m = ModelPreparer.prepare(TestGraphs.EXAMPLE, dir.resolve("work"), Map.of("x", new long[] {2, 3, 48, 192}))
        .model();
    String firstConv = nth(m, "Conv", 0).getOutput(0);
    String pooled = nth(m, "GlobalAveragePool", 0).getOutput(0);
    String gemm = nth(m, "Gemm", 0).getOutput(0);
    String original = m.getGraph().getOutput(0).getName();

    ModelProto aug = GraphAugmenter.exposeOutputs(m, List.of(firstConv, "x", pooled, original, firstConv, gemm));
    assertEquals(List.of(original, firstConv, "x", pooled, gemm),
        aug.getGraph().getOutputList().stream().map(ValueInfoProto::getName).collect(Collectors.toList()));

    Path file = dir.resolve("augmented.onnx");
    OnnxModels.save(aug, file);
    float[] x = TestGraphs.randomFloats(2 * 3 * 48 * 192, 11);
    Map<String, float[]> out = Ort.run(file, Map.of("x", x), Map.of("x", new long[] {2, 3, 48, 192}));
    assertEquals(List.of(original, firstConv, "x", pooled, gemm), List.copyOf(out.keySet()));
    assertEquals(2 * 2, out.get(original).length);
    assertEquals(2 * 2, out.get(gemm).length);
    assertArrayEquals(x, out.get("x"));
    // the first conv of the MobileNetV3 backbone: 3x3 stride 2, pad 1 -> [2, C, 24, 96]
    int channels = (int) m.getGraph().getInitializerList().stream()
        .filter(t -> t.getName().equals(nth(m, "Conv", 0).getInput(1))).findFirst().orElseThrow().getDims(0);
    assertEquals(2 * channels * 24 * 96, out.get(firstConv).length);
    assertEquals(0, out.get(pooled).length % 2);

    Path plain = dir.resolve("work/prepared.onnx");
    Map<String, float[]> ref = Ort.run(plain, Map.of("x", x), Map.of("x", new long[] {2, 3, 48, 192}));
    assertArrayEquals(ref.get(original), out.get(original), 0f, "the original output is unchanged");
  }

  @Test
  void unknownTensorIsNamed() {
    ModelProto m = OnnxModels.load(TestGraphs.EXAMPLE);
    ModelException e = assertThrows(ModelException.class, () -> GraphAugmenter.exposeOutputs(m, List.of("no_such_tensor")));
    assertEquals("cannot expose tensor 'no_such_tensor' of graph '" + m.getGraph().getName()
        + "': no node output or graph input has that name", e.getMessage());
  }

  @Test
  void nonFloatTensorIsRefused() {
    ModelProto m = TestGraphs.model(13, List.of(TestGraphs.node("Shape", "shape", List.of("x"), List.of("s"))),
        List.of(TestGraphs.floatInfo("x", 2, 2)), List.of(TestGraphs.floatInfo("x")), List.of());
    ModelProto withInfo = m.toBuilder().setGraph(m.getGraph().toBuilder().addValueInfo(ValueInfoProto.newBuilder()
        .setName("s").setType(ai.onnx.proto.OnnxMl.TypeProto.newBuilder().setTensorType(
            ai.onnx.proto.OnnxMl.TypeProto.Tensor.newBuilder().setElemType(7))))).build();
    ModelException e = assertThrows(ModelException.class, () -> GraphAugmenter.exposeOutputs(withInfo, List.of("s")));
    assertEquals("cannot expose tensor 's' of graph 'tiny': its element type is INT64, expected FLOAT", e.getMessage());
  }

  /**
   * ReduceMin/ReduceMax keep the channel axis (attribute axes before opset 18, an INT64 initializer
   * input from 18), ReduceSum and Shape cover the whole tensor; ONNX Runtime's values are the brute-force
   * ones.
   */
  @Test
  void reductionsGivePerChannelRangesSumAndShapeAtOpset13And18() {
    for (int opset : new int[] {13, 18}) {
      ModelProto m = TestGraphs.model(opset,
          List.of(TestGraphs.node("Relu", "relu", List.of("x"), List.of("r")),
              TestGraphs.node("Flatten", "flat", List.of("r"), List.of("f"))),
          List.of(TestGraphs.floatInfo("x", 2, 3, 4, 5)), List.of(TestGraphs.floatInfo("f")), List.of());
      ModelProto red = GraphAugmenter.addReductions(m, List.of(new GraphAugmenter.Reduction("x", 4, 1),
          new GraphAugmenter.Reduction("f", 2, null)));
      List<NodeProto> mins = red.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("ReduceMin")).toList();
      assertEquals(2, mins.size());
      if (opset < 18) {
        assertEquals(List.of(0L, 2L, 3L), mins.get(0).getAttributeList().stream()
            .filter(a -> a.getName().equals("axes")).findFirst().orElseThrow().getIntsList());
        assertEquals(1, mins.get(0).getInputCount());
      } else {
        assertEquals(2, mins.get(0).getInputCount());
        assertEquals(List.of(0L, 2L, 3L), red.getGraph().getInitializerList().stream()
            .filter(t -> t.getName().equals(mins.get(0).getInput(1))).findFirst().orElseThrow().getInt64DataList());
        assertTrue(mins.get(0).getAttributeList().stream().noneMatch(a -> a.getName().equals("axes")));
      }
      assertEquals(1, mins.get(1).getInputCount(), "per tensor: no axes at all");

      Path file = dir.resolve("reduced-" + opset + ".onnx");
      OnnxModels.save(red, file);
      float[] x = TestGraphs.randomFloats(120, 3);
      Map<String, float[]> out = Ort.run(file, Map.of("x", x), Map.of("x", new long[] {2, 3, 4, 5}));
      List<String> xs = GraphAugmenter.reductionOutputs(0);
      List<String> fs = GraphAugmenter.reductionOutputs(1);
      float[] cmin = {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY};
      float[] cmax = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
      double sum = 0;
      float rmax = 0;
      for (int i = 0; i < x.length; i++) {
        int c = (i / 20) % 3;
        cmin[c] = Math.min(cmin[c], x[i]);
        cmax[c] = Math.max(cmax[c], x[i]);
        sum += x[i];
        rmax = Math.max(rmax, x[i]);
      }
      assertArrayEquals(cmin, out.get(xs.get(0)), "opset " + opset);
      assertArrayEquals(cmax, out.get(xs.get(1)), "opset " + opset);
      assertEquals(sum, out.get(xs.get(2))[0], 1e-4, "opset " + opset);
      assertEquals(1, out.get(fs.get(0)).length);
      assertEquals(0f, out.get(fs.get(0))[0] + 0f, "Relu output minimum");
      assertEquals(rmax, out.get(fs.get(1))[0]);
    }
  }
}
