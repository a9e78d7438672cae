package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {

  /** x -> Conv 'conv' (weight w) -> Sigmoid 'sig' -> y. */
  private static ModelProto convSigmoid() {
    return TestGraphs.model(13,
        List.of(TestGraphs.node("Conv", "conv", List.of("x", "w"), List.of("c")),
            TestGraphs.node("Sigmoid", "sig", List.of("c"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 1, 2, 4, 4)), List.of(TestGraphs.floatInfo("y", 1, 2, 4, 4)),
        List.of(TestGraphs.floatTensor("w", new long[] {2, 2, 1, 1}, 0.5f, -0.25f, 1f, 0.75f)));
  }

  /**
   * Without --quantized, the types shown are those the range options give (they were "int8" whatever the
   * options): uint8 activations and int8 per-channel weights by default; int8 activations, per-tensor uint8
   * weights when asked; int16 activations need opset 21, which the rehearsal is prepared to.
   */
  @Test
  void typesFollowTheRangeOptions(@TempDir Path tmp) throws Exception {
    Path fp = tmp.resolve("m.onnx");
    Files.write(fp, convSigmoid().toByteArray());
    Cli byDefault = Cli.run("inspect", "--model", fp.toString());
    assertEquals(0, byDefault.code(), byDefault.err());
    assertTrue(byDefault.out().contains("calibrate writes (activations uint8, weights int8 per channel):"),
        byDefault.out());
    assertTrue(byDefault.out().contains("  Conv 'conv': 2/2 inputs dequantized, output quantized [uint8, int8 axis 0,"
        + " out uint8]"), byDefault.out());
    Cli asked = Cli.run("inspect", "--model", fp.toString(), "--activation-type", "int16", "--weight-type", "uint8",
        "--per-channel", "false");
    assertEquals(0, asked.code(), asked.err());
    assertTrue(asked.out().contains("calibrate writes (activations int16, weights uint8 per tensor):"), asked.out());
    assertTrue(asked.out().contains("rehearsed model: opset 21"), asked.out());
    assertTrue(asked.out().contains("  Conv 'conv': 2/2 inputs dequantized, output quantized [int16, uint8, out int16]"),
        asked.out());
  }

  @Test
  void listsInputsOutputsAndCalibratedTensors() {
    Cli r = Cli.run("inspect", "--model", ExampleData.MODEL.toString(), "--input-shape", "x=1,3,48,192");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("input:  x [p2o.DynamicDimension.0,3,"), r.out());
    assertTrue(r.out().contains("output: softmax_0.tmp_0"), r.out());
    assertTrue(r.out().contains("prepared: opset 9 -> 13, 250 constants folded, 35 batch norms folded"), r.out());
    assertTrue(r.out().contains("calibrated activations (90):"), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.equals("  x")), r.out());
    assertTrue(r.out().contains("quantized weights (54):"), r.out());
    // per node: what is quantized, and why not where not
    // each quantized node names its rule, its weight and bias, then the activations it plans
    assertTrue(r.out().lines().anyMatch(l -> l.matches("  QDQ  Conv '.*': rule ConvRule; weight .* \\(channel axis 0\\),"
        + " bias .* int32; input '.*' calibrated, output '.*' calibrated.*")), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.matches("  QDQ  Relu '.*': folded into the producer's output quantization.*")),
        r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.matches("  FP32 HardSigmoid '.*': op type not in --op-types")), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.matches("  FP32 Softmax '.*': op type not in --op-types \\(not a default op type: its input range.*")), r.out());
  }

  /**
   * The synopsis marks --input-shape optional: without it the example (input x with dynamic height and width)
   * is still inspected, the same plan as with a shape, and the one step that needs a shape (running the
   * prepared model against the original) is said to be skipped, with the option to give.
   */
  @Test
  void withoutInputShapeEverythingButTheVerificationIsShown() {
    Cli r = Cli.run("inspect", "--model", ExampleData.MODEL.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("prepared: opset 9 -> 13, 250 constants folded, 35 batch norms folded; not verified"
        + " against the original: input 'x' has dynamic dimensions past the batch (to verify, give its full shape,"
        + " e.g. --input-shape x=1,3,?,? with a number for each ?)"), r.out());
    assertTrue(r.out().contains("calibrated activations (90):"), r.out());
    assertTrue(r.out().contains("quantized weights (54):"), r.out());
    assertTrue(r.out().contains("rehearsed: the Q/DQ rewrite of this plan succeeds"), r.out());
  }

  /**
   * x [N, 1, W] squeezed without axes, then Softmax at opset 9: the upgrade needs the squeezed rank, which
   * only a run tells, so without --input-shape inspect cannot prepare it and says which shape to give.
   */
  @Test
  void aModelWhosePreparationNeedsARunAsksForItsShape(@TempDir Path tmp) throws Exception {
    var dims = ai.onnx.proto.OnnxMl.TensorShapeProto.newBuilder()
        .addDim(ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
        .addDim(ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1))
        .addDim(ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("W"));
    var x = ai.onnx.proto.OnnxMl.ValueInfoProto.newBuilder().setName("x").setType(
        ai.onnx.proto.OnnxMl.TypeProto.newBuilder().setTensorType(ai.onnx.proto.OnnxMl.TypeProto.Tensor.newBuilder()
            .setElemType(ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(dims))).build();
    ModelProto m = TestGraphs.model(9,
        List.of(TestGraphs.node("Squeeze", "sq", List.of("x"), List.of("s")),
            TestGraphs.node("Softmax", "sm", List.of("s"), List.of("y"))),
        List.of(x), List.of(TestGraphs.floatInfo("y")), List.of());
    Path fp = tmp.resolve("squeeze9.onnx");
    Files.write(fp, m.toByteArray());
    Cli r = Cli.run("inspect", "--model", fp.toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertEquals("qcal: error: preparing " + fp + " needs one run of it, and input x [N,1,W] elem_type 1 has dynamic"
        + " dimensions: give its full shape, e.g. --input-shape x=1,1,? with a number for each ?", r.errorLine());
    assertEquals("", r.out());
    Cli shaped = Cli.run("inspect", "--model", fp.toString(), "--input-shape", "x=2,1,5");
    assertEquals(0, shaped.code(), shaped.err());
    assertTrue(shaped.out().contains("outputs verified against the original"), shaped.out());
  }

  @Test
  void quantizedModelIsShownPerNode(@TempDir Path tmp) throws Exception {
    ModelProto m = convSigmoid();
    Path fp = tmp.resolve("m.onnx");
    Files.write(fp, m.toByteArray());
    CalibrationPlan plan = CalibrationPlan.of(m);
    QuantParams p = LinearQuant.forRange(-2f, 2f, QuantType.UINT8, false);
    ModelProto q = OnnxModels.withMetadata(QdqRewriter.rewrite(
        QdqRewriter.Request.of(m, plan, Map.of("x", p, "c", p))).model(),
        Map.of("qcal.method", "minmax"));
    Path qp = tmp.resolve("q.onnx");
    Files.write(qp, q.toByteArray());
    Cli r = Cli.run("inspect", "--model", fp.toString(), "--quantized", qp.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("  QDQ  Conv 'conv': rule ConvRule; weight w (channel axis 0)"), r.out());
    assertTrue(r.out().contains("  FP32 Sigmoid 'sig': op type not in --op-types"), r.out());
    assertTrue(r.out().contains("quantized model: 2 nodes, 5 QuantizeLinear/DequantizeLinear"), r.out());
    assertTrue(r.out().contains("  Conv 'conv': 2/2 inputs dequantized, output quantized"), r.out());
    assertTrue(r.out().contains("  Sigmoid 'sig': 1/1 inputs dequantized, output float"), r.out());
    assertTrue(r.out().contains("metadata: qcal.method = minmax"), r.out());
    Cli missing = Cli.run("inspect", "--model", fp.toString(), "--quantized", tmp.resolve("none.onnx").toString());
    assertEquals(Main.BAD_INPUT, missing.code());
    assertTrue(missing.errorLine().contains("--quantized"), missing.errorLine());
  }

  @Test
  void planOptionsChangeTheDecisions(@TempDir Path tmp) throws Exception {
    ModelProto m = convSigmoid();
    Path fp = tmp.resolve("m.onnx");
    Files.write(fp, m.toByteArray());
    Cli withSigmoid = Cli.run("inspect", "--model", fp.toString(), "--op-types", "Conv,Sigmoid");
    assertEquals(0, withSigmoid.code(), withSigmoid.err());
    assertTrue(withSigmoid.out().contains("nodes (2 of 2 quantized):"), withSigmoid.out());
    assertTrue(withSigmoid.out().lines().anyMatch(l -> l.startsWith("  QDQ  Sigmoid 'sig': ")), withSigmoid.out());
    Cli excluded = Cli.run("inspect", "--model", fp.toString(), "--exclude-nodes", "co*");
    assertEquals(0, excluded.code(), excluded.err());
    assertTrue(excluded.out().contains("nodes (0 of 2 quantized):"), excluded.out());
    assertTrue(excluded.out().lines().anyMatch(l -> l.startsWith("  FP32 Conv 'conv': ")), excluded.out());
    assertTrue(excluded.out().contains("quantized weights (0):"), excluded.out());
    Cli noMatch = Cli.run("inspect", "--model", fp.toString(), "--exclude-nodes", "nothing*");
    assertEquals(Main.BAD_INPUT, noMatch.code());
    assertTrue(noMatch.errorLine().contains("nothing*"), noMatch.errorLine());
    Cli badOp = Cli.run("inspect", "--model", fp.toString(), "--op-types", "Conv,Foo");
    assertEquals(Main.BAD_INPUT, badOp.code());
    assertTrue(badOp.errorLine().contains("--op-types 'Foo'"), badOp.errorLine());
  }

  @Test
  void directoryGivenAsModelIsNamedAsOne(@TempDir Path tmp) {
    Cli r = Cli.run("inspect", "--model", tmp.toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertEquals("qcal: error: --model: " + tmp + " is a directory, expected an .onnx model file", r.errorLine());
    assertEquals(1, r.err().lines().count(), r.err());
  }

  @Test
  void modelWithoutOutputsIsSaidToHaveNone(@TempDir Path tmp) throws Exception {
    ModelProto m = convSigmoid();
    Path fp = tmp.resolve("m.onnx");
    Files.write(fp, m.toBuilder().setGraph(m.getGraph().toBuilder().clearOutput()).build().toByteArray());
    Cli r = Cli.run("inspect", "--model", fp.toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().startsWith("qcal: error: " + fp + ": model has no outputs"), r.errorLine());
  }

  @Test
  void quantizedModelOfAnotherModelIsRefused(@TempDir Path tmp) throws Exception {
    ModelProto m = convSigmoid();
    Path fp = tmp.resolve("m.onnx");
    Files.write(fp, m.toByteArray());
    QuantParams p = LinearQuant.forRange(-2f, 2f, QuantType.UINT8, false);
    ModelProto q = QdqRewriter.rewrite(
        QdqRewriter.Request.of(m, CalibrationPlan.of(m), Map.of("x", p, "c", p))).model();
    // qcal's provenance names another model
    String other = "0".repeat(64);
    Path tagged = tmp.resolve("tagged.onnx");
    Files.write(tagged, OnnxModels.withMetadata(q, Map.of("qcal.model_sha256", other)).toByteArray());
    Cli r = Cli.run("inspect", "--model", fp.toString(), "--quantized", tagged.toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains("--quantized " + tagged + " was not made from --model " + fp), r.errorLine());
    assertTrue(r.errorLine().contains(other), r.errorLine());
    assertTrue(r.errorLine().contains(OnnxModels.sha256(fp)), r.errorLine());
    assertEquals("", r.out());
    // the same quantized model tagged with the right SHA-256 is accepted
    Path right = tmp.resolve("right.onnx");
    Files.write(right, OnnxModels.withMetadata(q, Map.of("qcal.model_sha256", OnnxModels.sha256(fp))).toByteArray());
    assertEquals(0, Cli.run("inspect", "--model", fp.toString(), "--quantized", right.toString()).code());
    // no provenance (another tool's model): an unrelated graph's outputs do not match
    Cli unrelated = Cli.run("inspect", "--model", fp.toString(), "--quantized", ExampleData.MODEL.toString());
    assertEquals(Main.BAD_INPUT, unrelated.code(), unrelated.err());
    assertTrue(unrelated.errorLine().contains("does not match --model " + fp + ": its graph outputs [softmax_0.tmp_0]"
        + " differ from the model's [y]"), unrelated.errorLine());
  }

  @Test
  void helpListsTheCommands() {
    Cli r = Cli.run("--help");
    assertEquals(0, r.code());
    assertTrue(r.out().contains("calibrate") && r.out().contains("inspect") && r.out().contains("example-data"), r.out());
  }

  @Test
  void explainsEveryNodeOfAVitBlock(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("vit.onnx");
    Files.write(f, dev.qcal.model.TransformerGraphs.vit(dev.qcal.model.TransformerGraphs.VIT, 17).toByteArray());
    Cli r = Cli.run("inspect", "--model", f.toString(), "--input-shape", "pixels=1,3,32,32");
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.out().lines().toList();
    String header = lines.stream().filter(l -> l.startsWith("nodes (")).findFirst().orElseThrow();
    int nodes = Integer.parseInt(header.replaceAll("nodes \\(\\d+ of (\\d+) quantized\\):", "$1"));
    long decided = lines.stream().filter(l -> l.startsWith("  QDQ  ") || l.startsWith("  FP32 ")).count();
    assertEquals(nodes, decided, "one line per node of the prepared model");
    // attention: both inputs of Q.K^T calibrated; projections: output float, the bias fused downstream
    assertTrue(lines.stream().anyMatch(l -> l.matches(
        "  QDQ  MatMul '.*': rule MatMulRule; input '.*' calibrated, input '.*' calibrated, output '.*' calibrated")),
        r.out());
    assertTrue(lines.stream().anyMatch(l -> l.matches(
        "  QDQ  MatMul '.*': rule MatMulRule; weight .* \\(channel axis 1\\); input '.*' calibrated, output '.*'"
            + " float \\(bias Add fused downstream, MatMulIntegerToFloat\\)")), r.out());
    assertEquals(16, lines.stream().filter(l -> l.matches("  FP32 (Pow|Mul|Add|Tanh) '.*': inside GELU \\(Tanh form\\)"
        + " '.*' -> '.*' \\(8 nodes\\), kept FP32 as one unit so ONNX Runtime fuses it; .*")).count(), r.out());
    assertTrue(lines.stream().anyMatch(l -> l.matches("  FP32 Softmax '.*': op type not in --op-types \\(not a default.*")),
        r.out());
    assertTrue(lines.stream().anyMatch(l -> l.matches("  FP32 Reshape '.*': op type not in --op-types \\(not a default"
        + " op type: it moves values only.*")), r.out());
  }

  /**
   * An op type with no rule, named in --op-types: one warning, its node shown FP32 with the reason, the Conv
   * quantized; Relu named too is accepted and still folded into the Conv's output.
   */
  @Test
  void anOpTypeWithNoRuleIsShownFp32WithTheReason(@TempDir Path tmp) throws Exception {
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("Conv", "conv", List.of("x", "w"), List.of("c")),
            TestGraphs.node("Relu", "relu", List.of("c"), List.of("r")),
            TestGraphs.node("Erf", "erf", List.of("r"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 1, 2, 4, 4)), List.of(TestGraphs.floatInfo("y", 1, 2, 4, 4)),
        List.of(TestGraphs.floatTensor("w", new long[] {2, 2, 1, 1}, 0.5f, -0.25f, 1f, 0.75f)));
    Path fp = tmp.resolve("m.onnx");
    Files.write(fp, m.toByteArray());
    Cli r = Cli.run("inspect", "--model", fp.toString(), "--op-types", "Conv,Relu,Erf");
    assertEquals(0, r.code(), r.err());
    assertEquals(List.of("qcal: warning: --op-types Erf: no quantization rule for this op type;"
        + " its nodes stay FP32"), r.err().lines().toList());
    assertTrue(r.out().contains("  QDQ  Conv 'conv': rule ConvRule"), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.startsWith("  QDQ  Relu 'relu': folded into the producer's output")),
        r.out());
    assertTrue(r.out().contains("  FP32 Erf 'erf': no rule for op type Erf; stays FP32"), r.out());
  }
}
