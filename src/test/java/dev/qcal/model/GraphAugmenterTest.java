package dev.qcal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
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
}
