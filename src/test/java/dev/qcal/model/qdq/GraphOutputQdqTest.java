package dev.qcal.model.qdq;

import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.intAttr;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.producers;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.qcal.model.QdqTestGraphs;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.quant.QuantParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A graph output written by a quantized op: no Q/DQ pair that nothing reads; a Conv's output gets Q/DQ
 * with the DequantizeLinear writing the output's name (ONNX Runtime then fuses the last Conv into a
 * QLinearConv), a Gemm's or MatMul's stays float (ONNX Runtime's QGemm and MatMulIntegerToFloat have float
 * outputs); the model's inputs and outputs are unchanged. SQNR bound as in {@link SharedInitializersTest}.
 */
class GraphOutputQdqTest {

  @TempDir Path tmp;

  private static final long[] CONV_SHAPE = {1, 3, 8, 8};
  private static final long[] GEMM_SHAPE = {4, 16};

  /** Nodes none of whose outputs is read by a node or is a graph output, and Qs no DQ reads. */
  static List<String> deadNodes(ModelProto m) {
    Set<String> read = new HashSet<>();
    m.getGraph().getNodeList().forEach(n -> read.addAll(n.getInputList()));
    m.getGraph().getOutputList().forEach(v -> read.add(v.getName()));
    List<String> dead = new ArrayList<>();
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getOutputList().stream().noneMatch(read::contains)) {
        dead.add(n.getOpType() + " -> " + n.getOutputList());
      } else if (n.getOpType().equals("QuantizeLinear") && QdqTestGraphs.consumers(m, n.getOutput(0)).stream()
          .noneMatch(c -> c.getOpType().equals("DequantizeLinear"))) {
        dead.add("QuantizeLinear without DequantizeLinear -> " + n.getOutputList());
      }
    }
    return dead;
  }

  /** x[4,16] -> Gemm(w1, b1) -> Relu -> Gemm(w2, b2) -> y[4,8]. */
  private static ModelProto twoGemms() {
    return model(13,
        List.of(node("Gemm", "fc1", List.of("x", "w1", "b1"), List.of("h"), intAttr("transB", 1)),
            node("Relu", "relu", List.of("h"), List.of("r")),
            node("Gemm", "fc2", List.of("r", "w2", "b2"), List.of("y"), intAttr("transB", 1))),
        List.of(floatValue("x", GEMM_SHAPE)), List.of(floatValue("y", 4, 8)),
        List.of(randomFloats("w1", 1, 16, 16), randomFloats("b1", 2, 16), randomFloats("w2", 3, 8, 16),
            randomFloats("b2", 4, 8)));
  }

  private static QdqRewriter.Result quantize(ModelProto m, long[] shape, QdqRewriter.Outputs outputs)
      throws Exception {
    CalibrationPlan plan = CalibrationPlan.of(m);
    Map<String, QuantParams> params = QdqRewriterTest.calibrate(m, plan, input(shape), shape);
    QdqRewriter.Result r = outputs == null ? QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params))
        : QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params).withOutputs(outputs));
    QdqRewriterTest.assertValidOrder(r.model());
    assertEquals(List.of(), deadNodes(r.model()));
    assertEquals(m.getGraph().getInputList(), r.model().getGraph().getInputList(), "inputs unchanged");
    assertEquals(m.getGraph().getOutputList(), r.model().getGraph().getOutputList(), "outputs unchanged");
    double db = SharedInitializersTest.sqnrDb(m, r.model(), input(shape), shape, "y");
    assertTrue(db > 30, "SQNR " + db + " dB");
    return r;
  }

  private static float[] input(long[] shape) {
    int n = 1;
    for (long d : shape) {
      n *= (int) d;
    }
    return QdqTestGraphs.uniform(9, n, -1f, 1f);
  }

  /** The op types of ONNX Runtime's graph for {@code m} after all optimizations. */
  private List<String> optimizedOps(ModelProto m) throws Exception {
    Path file = tmp.resolve("optimized-" + System.nanoTime() + ".onnx");
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      o.setOptimizedModelFilePath(file.toString());
      OrtEnvironment.getEnvironment().createSession(m.toByteArray(), o).close();
    }
    return ModelProto.parseFrom(Files.readAllBytes(file)).getGraph().getNodeList().stream()
        .map(NodeProto::getOpType).toList();
  }

  @Test
  void aConvGraphOutputIsQuantizedByDefaultAndKeepsItsName() throws Exception {
    ModelProto q = quantize(QdqTestGraphs.convRelu(13), CONV_SHAPE, null).model();

    NodeProto dq = producers(q, "y").get(0);
    assertEquals("DequantizeLinear", dq.getOpType());
    assertEquals("conv2", QdqTestGraphs.computing(q, "y").getName());
    assertEquals(List.of("y_QuantizeInput"), QdqTestGraphs.computing(q, "y").getOutputList());
    assertEquals(2, optimizedOps(q).stream().filter("QLinearConv"::equals).count(), "both Convs fused");
  }

  @Test
  void aGemmGraphOutputStaysFloatByDefault() throws Exception {
    QdqRewriter.Result r = quantize(twoGemms(), GEMM_SHAPE, null);
    ModelProto q = r.model();

    assertEquals("fc2", producers(q, "y").get(0).getName());
    assertTrue(r.skipped().stream().anyMatch(s -> s.startsWith("'y': graph output that no node reads")),
        r.skipped().toString());
    assertEquals(2, optimizedOps(q).stream().filter("QGemm"::equals).count(), "both Gemms fused: " + optimizedOps(q));
  }

  @Test
  void eitherChoiceCanBeForced() throws Exception {
    ModelProto gemmQ = quantize(twoGemms(), GEMM_SHAPE, QdqRewriter.Outputs.QUANTIZED).model();
    assertEquals("DequantizeLinear", producers(gemmQ, "y").get(0).getOpType());
    ModelProto convF = quantize(QdqTestGraphs.convRelu(13), CONV_SHAPE, QdqRewriter.Outputs.FLOAT).model();
    assertEquals("conv2", producers(convF, "y").get(0).getName());
    assertEquals(List.of(), QdqTestGraphs.consumers(convF, "y"));
  }

  /** A graph output that a node also reads keeps a Q/DQ pair for that reader in either choice. */
  @Test
  void aGraphOutputThatANodeReadsKeepsItsQdqForTheReader() throws Exception {
    ModelProto m = QdqTestGraphs.convRelu(13).toBuilder().build();
    ModelProto.Builder b = m.toBuilder();
    b.getGraphBuilder().addNode(node("Conv", "conv3", List.of("y", "w3"), List.of("z")))
        .addInitializer(randomFloats("w3", 5, 2, 4, 1, 1)).addOutput(floatValue("z", 1, 2, 8, 8));
    ModelProto two = b.build();
    for (QdqRewriter.Outputs o : QdqRewriter.Outputs.values()) {
      ModelProto q = quantize(two, CONV_SHAPE, o).model();
      NodeProto conv3 = q.getGraph().getNodeList().stream().filter(n -> n.getName().equals("conv3")).findFirst()
          .orElseThrow();
      assertEquals("DequantizeLinear", producers(q, conv3.getInput(0)).get(0).getOpType(), o.toString());
    }
  }
}
