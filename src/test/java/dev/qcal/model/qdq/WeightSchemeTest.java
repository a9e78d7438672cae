package dev.qcal.model.qdq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.quant.QuantType;
import dev.qcal.quant.WeightSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Weight scheme resolution apart from emission: the type, axis, block and notes for each op and shape. */
class WeightSchemeTest {

  @Test
  void fourBitConvWeightsStayInt8WithANote() {
    WeightScheme s = WeightScheme.resolve(new WeightSpec(QuantType.INT4, true, 0), "Conv", new long[] {8, 3, 3, 3},
        0, "w");
    assertEquals(QuantType.INT8, s.type());
    assertEquals(0, s.axis());
    assertEquals(Integer.valueOf(0), s.paramsAxis());
    assertTrue(s.conv());
    assertEquals(List.of("w: int8, not int4: ONNX Runtime has no 4-bit Conv kernels"), s.notes());
    assertEquals("W@0@int8@0@conv", s.key("W"));
  }

  @Test
  void blocksRunAlongTheOtherAxisOfA2dMatMulWeight() {
    WeightScheme s = WeightScheme.resolve(new WeightSpec(QuantType.INT4, true, 32), "MatMul", new long[] {64, 16},
        1, "w");
    assertEquals(QuantType.INT4, s.type());
    assertEquals(32, s.block());
    assertEquals(0, s.axis(), "channel axis 1 (N), blocks along K = axis 0");
    assertFalse(s.perTensor());
    assertEquals(List.of(), s.notes());
    assertEquals("W@0@int4@32", s.key("W"));
  }

  @Test
  void blocksDoNotApplyToA3dWeightOrToGather() {
    WeightScheme s = WeightScheme.resolve(new WeightSpec(QuantType.INT8, false, 16), "MatMul", new long[] {2, 4, 8},
        2, "w");
    assertEquals(0, s.block());
    assertTrue(s.perTensor());
    assertNull(s.paramsAxis());
    assertEquals(List.of("w: per tensor, not in blocks: blocks apply to 2-D MatMul/Gemm weights only"), s.notes());
    assertEquals("W@tensor@int8@0", s.key("W"));
    WeightScheme g = WeightScheme.resolve(new WeightSpec(QuantType.UINT4, true, 16), "Gather", new long[] {10, 4},
        0, "t");
    assertEquals(QuantType.UINT4, g.type(), "Gather tables may be 4-bit");
    assertEquals(List.of("t: per channel, not in blocks: blocks apply to 2-D MatMul/Gemm weights only"), g.notes());
  }

  @Test
  void aSharedGatherTableIsUint8PerTensor() {
    WeightScheme s = WeightScheme.resolve(WeightSpec.defaults(), "Gather", new long[] {10, 4}, 0, "t").asSharedTable();
    assertEquals(QuantType.UINT8, s.type());
    assertTrue(s.perTensor() && s.table());
    assertEquals("T@tensor@uint8@0", s.key("T"));
  }

  @Test
  void aRequestDefaultsToInt8PerChannelWeightsAndAutoOutputs() {
    QdqRewriter.Request r = QdqRewriter.Request.of(dev.qcal.model.QdqTestGraphs.convRelu(13),
        dev.qcal.model.plan.CalibrationPlan.of(dev.qcal.model.QdqTestGraphs.convRelu(13)), java.util.Map.of());
    assertEquals(new WeightSpec(QuantType.INT8, true, 0), r.weights());
    assertEquals(QdqRewriter.Outputs.AUTO, r.outputs());
    assertNull(r.modelDir());
    assertEquals(new WeightSpec(QuantType.UINT8, true, 0), r.withWeights(QuantType.UINT8).weights());
  }
}
