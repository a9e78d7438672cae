package dev.qcal.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class IrVersionsTest {
  private static final Path FILE = Path.of("m.onnx");

  private static ModelProto relu(long ir) {
    return TestGraphs.model(13, List.of(TestGraphs.node("Relu", "r", List.of("x"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 4)), List.of(TestGraphs.floatInfo("y")), List.of()).toBuilder()
        .setIrVersion(ir).build();
  }

  @Test
  void aModelTheRuntimeReadsIsKept() {
    ModelProto m = relu(11);
    assertSame(m, IrVersions.lowered(FILE, m));
  }

  @Test
  void aNewerIrVersionIsLoweredAndNothingElseChanges() {
    ModelProto m = relu(14);
    ModelProto low = IrVersions.lowered(FILE, m);
    assertEquals(11, low.getIrVersion());
    assertEquals(m.toBuilder().setIrVersion(11).build(), low);
  }

  @Test
  void aCastToANewerTypeInsideASubgraphIsRefused() {
    // If(cond) { then: Cast(x, to=FLOAT8E8M0 = 24) }: the element type came with IR 12
    GraphProto branch = GraphProto.newBuilder().setName("then")
        .addNode(TestGraphs.node("Cast", "c", List.of("x"), List.of("z"), TestGraphs.i("to", 24)))
        .addOutput(TestGraphs.floatInfo("z")).build();
    AttributeProto thenBranch = AttributeProto.newBuilder().setName("then_branch")
        .setType(AttributeProto.AttributeType.GRAPH).setG(branch).build();
    ModelProto base = relu(14);
    ModelProto m = base.toBuilder().setGraph(base.getGraph().toBuilder()
        .addNode(TestGraphs.node("If", "if", List.of("cond"), List.of("z"), thenBranch))).build();
    ModelException e = assertThrows(ModelException.class, () -> IrVersions.lowered(FILE, m));
    assertTrue(e.getMessage().contains("IR version 14") && e.getMessage().contains("'c' (Cast) attribute 'to'")
        && e.getMessage().contains("element type 24") && e.getMessage().contains("IR version 11"), e.getMessage());
  }
}
