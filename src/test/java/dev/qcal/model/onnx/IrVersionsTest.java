package dev.qcal.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.qcal.model.TestGraphs;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IrVersionsTest {
  private static final Path FILE = Path.of("m.onnx");

  private static ModelProto relu(long ir) {
    return relu(ir, 13);
  }

  private static ModelProto relu(long ir, int opset) {
    return TestGraphs.model(opset, List.of(TestGraphs.node("Relu", "r", List.of("x"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 4)), List.of(TestGraphs.floatInfo("y")), List.of()).toBuilder()
        .setIrVersion(ir).build();
  }

  /** y = x + Cast(c, to=FLOAT), c a one-element initializer of {@code elemType} holding the byte 1. */
  private static ModelProto castAdd(long ir, int opset, int elemType) {
    TensorProto c = TensorProto.newBuilder().setName("c").setDataType(elemType).addDims(1)
        .setRawData(ByteString.copyFrom(new byte[] {1})).build();
    return TestGraphs.model(opset, List.of(TestGraphs.node("Cast", "cast", List.of("c"), List.of("cf"),
        TestGraphs.i("to", 1)), TestGraphs.node("Add", "add", List.of("x", "cf"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 4)), List.of(TestGraphs.floatInfo("y")), List.of(c)).toBuilder()
        .setIrVersion(ir).build();
  }

  /** The first output of {@code m} on x = [[-1, 2, -3, 4]], or ONNX Runtime's message when it refuses it. */
  private static String run(ModelProto m) {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(m.toByteArray(), new OrtSession.SessionOptions());
        OnnxTensor x = OnnxTensor.createTensor(env, new float[][] {{-1, 2, -3, 4}});
        OrtSession.Result r = s.run(Map.of("x", x))) {
      return Arrays.toString(((float[][]) r.get(0).getValue())[0]);
    } catch (OrtException e) {
      return e.getMessage();
    }
  }

  @Test
  void aModelTheRuntimeReadsIsKept() {
    ModelProto m = relu(13);
    assertSame(m, IrVersions.lowered(FILE, m));
  }

  @Test
  void aNewerIrVersionIsLoweredAndNothingElseChanges() {
    ModelProto m = relu(14);
    ModelProto low = IrVersions.lowered(FILE, m);
    assertEquals(13, low.getIrVersion());
    assertEquals(m.toBuilder().setIrVersion(13).build(), low);
  }

  @Test
  void theElementTypesOfIr12And13AreKeptWhenLowering() {
    // FLOAT8E8M0 = 24 came with IR 12, UINT2 and INT2 = 25 and 26 with IR 13
    for (int type = 24; type <= 26; type++) {
      ModelProto m = castAdd(14, 13, type);
      assertEquals(m.toBuilder().setIrVersion(13).build(), IrVersions.lowered(FILE, m), "element type " + type);
    }
  }

  @Test
  void theLimitsAreTheOnesTheBundledRuntimeReports() {
    // ONNX Runtime is the oracle: it runs the highest IR version, opset and element type and names its limits
    // in refusing the next ones (Relu: max(x, 0); INT2 byte 1 is 1, so y = x + 1)
    long ir = IrVersions.RUNTIME_MAX_IR;
    int opset = IrVersions.RUNTIME_MAX_OPSET;
    assertEquals("[0.0, 2.0, 0.0, 4.0]", run(relu(ir, opset)));
    String irTooNew = run(relu(ir + 1, opset));
    assertTrue(irTooNew.contains("max supported IR version: " + ir), irTooNew);
    String tooNew = run(relu(ir, opset + 1));
    assertTrue(tooNew.contains("support for domain ai.onnx is till opset " + opset), tooNew);
    assertEquals("[0.0, 3.0, -2.0, 5.0]", run(castAdd(ir, opset, IrVersions.MAX_ELEM_TYPE)));
    String badType = run(castAdd(ir, opset, IrVersions.MAX_ELEM_TYPE + 1));
    assertTrue(badType.contains("'c' does not have valid data type"), badType);
  }

  @Test
  void aCastToANewerTypeInsideASubgraphIsRefused() {
    // If(cond) { then: Cast(x, to=27) }: IR 13 ends at INT2 = 26
    GraphProto branch = GraphProto.newBuilder().setName("then")
        .addNode(TestGraphs.node("Cast", "c", List.of("x"), List.of("z"), TestGraphs.i("to", 27)))
        .addOutput(TestGraphs.floatInfo("z")).build();
    AttributeProto thenBranch = AttributeProto.newBuilder().setName("then_branch")
        .setType(AttributeProto.AttributeType.GRAPH).setG(branch).build();
    ModelProto base = relu(14);
    ModelProto m = base.toBuilder().setGraph(base.getGraph().toBuilder()
        .addNode(TestGraphs.node("If", "if", List.of("cond"), List.of("z"), thenBranch))).build();
    ModelException e = assertThrows(ModelException.class, () -> IrVersions.lowered(FILE, m));
    assertTrue(e.getMessage().contains("IR version 14") && e.getMessage().contains("'c' (Cast) attribute 'to'")
        && e.getMessage().contains("element type 27") && e.getMessage().contains("IR version 13"), e.getMessage());
  }
}
