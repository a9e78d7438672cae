package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.data.ElemType;
import dev.qcal.data.InputSpec;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.ModelException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each input's spec carries the type the model declares; types ONNX Runtime's Java API cannot feed are refused. */
class ModelInputsTest {
  private static ModelProto identity(int elemType) {
    return TestGraphs.model(13, List.of(TestGraphs.node("Identity", "id", List.of("x"), List.of("y"))),
        List.of(TestGraphs.typedBatchInput("x", elemType, 6)), List.of(TestGraphs.floatInfo("y")), List.of());
  }

  @Test
  void specsCarryTheDeclaredType() {
    InputSpec ids = ModelInputs.of(identity(TensorProto.DataType.INT64_VALUE), "m.onnx").get(0);
    assertEquals(ElemType.INT64, ids.type());
    assertEquals("int64[N,6]", ids.describe());
    assertEquals("[N,6]", ModelInputs.of(identity(TensorProto.DataType.FLOAT_VALUE), "m.onnx").get(0).describe());
    assertEquals(ElemType.FLOAT16, ModelInputs.of(identity(TensorProto.DataType.FLOAT16_VALUE), "m").get(0).type());
    assertEquals(ElemType.BOOL, ModelInputs.of(identity(TensorProto.DataType.BOOL_VALUE), "m").get(0).type());
  }

  @Test
  void typesQcalCannotFeedAreNamed() {
    assertEquals("m.onnx: input 'x' is a UINT16 tensor; qcal feeds float32, float64, float16, int64, int32, int16, int8,"
        + " uint8 and bool inputs", assertThrows(ModelException.class,
            () -> ModelInputs.of(identity(TensorProto.DataType.UINT16_VALUE), "m.onnx")).getMessage());
    assertEquals("m.onnx: input 'x' is a STRING tensor; qcal feeds float32, float64, float16, int64, int32, int16, int8,"
        + " uint8 and bool inputs", assertThrows(ModelException.class,
            () -> ModelInputs.of(identity(TensorProto.DataType.STRING_VALUE), "m.onnx")).getMessage());
  }

  private static ModelProto add(ai.onnx.proto.OnnxMl.ValueInfoProto a, ai.onnx.proto.OnnxMl.ValueInfoProto b) {
    return TestGraphs.model(13, List.of(TestGraphs.node("Add", "add", List.of("a", "b"), List.of("y"))),
        List.of(a, b), List.of(TestGraphs.floatInfo("y")), List.of());
  }

  private static ai.onnx.proto.OnnxMl.ValueInfoProto scalar(String name) {
    ai.onnx.proto.OnnxMl.ValueInfoProto f = TestGraphs.floatInfo(name, 1);
    return f.toBuilder().setType(f.getType().toBuilder().setTensorType(f.getType().getTensorType().toBuilder()
        .setShape(ai.onnx.proto.OnnxMl.TensorShapeProto.getDefaultInstance()))).build();
  }

  @Test
  void fixedFirstDimensionsAndScalarsMayBeFedWhole() {
    List<InputSpec> specs = ModelInputs.of(add(TestGraphs.floatInfo("a", 5, 5), scalar("b")), "m.onnx");
    assertEquals(5, specs.get(0).lead());
    assertEquals("[5,5]", specs.get(0).describe());
    assertEquals("[5,5]", specs.get(0).asWhole().describe());
    assertEquals(true, specs.get(1).whole());
    assertEquals("[]", specs.get(1).describe());
    // a dynamic first dimension: rows only, and a scalar beside it cannot be fed
    assertEquals(0, ModelInputs.of(add(TestGraphs.batchInput("a", 5), TestGraphs.batchInput("b", 5)), "m").get(0).lead());
    assertEquals("m.onnx: input 'b' has no batch dimension, and another input's first dimension is dynamic: qcal feeds"
        + " whole inputs only when every input fixes its first dimension or has none", assertThrows(ModelException.class,
            () -> ModelInputs.of(add(TestGraphs.batchInput("a", 5), scalar("b")), "m.onnx")).getMessage());
  }
}
