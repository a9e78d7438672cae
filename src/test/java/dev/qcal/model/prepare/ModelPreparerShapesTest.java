package dev.qcal.model.prepare;

import static dev.qcal.model.prepare.ShapeTestGraphs.info;
import static dev.qcal.model.TestGraphs.find;
import static dev.qcal.model.TestGraphs.node;
import static dev.qcal.model.TestGraphs.randomFloats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Preparation of graphs whose upgrade needs ranks: told by shape inference through computed Reshapes
 * (the PP-OCRv4 recognizer's attention pattern, and one small net written at opsets 7 to 21), or learned
 * from one run of the model where no static inference can tell.
 */
class ModelPreparerShapesTest {

  @TempDir Path dir;

  private Path save(ModelProto m, String name) {
    Path file = dir.resolve(name);
    OnnxModels.save(m, file);
    return file;
  }

  private Path work(String name) throws Exception {
    return Files.createDirectories(dir.resolve(name));
  }

  /** Runs both files on the same random x of {@code shape} and asserts the same outputs. */
  private static void assertSameOutputs(Path original, Path prepared, long... shape) {
    int n = 1;
    for (long d : shape) {
      n *= (int) d;
    }
    Map<String, float[]> in = Map.of("x", randomFloats(n, 99));
    Map<String, long[]> shapes = Map.of("x", shape);
    Map<String, float[]> expected = Ort.run(original, in, shapes);
    Map<String, float[]> actual = Ort.run(prepared, in, shapes);
    assertEquals(expected.keySet(), actual.keySet());
    for (String k : expected.keySet()) {
      assertArrayEquals(expected.get(k), actual.get(k), 1e-5f, k);
    }
  }

  @Test
  void svtrAttentionAtOpset9IsPreparedWithTheRanksInferenceTells() throws Exception {
    ModelProto m = ShapeTestGraphs.attention();
    Path file = save(m, "attention.onnx");
    ModelPreparer.Prepared p = ModelPreparer.prepare(file, work("a"), Map.of("x", new long[] {2, 8, 2, 5}));
    assertEquals(13, p.opset());
    assertEquals(3L, find(p.model(), "Softmax").getAttribute(0).getI(), "rank 4: axis 3 is the last one");
    assertSameOutputs(file, p.file(), 3, 8, 2, 7); // another batch and width than verification's
  }

  /** x [N, 1, 5] squeezed without axes: rank 2 when N is not 1, which only a run can tell. */
  private static ModelProto squeezeThenSoftmax() {
    return ShapeTestGraphs.model(9, List.of(
            node("Squeeze", "sq", List.of("x"), List.of("s")),
            node("Softmax", "sm", List.of("s"), List.of("y"))),
        List.of(info("x", "N", 1, 5)), List.of(info("y")), List.of());
  }

  @Test
  void aRankNoInferenceCanTellIsLearnedFromOneRunOnTheSampleShapes() throws Exception {
    ModelProto m = squeezeThenSoftmax();
    assertEquals(Set.of("s"), OpsetUpgrader.ranksToLearn(m, 13));
    assertEquals(4, OpsetUpgrader.upgrade(m, 13).getGraph().getNodeCount() - 1,
        "without the rank, Softmax is spelled out as Flatten, Softmax, Shape, Reshape");

    Path file = save(m, "squeeze.onnx");
    AtomicInteger asked = new AtomicInteger();
    ModelPreparer.Unverified u = ModelPreparer.transform(file, work("s"), 13, () -> {
      asked.incrementAndGet();
      return Map.of("x", new long[] {2, 1, 5});
    });
    assertEquals(1, asked.get());
    assertEquals(1L, find(u.model(), "Softmax").getAttribute(0).getI(), "learned rank 2: axis 1 is the last one");
    assertEquals(List.of("Squeeze", "Softmax"), u.model().getGraph().getNodeList().stream().map(n -> n.getOpType()).toList());
    assertTrue(Files.notExists(work("s").resolve(RankProbe.FILE)), "the probe model is deleted");
    ModelPreparer.Prepared p = u.verify(Map.of("x", new long[] {2, 1, 5}));
    assertEquals(13, p.opset());
    assertSameOutputs(file, p.file(), 4, 1, 5);
  }

  @Test
  void theSampleShapesAreNotAskedForWhenInferenceSuffices() throws Exception {
    Path file = save(ShapeTestGraphs.convNet(9), "net9.onnx");
    ModelPreparer.transform(file, work("n"), 13, () -> {
      throw new AssertionError("no probe needed");
    });
  }

  @ParameterizedTest
  @ValueSource(ints = {7, 9, 11, 13, 17, 21})
  void theSameNetAtEachOpsetIsPreparedAndVerified(int opset) throws Exception {
    ModelProto m = ShapeTestGraphs.convNet(opset);
    assertEquals(Set.of(), OpsetUpgrader.ranksToLearn(m, ModelPreparer.WIDE_TYPES_OPSET), "inference tells every rank");
    Path file = save(m, "net" + opset + ".onnx");
    Map<String, long[]> shapes = Map.of("x", new long[] {2, 3, 8, 6});
    ModelPreparer.Prepared p13 = ModelPreparer.prepare(file, work("p13-" + opset), shapes, ModelPreparer.TARGET_OPSET);
    assertEquals(Math.max(opset, 13), p13.opset());
    assertSameOutputs(file, p13.file(), 3, 3, 8, 10);
    ModelPreparer.Prepared p21 = ModelPreparer.prepare(file, work("p21-" + opset), shapes, ModelPreparer.WIDE_TYPES_OPSET);
    assertEquals(21, p21.opset());
    assertSameOutputs(file, p21.file(), 3, 3, 8, 10);
  }
}
