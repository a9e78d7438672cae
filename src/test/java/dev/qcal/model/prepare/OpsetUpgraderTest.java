package dev.qcal.model.prepare;

import static dev.qcal.model.TestGraphs.f;
import static dev.qcal.model.TestGraphs.find;
import static dev.qcal.model.TestGraphs.floatInfo;
import static dev.qcal.model.TestGraphs.floatTensor;
import static dev.qcal.model.TestGraphs.floats;
import static dev.qcal.model.TestGraphs.i;
import static dev.qcal.model.TestGraphs.ints;
import static dev.qcal.model.TestGraphs.model;
import static dev.qcal.model.TestGraphs.node;
import static dev.qcal.model.TestGraphs.randomFloats;
import static dev.qcal.model.TestGraphs.s;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OpsetUpgraderTest {

  @TempDir Path dir;

  private static final long[] SHAPE = {1, 2, 4, 4};

  /** Runs both models on the same random input x and asserts identical outputs. */
  private Map<String, float[]> assertSameOutputs(ModelProto before, ModelProto after, long... shape) {
    Path a = dir.resolve("before.onnx");
    Path b = dir.resolve("after.onnx");
    OnnxModels.save(before, a);
    OnnxModels.save(after, b);
    int n = (int) Arrays.stream(shape).reduce(1, (p, q) -> p * q);
    Map<String, float[]> in = Map.of("x", randomFloats(n, 7));
    Map<String, long[]> shapes = Map.of("x", shape);
    Map<String, float[]> expected = Ort.run(a, in, shapes);
    Map<String, float[]> actual = Ort.run(b, in, shapes);
    assertEquals(expected.keySet(), actual.keySet());
    for (String k : expected.keySet()) {
      assertArrayEquals(expected.get(k), actual.get(k), 1e-6f, k);
    }
    return actual;
  }

  private static Set<String> attrNames(NodeProto n) {
    Set<String> names = new HashSet<>();
    for (AttributeProto a : n.getAttributeList()) {
      names.add(a.getName());
    }
    return names;
  }

  @Test
  void clipAttributesBecomeScalarInputs() {
    ModelProto m = model(9, List.of(node("Clip", "clip", List.of("x"), List.of("y"), f("min", -0.5f), f("max", 0.75f))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")), List.of());
    ModelProto up = OpsetUpgrader.upgrade(m, 13);
    assertEquals(13, OnnxModels.opset(up));
    assertTrue(up.getIrVersion() >= 7, "ir_version " + up.getIrVersion());
    NodeProto clip = find(up, "Clip");
    assertEquals(3, clip.getInputCount());
    assertTrue(clip.getAttributeList().isEmpty());
    TensorProto min = up.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(clip.getInput(1)))
        .findFirst().orElseThrow();
    assertEquals(0, min.getDimsCount(), "scalar bound");
    float[] y = assertSameOutputs(m, up, SHAPE).get("y");
    assertTrue(y.length == 32 && min(y) == -0.5f && max(y) == 0.75f);
  }

  @Test
  void clipWithOnlyMaxKeepsTheDefaultMin() {
    ModelProto m = model(9, List.of(node("Clip", "clip", List.of("x"), List.of("y"), f("max", 0.25f))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")), List.of());
    ModelProto up = OpsetUpgrader.upgrade(m, 13);
    NodeProto clip = find(up, "Clip");
    assertEquals(List.of("x", "", "clip_max"), clip.getInputList());
    assertSameOutputs(m, up, SHAPE);
  }

  @Test
  void identicalBoundsAreSharedAndNamesAreUnique() {
    ModelProto m = model(9, List.of(
            node("Clip", "c", List.of("x"), List.of("c_min"), f("min", 0f), f("max", 6f)),
            node("Clip", "d", List.of("c_min"), List.of("y"), f("min", 0f), f("max", 6f))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")), List.of());
    ModelProto up = OpsetUpgrader.upgrade(m, 13);
    assertEquals(2, up.getGraph().getInitializerCount(), "min and max shared by both nodes");
    assertTrue(up.getGraph().getInitializerList().stream().noneMatch(t -> t.getName().equals("c_min")),
        "the new name must not collide with the tensor 'c_min'");
    assertSameOutputs(m, up, SHAPE);
  }

  @Test
  void sliceAttributesBecomeInt64Inputs() {
    ModelProto m = model(9, List.of(node("Slice", "slice", List.of("x"), List.of("y"),
            ints("starts", 1, 0), ints("ends", 3, Long.MAX_VALUE), ints("axes", 2, 3))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")), List.of());
    ModelProto up = OpsetUpgrader.upgrade(m, 13);
    NodeProto slice = find(up, "Slice");
    assertEquals(4, slice.getInputCount());
    assertTrue(slice.getAttributeList().isEmpty());
    assertTrue(up.getGraph().getInitializerList().stream().allMatch(t -> t.getDataType() == TensorProto.DataType.INT64_VALUE));
    assertEquals(16, assertSameOutputs(m, up, SHAPE).get("y").length);
  }

  @Test
  void padSqueezeUnsqueezeReduceSumSplitAndDropoutUpgradeTogether() {
    ModelProto m = model(9, List.of(
            node("Pad", "pad", List.of("x"), List.of("p"), ints("pads", 0, 0, 1, 0, 0, 0, 0, 2), f("value", 0.5f)),
            node("Unsqueeze", "unsq", List.of("p"), List.of("u"), ints("axes", 0)),
            node("Squeeze", "sq", List.of("u"), List.of("q"), ints("axes", 0)),
            node("Dropout", "drop", List.of("q"), List.of("d"), f("ratio", 0.3f)),
            node("ReduceSum", "rs", List.of("d"), List.of("r"), ints("axes", 3), i("keepdims", 1)),
            node("Split", "split", List.of("r"), List.of("y0", "y1"), i("axis", 2), ints("split", 2, 3))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y0"), floatInfo("y1")), List.of());
    ModelProto up = OpsetUpgrader.upgrade(m, 13);
    for (String op : List.of("Pad", "Unsqueeze", "Squeeze", "ReduceSum", "Split", "Dropout")) {
      NodeProto n = find(up, op);
      assertEquals(2, op.equals("Pad") ? n.getInputCount() - 1 : n.getInputCount(), op + " inputs " + n.getInputList());
      assertTrue(attrNames(n).stream().noneMatch(a -> Set.of("pads", "value", "axes", "split", "ratio").contains(a)),
          op + " still has " + attrNames(n));
    }
    Map<String, float[]> out = assertSameOutputs(m, up, SHAPE);
    assertEquals(2 * 2 * 1, out.get("y0").length);
    assertEquals(2 * 3 * 1, out.get("y1").length);
  }

  @Test
  void upsampleBecomesAnEquivalentResize() {
    for (String mode : List.of("nearest", "linear")) {
      ModelProto m9 = model(9, List.of(node("Upsample", "up", List.of("x", "scales"), List.of("y"), s("mode", mode))),
          List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")),
          List.of(floatTensor("scales", new long[] {4}, 1f, 1f, 2f, 3f)));
      ModelProto up9 = OpsetUpgrader.upgrade(m9, 13);
      NodeProto resize = find(up9, "Resize");
      assertEquals(List.of("x", "", "scales"), resize.getInputList());
      assertEquals(2 * 8 * 12, assertSameOutputs(m9, up9, SHAPE).get("y").length, mode);

      ModelProto m7 = model(7, List.of(node("Upsample", "up", List.of("x"), List.of("y"), s("mode", mode),
              floats("scales", 1f, 1f, 2f, 2f))),
          List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")), List.of());
      assertSameOutputs(m7, OpsetUpgrader.upgrade(m7, 11), SHAPE);
      assertSameOutputs(m7, OpsetUpgrader.upgrade(m7, 10), SHAPE);
    }
  }

  @Test
  void softmaxOnTheLastAxisPassesWithAnExplicitAxis() {
    ModelProto m = model(9, List.of(
            node("Gemm", "fc", List.of("x", "w", "c"), List.of("z")),
            node("Softmax", "sm", List.of("z"), List.of("y"))),
        List.of(floatInfo("x", 3, 4)), List.of(floatInfo("y")),
        List.of(floatTensor("w", new long[] {4, 5}, randomFloats(20, 3)), floatTensor("c", new long[] {5}, randomFloats(5, 4))));
    ModelProto up = OpsetUpgrader.upgrade(m, 13);
    assertEquals(1L, find(up, "Softmax").getAttribute(0).getI(), "rank 2 inferred through Gemm, axis stays 1");
    assertSameOutputs(m, up, 3, 4);
  }

  @Test
  void softmaxOverFlattenedDimensionsIsSpelledOutWithFlattenAndReshape() {
    ModelProto m = model(9, List.of(node("Softmax", "sm", List.of("x"), List.of("y"), i("axis", 1))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")), List.of());
    ModelProto up = OpsetUpgrader.upgrade(m, 13);
    assertEquals(List.of("Flatten", "Softmax", "Shape", "Reshape"),
        up.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList());
    assertEquals("sm", find(up, "Softmax").getName(), "the operator keeps the node's name");
    assertEquals("y", find(up, "Reshape").getOutput(0));
    // softmax over the 2 * 4 * 4 values of each sample at opset 9, over the flattened axis at 13
    float[] y = assertSameOutputs(m, up, SHAPE).get("y");
    double sum = 0;
    for (int k = 0; k < 32; k++) {
      sum += y[k];
    }
    assertEquals(1.0, sum, 1e-5);

    ModelProto unknown = model(9, List.of(node("LogSoftmax", "ls", List.of("x"), List.of("y"))),
        List.of(floatInfo("x")), List.of(floatInfo("y")), List.of());
    assertEquals(Set.of("x"), OpsetUpgrader.ranksToLearn(unknown, 13));
    ModelProto unknownUp = OpsetUpgrader.upgrade(unknown, 13);
    assertEquals(4, unknownUp.getGraph().getNodeCount(), "an unknown rank is spelled out too");
    assertSameOutputs(unknown, unknownUp, SHAPE);
    ModelProto learned = OpsetUpgrader.upgrade(unknown, 13, Map.of("x", 2));
    assertEquals(1, learned.getGraph().getNodeCount(), "a learned rank 2 makes axis 1 the last one");
    assertSameOutputs(unknown, learned, 3, 5);
  }

  @Test
  void batchNormalizationLosesSpatialAtOpset9() {
    float[] one = {1f, 1f};
    ModelProto m = model(7, List.of(node("BatchNormalization", "bn", List.of("x", "g", "b", "mean", "var"), List.of("y"),
            i("spatial", 1), f("epsilon", 1e-5f))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")),
        List.of(floatTensor("g", new long[] {2}, 2f, 3f), floatTensor("b", new long[] {2}, 0.1f, -0.1f),
            floatTensor("mean", new long[] {2}, 0.5f, -0.5f), floatTensor("var", new long[] {2}, one)));
    ModelProto up = OpsetUpgrader.upgrade(m, 13);
    assertEquals(Set.of("epsilon"), attrNames(find(up, "BatchNormalization")));
    assertSameOutputs(m, up, SHAPE);

    ModelProto nonSpatial = m.toBuilder().setGraph(m.getGraph().toBuilder().setNode(0,
        m.getGraph().getNode(0).toBuilder().setAttribute(0, i("spatial", 0)))).build();
    ModelException e = assertThrows(ModelException.class, () -> OpsetUpgrader.upgrade(nonSpatial, 13));
    assertEquals("cannot upgrade node 'bn' (BatchNormalization) from opset 7 to 13: spatial=0 was removed at opset 9,"
        + " expected spatial=1", e.getMessage());
  }

  @Test
  void unknownOperatorIsRefusedWithItsNameAndOpsets() {
    ModelProto m = model(9, List.of(
            node("Relu", "ok", List.of("x"), List.of("r")),
            node("ImageScaler", "foo", List.of("r"), List.of("y"))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")), List.of());
    ModelException e = assertThrows(ModelException.class, () -> OpsetUpgrader.upgrade(m, 13));
    assertEquals("cannot upgrade node 'foo' (ImageScaler) from opset 9 to 13: no upgrade rule for this operator",
        e.getMessage());
  }

  @Test
  void opsetBoundsAreChecked() {
    ModelProto m = model(9, List.of(node("Relu", "r", List.of("x"), List.of("y"))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")), List.of());
    assertSame(m, OpsetUpgrader.upgrade(m, 9));
    assertEquals("cannot upgrade model 'tiny' from opset 9 to 8: the target is lower than the source",
        assertThrows(ModelException.class, () -> OpsetUpgrader.upgrade(m, 8)).getMessage());
    assertEquals("cannot upgrade model 'tiny' to opset 22: targets up to 21 are supported",
        assertThrows(ModelException.class, () -> OpsetUpgrader.upgrade(m, 22)).getMessage());
    ModelProto m17 = OpsetUpgrader.upgrade(m, 17);
    assertEquals(8, m17.getIrVersion());
    assertSameOutputs(m, m17, SHAPE);
    ModelProto m21 = OpsetUpgrader.upgrade(m, 21);
    assertEquals(10, m21.getIrVersion(), "opset 21 needs IR 10");
    assertSameOutputs(m, m21, SHAPE);
  }

  @Test
  void reduceAxesBecomeAnInputAt18AndSplitGetsNumOutputs() {
    ModelProto m = model(13, List.of(
            node("ReduceMean", "mean", List.of("x"), List.of("a"), ints("axes", 3), i("keepdims", 1)),
            node("ReduceMax", "max", List.of("a"), List.of("b"), ints("axes", 1), i("keepdims", 1)),
            node("ReduceL2", "l2", List.of("x"), List.of("c"), i("keepdims", 1)),
            node("Add", "add", List.of("b", "c"), List.of("d")),
            node("Split", "split", List.of("x"), List.of("y0", "y1"), i("axis", 2)),
            node("ReduceSumSquare", "ss", List.of("d"), List.of("y2"), ints("axes", 0, 2), i("keepdims", 0))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y0"), floatInfo("y1"), floatInfo("y2")), List.of());
    ModelProto up = OpsetUpgrader.upgrade(m, 21);
    assertEquals(21, OnnxModels.opset(up));
    for (String op : List.of("ReduceMean", "ReduceMax", "ReduceSumSquare")) {
      NodeProto n = find(up, op);
      assertEquals(2, n.getInputCount(), op + " inputs " + n.getInputList());
      assertTrue(!attrNames(n).contains("axes"), op + " still has axes");
    }
    assertEquals(1, find(up, "ReduceL2").getInputCount(), "no axes: reduce all, no input needed");
    NodeProto split = find(up, "Split");
    assertEquals(2, split.getAttributeList().stream().filter(a -> a.getName().equals("num_outputs"))
        .findFirst().orElseThrow().getI());
    Map<String, float[]> out = assertSameOutputs(m, up, SHAPE);
    assertEquals(16, out.get("y0").length);
    assertEquals(1, out.get("y2").length); // [1,1,4,1] summed over axes 0 and 2, not kept
  }

  @Test
  void gridSampleModesAreRenamedAt20() {
    ModelProto m = model(16, List.of(
            node("GridSample", "gs", List.of("x", "grid"), List.of("y"), s("mode", "bilinear"),
                i("align_corners", 0))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")),
        List.of(floatTensor("grid", new long[] {1, 3, 3, 2}, randomFloats(18, 5))));
    ModelProto up = OpsetUpgrader.upgrade(m, 21);
    AttributeProto mode = find(up, "GridSample").getAttributeList().stream().filter(a -> a.getName().equals("mode"))
        .findFirst().orElseThrow();
    assertEquals("linear", mode.getS().toStringUtf8());
    assertSameOutputs(m, up, SHAPE);
    ModelProto cubic = m.toBuilder().setGraph(m.getGraph().toBuilder().setNode(0,
        m.getGraph().getNode(0).toBuilder().setAttribute(0, s("mode", "bicubic")))).build();
    assertEquals("cubic", find(OpsetUpgrader.upgrade(cubic, 20), "GridSample").getAttribute(1).getS().toStringUtf8());
  }

  @Test
  void groupNormalizationScaleAndBiasBecomePerChannelAt21() {
    // 4 channels in 2 groups: per-group scale [2] and bias [2] become per-channel [4] (each value twice)
    ModelProto m = model(18, List.of(
            node("GroupNormalization", "gn", List.of("x", "gamma", "beta"), List.of("y"), i("num_groups", 2))),
        List.of(floatInfo("x", 1, 4, 3, 3)), List.of(floatInfo("y")),
        List.of(floatTensor("gamma", new long[] {2}, 0.5f, 2f), floatTensor("beta", new long[] {2}, 1f, -1f)));
    ModelProto up = OpsetUpgrader.upgrade(m, 21);
    NodeProto gn = find(up, "GroupNormalization");
    TensorProto scale = up.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(gn.getInput(1)))
        .findFirst().orElseThrow();
    assertArrayEquals(new float[] {0.5f, 0.5f, 2f, 2f}, Initializers.floats(scale));
    // the opset-18 model and its opset-21 form compute the same (ORT implements both)
    Path a = dir.resolve("gn18.onnx");
    Path b = dir.resolve("gn21.onnx");
    OnnxModels.save(m, a);
    OnnxModels.save(up, b);
    Map<String, float[]> in = Map.of("x", randomFloats(36, 3));
    Map<String, long[]> shapes = Map.of("x", new long[] {1, 4, 3, 3});
    assertArrayEquals(Ort.run(a, in, shapes).get("y"), Ort.run(b, in, shapes).get("y"), 1e-5f);

    ModelProto unknownChannels = m.toBuilder().setGraph(m.getGraph().toBuilder().setInput(0, floatInfo("x"))).build();
    ModelException e = assertThrows(ModelException.class, () -> OpsetUpgrader.upgrade(unknownChannels, 21));
    assertEquals("cannot upgrade node 'gn' (GroupNormalization) from opset 18 to 21: its scale and bias become per"
        + " channel at opset 21 and the channel count of 'x' is neither declared nor inferred (shape [unknown rank])",
        e.getMessage());
  }

  @Test
  void operatorsNewerThanTheSourceRuleAreRefused() {
    ModelProto m = model(13, List.of(node("ConvTranspose", "ct", List.of("x", "w"), List.of("y"))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")),
        List.of(floatTensor("w", new long[] {2, 2, 1, 1}, 1f, 0f, 0f, 1f)));
    assertSameOutputs(m, OpsetUpgrader.upgrade(m, 21), SHAPE);
    ModelProto old = m.toBuilder().clearOpsetImport().addOpsetImport(
        m.getOpsetImport(0).toBuilder().setVersion(9)).build();
    assertEquals("cannot upgrade node 'ct' (ConvTranspose) from opset 9 to 21: this operator is known unchanged"
        + " from opset 11 only", assertThrows(ModelException.class, () -> OpsetUpgrader.upgrade(old, 21)).getMessage());
  }

  @Test
  void recurrentScatterAndRoiAlignKeepTheirMeaningAcrossOpsets() {
    // LSTM-7 over x [seq 1, batch 2, 4 * 4 * 4 / ...]: x is [1, 2, 16] read as 16 features, hidden size 3
    ModelProto lstm = model(7, List.of(node("LSTM", "lstm", List.of("x", "w", "r"), List.of("y"), i("hidden_size", 3))),
        List.of(floatInfo("x", 1, 2, 16)), List.of(floatInfo("y")),
        List.of(floatTensor("w", new long[] {1, 12, 16}, randomFloats(192, 5)),
            floatTensor("r", new long[] {1, 12, 3}, randomFloats(36, 6))));
    assertSameOutputs(lstm, OpsetUpgrader.upgrade(lstm, 21), 1, 2, 16);

    ModelProto scatter = model(9, List.of(node("Scatter", "sc", List.of("x", "idx", "upd"), List.of("y"), i("axis", 1))),
        List.of(floatInfo("x", 2, 3)), List.of(floatInfo("y")),
        List.of(TensorProto.newBuilder().setName("idx").setDataType(TensorProto.DataType.INT64_VALUE).addDims(2).addDims(1)
            .addInt64Data(2).addInt64Data(0).build(), floatTensor("upd", new long[] {2, 1}, 10f, 20f)));
    ModelProto scatter13 = OpsetUpgrader.upgrade(scatter, 13);
    assertEquals("ScatterElements", scatter13.getGraph().getNode(0).getOpType());
    assertSameOutputs(scatter, scatter13, 2, 3);

    // one 4x4 map per image, one box per image: 10's default coordinates are not 16's
    ModelProto roi = model(10, List.of(node("RoiAlign", "ra", List.of("x", "rois", "bi"), List.of("y"),
            i("output_height", 2), i("output_width", 2), i("sampling_ratio", 2))),
        List.of(floatInfo("x", SHAPE)), List.of(floatInfo("y")),
        List.of(floatTensor("rois", new long[] {1, 4}, 0.5f, 0.7f, 2.9f, 3.3f),
            TensorProto.newBuilder().setName("bi").setDataType(TensorProto.DataType.INT64_VALUE).addDims(1)
                .addInt64Data(0).build()));
    ModelProto roi16 = OpsetUpgrader.upgrade(roi, 16);
    assertTrue(attrNames(roi16.getGraph().getNode(0)).contains("coordinate_transformation_mode"));
    assertSameOutputs(roi, roi16, SHAPE);
  }

  private static float min(float[] a) {
    float m = Float.POSITIVE_INFINITY;
    for (float v : a) {
      m = Math.min(m, v);
    }
    return m;
  }

  private static float max(float[] a) {
    float m = Float.NEGATIVE_INFINITY;
    for (float v : a) {
      m = Math.max(m, v);
    }
    return m;
  }
}
