package dev.qcal.model.qdq;

import static dev.qcal.model.QdqTestGraphs.initializer;
import static dev.qcal.model.QdqTestGraphs.producers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.qcal.model.QdqTestGraphs;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.PlanOptions;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.api.io.TempDir;

/** End to end on the PaddleOCR classifier: plan, min/max calibration, QDQ rewrite, ORT fusion and accuracy. */
class QdqExampleModelTest {

  private static final long[] SHAPE = {8, 3, 48, 192};

  @TempDir Path tmp;

  @Test
  void everyRuleOnTheExampleRunsAndReportsAgreement(TestReporter reporter) throws Exception {
    ModelProto prepared = QdqExampleModel.prepared(tmp);
    PlanOptions all = new PlanOptions(java.util.Set.copyOf(PlanOptions.knownOpTypes()), List.of(),
        java.util.Set.of(), false);
    String figures = quantizeAndMeasure(prepared, CalibrationPlan.of(prepared, all), "every rule", reporter);
    assertTrue(figures.contains("QLinearConv=53/53"), figures);
  }

  @Test
  void quantizedExampleFusesConvsAndAgreesWithFp32(TestReporter reporter) throws Exception {
    ModelProto prepared = QdqExampleModel.prepared(tmp);
    assertEquals(53, QdqExampleModel.countOps(prepared, "Conv"));
    assertEquals(0, QdqExampleModel.countOps(prepared, "BatchNormalization"));
    CalibrationPlan plan = CalibrationPlan.of(prepared);
    assertEquals(54, plan.weights().size());
    quantizeAndMeasure(prepared, plan, "default op types", reporter);
  }

  private String quantizeAndMeasure(ModelProto prepared, CalibrationPlan plan, String label, TestReporter reporter)
      throws Exception {
    assertTrue(plan.activations().contains(QdqExampleModel.INPUT));

    List<float[]> batches = List.of(
        QdqExampleModel.pseudoText(1, 8), QdqExampleModel.pseudoText(2, 8),
        QdqTestGraphs.uniform(3, 8 * 3 * 48 * 192, -1f, 1f));

    // Calibrate: FP32 run of a copy that also outputs every planned activation.
    ModelProto.Builder aug = prepared.toBuilder();
    for (String t : plan.activations()) {
      aug.getGraphBuilder().addOutput(QdqTestGraphs.floatValueOfAnyShape(t));
    }
    byte[] augmented = aug.build().toByteArray();
    List<String> outputs = new ArrayList<>();
    outputs.add(QdqExampleModel.OUTPUT);
    outputs.addAll(plan.activations());
    int k = plan.activations().size();
    float[] mn = new float[k];
    float[] mx = new float[k];
    Arrays.fill(mn, Float.POSITIVE_INFINITY);
    Arrays.fill(mx, Float.NEGATIVE_INFINITY);
    List<float[]> fp32 = new ArrayList<>();
    for (float[] batch : batches) {
      List<float[]> values = QdqTestGraphs.run(augmented, OptLevel.BASIC_OPT, QdqExampleModel.INPUT, batch,
          SHAPE, outputs);
      fp32.add(values.get(0));
      for (int i = 0; i < k; i++) {
        for (float v : values.get(i + 1)) {
          mn[i] = Math.min(mn[i], v);
          mx[i] = Math.max(mx[i], v);
        }
      }
    }
    Map<String, QuantParams> params = new HashMap<>();
    for (int i = 0; i < k; i++) {
      params.put(plan.activations().get(i), LinearQuant.forRange(mn[i], mx[i], QuantType.UINT8, false));
    }

    QdqRewriter.Result r = QdqRewriter.rewrite(QdqRewriter.Request.of(prepared, plan, params));
    ModelProto q = r.model();
    QdqRewriterTest.assertValidOrder(q);

    // Weights of every Conv and of the classifier (ORT's BASIC level fused MatMul + Add into Gemm with
    // transB = 0): INT8, one scale per output channel.
    int perChannel = 0;
    for (NodeProto n : q.getGraph().getNodeList()) {
      if (n.getOpType().equals("Conv") || n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")) {
        NodeProto dq = producers(q, n.getInput(1)).get(0);
        assertEquals("DequantizeLinear", dq.getOpType(), n.getName());
        TensorProto w = initializer(q, dq.getInput(0));
        assertTrue(QdqExampleModel.isInt8(w), w.getName());
        int axis = n.getOpType().equals("Conv") ? 0 : 1;
        assertEquals(List.of(w.getDims(axis)), initializer(q, dq.getInput(1)).getDimsList(), w.getName());
        perChannel++;
      }
    }
    assertEquals(54, perChannel);
    long qdqSize = q.getSerializedSize();

    // (a) ORT at ALL level fuses the Q/DQ groups into QLinearConv.
    Path qPath = tmp.resolve("qdq.onnx");
    Files.write(qPath, q.toByteArray());
    Path optimized = tmp.resolve("qdq-all.onnx");
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OptLevel.ALL_OPT);
      o.setOptimizedModelFilePath(optimized.toString());
      OrtEnvironment.getEnvironment().createSession(qPath.toString(), o).close();
    }
    ModelProto fused = ModelProto.parseFrom(Files.readAllBytes(optimized));
    int qlinearConv = QdqExampleModel.countOps(fused, "QLinearConv");
    int qlinearGemm = QdqExampleModel.countOps(fused, "QGemm") + QdqExampleModel.countOps(fused, "QLinearMatMul");
    int relu = QdqExampleModel.countOps(fused, "Relu");
    int floatConv = QdqExampleModel.countOps(fused, "Conv") + QdqExampleModel.countOps(fused, "FusedConv");

    // (b) FP32 vs quantized top-1 agreement on the calibration inputs.
    int agree = 0;
    int total = 0;
    double maxProbDiff = 0;
    for (int b = 0; b < batches.size(); b++) {
      float[] qp = QdqTestGraphs.run(q.toByteArray(), OptLevel.ALL_OPT, QdqExampleModel.INPUT, batches.get(b),
          SHAPE, List.of(QdqExampleModel.OUTPUT)).get(0);
      float[] fp = fp32.get(b);
      for (int s = 0; s < fp.length / 2; s++) {
        agree += (fp[2 * s] >= fp[2 * s + 1]) == (qp[2 * s] >= qp[2 * s + 1]) ? 1 : 0;
        total++;
        maxProbDiff = Math.max(maxProbDiff, Math.abs(fp[2 * s] - qp[2 * s]));
      }
    }
    String figures = label + ": activations=" + plan.activations().size() + " weights=" + plan.weights().size()
        + " weightParams=" + r.weightParams().size() + " skipped=" + r.skipped().size()
        + " QLinearConv=" + qlinearConv + "/53 floatConv=" + floatConv
        + " Relu=" + relu + "/" + QdqExampleModel.countOps(prepared, "Relu") + " QGemm/QLinearMatMul=" + qlinearGemm
        + " top1Agreement=" + agree + "/" + total + " maxProbDiff=" + String.format("%.4f", maxProbDiff)
        + " bytes=" + qdqSize;
    reporter.publishEntry("qdq-example", figures);
    System.out.println("QDQ example: " + figures);
    assertTrue(qlinearConv >= 27, figures);
    assertTrue(agree >= 0.9 * total, figures);
    return figures;
  }
}
