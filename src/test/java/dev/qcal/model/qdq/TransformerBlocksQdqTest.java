package dev.qcal.model.qdq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.TransformerGraphs;
import dev.qcal.model.TransformerQdq;
import dev.qcal.model.plan.PlanOptions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestReporter;

/**
 * The default op set on the transformer blocks of {@link TransformerGraphs}, measured in ONNX Runtime (all
 * optimizations): every MatMul and Conv runs as an integer kernel, the float fusions of the FP32 graph
 * (SkipLayerNormalization, BiasGelu, FastGelu, LayerNormalization) survive, and the logits keep the SQNR
 * measured by {@code scripts/bench transformers} less a margin of about 1 dB.
 */
class TransformerBlocksQdqTest {
  private static final int BATCH = 8;

  private static long count(ModelProto m, String op) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).count();
  }

  private static int integerKernels(Map<String, Integer> k) {
    return k.entrySet().stream().filter(e -> TransformerQdq.INTEGER_KERNELS.contains(e.getKey()))
        .mapToInt(Map.Entry::getValue).sum();
  }

  private static int floatMatMuls(Map<String, Integer> k) {
    return k.getOrDefault("MatMul", 0) + k.getOrDefault("Gemm", 0) + k.getOrDefault("FusedMatMul", 0)
        + k.getOrDefault("FusedGemm", 0) + k.getOrDefault("Conv", 0) + k.getOrDefault("FusedConv", 0);
  }

  @Test
  void bertBlockRunsEveryMatMulAsAnIntegerKernelAndKeepsTheFloatFusions(TestReporter reporter) throws Exception {
    ModelProto m = TransformerGraphs.bert(TransformerGraphs.BERT);
    var calib = TransformerQdq.bertBatches(TransformerGraphs.BERT, 1, 64, BATCH);
    var eval = TransformerQdq.bertBatches(TransformerGraphs.BERT, 2, 64, BATCH);
    Map<String, Integer> fp32 = TransformerQdq.kernels(m);
    TransformerQdq.Measure d = TransformerQdq.measure("default", m, PlanOptions.defaults(), calib, eval);
    reporter.publishEntry("bert-default", String.format("%.2f dB; %s", d.sqnrDb(), d.kernelSummary()));
    // 18 MatMuls: 6 projections per layer x 2, 2 attention products x 2, pooler, classifier
    assertEquals(18, count(m, "MatMul"));
    assertEquals(18, integerKernels(d.kernels()), d.kernelSummary());
    assertEquals(0, floatMatMuls(d.kernels()), d.kernelSummary());
    // the 12 projections whose bias ORT fuses downstream run as MatMulIntegerToFloat, their outputs float
    assertEquals(12, d.count("MatMulIntegerToFloat"), d.kernelSummary());
    for (String fused : List.of("SkipLayerNormalization", "BiasGelu")) {
      assertEquals(fp32.get(fused), d.kernels().get(fused), fused + ": " + d.kernelSummary());
    }
    assertTrue(d.sqnrDb() >= 33, "SQNR " + d.sqnrDb() + " dB (measured 34.0)");
    // Add and Mul on top cost accuracy (the additive mask of -10000 shares an 8-bit range with the scores)
    Set<String> more = new java.util.HashSet<>(PlanOptions.defaults().opTypes());
    more.addAll(List.of("Add", "Mul"));
    TransformerQdq.Measure add = TransformerQdq.measure("+Add,Mul", m,
        new PlanOptions(more, List.of(), Set.of(), false), calib, eval);
    reporter.publishEntry("bert-add-mul", String.format("%.2f dB; %s", add.sqnrDb(), add.kernelSummary()));
    assertTrue(add.sqnrDb() < d.sqnrDb() - 10, add.sqnrDb() + " vs " + d.sqnrDb());
  }

  @Test
  void bertBlockWithPassThroughOpsGathersFromTheUint8Table(TestReporter reporter) throws Exception {
    ModelProto m = TransformerGraphs.bert(TransformerGraphs.BERT);
    Set<String> ops = new java.util.HashSet<>(PlanOptions.defaults().opTypes());
    ops.addAll(List.of("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice", "Split", "Expand", "Gather"));
    PlanOptions o = new PlanOptions(ops, List.of(), Set.of(), false);
    var calib = TransformerQdq.bertBatches(TransformerGraphs.BERT, 1, 64, BATCH);
    var eval = TransformerQdq.bertBatches(TransformerGraphs.BERT, 2, 64, BATCH);
    ModelProto q = TransformerQdq.quantize(m, o, calib);
    ModelProto opt = TransformerQdq.optimized(q);
    NodeProto gather = opt.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("Gather") && n.getInput(1).equals("input_ids")).findFirst().orElseThrow();
    TensorProto table = opt.getGraph().getInitializerList().stream()
        .filter(t -> t.getName().equals(gather.getInput(0))).findFirst().orElseThrow(() -> new AssertionError(
            "the embedding Gather reads " + gather.getInput(0) + ", not an initializer"));
    assertEquals(TensorProto.DataType.UINT8_VALUE, table.getDataType());
    assertEquals(List.of(8192L, 128L), table.getDimsList());
    TransformerQdq.Measure r = TransformerQdq.measure("pass-through", m, o, calib, eval);
    reporter.publishEntry("bert-pass-through", String.format("%.2f dB; %s", r.sqnrDb(), r.kernelSummary()));
    assertEquals(18, integerKernels(r.kernels()), r.kernelSummary());
    assertTrue(r.sqnrDb() >= 31, "SQNR " + r.sqnrDb() + " dB (measured 32.2)");
  }

  @Test
  void vitBlockRunsEveryMatMulAndTheConvAsIntegerKernels(TestReporter reporter) throws Exception {
    ModelProto m = TransformerGraphs.vit(TransformerGraphs.VIT, 17);
    var calib = TransformerQdq.vitBatches(1, 64, BATCH);
    var eval = TransformerQdq.vitBatches(2, 64, BATCH);
    Map<String, Integer> fp32 = TransformerQdq.kernels(m);
    TransformerQdq.Measure d = TransformerQdq.measure("default", m, PlanOptions.defaults(), calib, eval);
    reporter.publishEntry("vit-default", String.format("%.2f dB; %s", d.sqnrDb(), d.kernelSummary()));
    assertEquals(17, count(m, "MatMul"));
    assertEquals(18, integerKernels(d.kernels()), d.kernelSummary());
    assertEquals(0, floatMatMuls(d.kernels()), d.kernelSummary());
    assertEquals(12, d.count("MatMulIntegerToFloat"), d.kernelSummary());
    for (String fused : List.of("FastGelu", "LayerNormalization")) {
      assertEquals(fp32.get(fused), d.kernels().get(fused), fused + ": " + d.kernelSummary());
    }
    assertTrue(d.sqnrDb() >= 32, "SQNR " + d.sqnrDb() + " dB (measured 33.2)");
  }
}
