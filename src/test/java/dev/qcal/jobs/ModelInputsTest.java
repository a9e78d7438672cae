package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.data.ElemType;
import dev.qcal.data.InputSpec;
import dev.qcal.model.ModelException;
import dev.qcal.model.TestGraphs;
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
}
