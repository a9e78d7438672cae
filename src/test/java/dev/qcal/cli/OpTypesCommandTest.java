package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --op-types}: Relu (folded into its quantized producer) is accepted and changes nothing in the graph, an ONNX op type with no
 * rule warns once and the rest is quantized, a name that is no ONNX op type is a usage error.
 */
@ExtendWith(SharedSpark.class)
class OpTypesCommandTest {
  static final String MODEL = ExampleData.MODEL.toString();
  @TempDir Path tmp;

  private Cli calibrate(Path out, String opTypes) {
    return Cli.run("calibrate", "--model", MODEL, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out.toString(), "--op-types", opTypes);
  }

  private static ModelProto load(Path f) throws Exception {
    return ModelProto.parseFrom(Files.readAllBytes(f));
  }

  /** The node producing each tensor. */
  private static Map<String, NodeProto> producers(ModelProto m) {
    return m.getGraph().getNodeList().stream().flatMap(n -> n.getOutputList().stream().map(o -> Map.entry(o, n)))
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a));
  }

  @Test
  void reluIsAcceptedAndQuantizesExactlyWhatConvAddDoes(SparkSession spark) throws Exception {
    Path withRelu = tmp.resolve("relu");
    Path without = tmp.resolve("norelu");
    Cli a = calibrate(withRelu, "Conv,Relu,Add");
    assertEquals(0, a.code(), a.err());
    assertFalse(a.err().contains("warning"), a.err());
    Cli b = calibrate(without, "Conv,Add");
    assertEquals(0, b.code(), b.err());
    // every Relu of the example follows a Conv, so each is folded: the same graph (the metadata's op type
    // list names Relu, which now has a rule for Relus after FP32 producers)
    assertEquals(load(without.resolve("quantized.onnx")).getGraph(), load(withRelu.resolve("quantized.onnx")).getGraph());
    // the Adds are quantized (both inputs come from DequantizeLinear) and so are the Convs' weights
    ModelProto q = load(withRelu.resolve("quantized.onnx"));
    Map<String, NodeProto> by = producers(q);
    Function<String, Boolean> dq = t -> by.containsKey(t) && by.get(t).getOpType().equals("DequantizeLinear");
    long adds = q.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Add")).count();
    long qAdds = q.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("Add") && dq.apply(n.getInput(0)) && dq.apply(n.getInput(1))).count();
    assertTrue(adds > 0 && qAdds > 0, adds + " Adds, " + qAdds + " quantized");
    assertTrue(q.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv"))
        .allMatch(n -> dq.apply(n.getInput(1))));
  }

  @Test
  void anOpTypeWithNoRuleWarnsOnceAndTheRestIsQuantized(SparkSession spark) throws Exception {
    Path out = tmp.resolve("in");
    Cli r = Cli.run("quantize", "--model", MODEL, "--stats", ExampleData.calibratedSmall().toString(),
        "--out", out.toString(), "--op-types", "Conv,Einsum");
    assertEquals(0, r.code(), r.err());
    assertEquals(1, r.err().lines().filter(l -> l.contains("warning")).count(), r.err());
    assertTrue(r.err().contains("qcal: warning: --op-types Einsum: no quantization rule for this op"
        + " type; its nodes stay FP32"), r.err());
    ModelProto q = load(out.resolve("quantized.onnx"));
    Map<String, NodeProto> by = producers(q);
    long convs = q.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).count();
    long qConvs = q.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv"))
        .filter(n -> by.containsKey(n.getInput(1)) && by.get(n.getInput(1)).getOpType().equals("DequantizeLinear"))
        .count();
    assertTrue(convs > 0);
    assertEquals(convs, qConvs);
  }

  @Test
  void aNameThatIsNoOnnxOpTypeIsAUsageErrorWithASuggestion() {
    Path out = tmp.resolve("typo");
    Cli r = Cli.run("inspect", "--model", MODEL, "--op-types", "Cnov");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.errorLine().contains("--op-types 'Cnov': not an ONNX op type; did you mean Conv?"), r.errorLine());
    Cli q = Cli.run("quantize", "--model", MODEL, "--stats", tmp.toString(), "--out", out.toString(),
        "--op-types", "Conv,Cnov");
    q.assertBadInput(out, "--op-types 'Cnov'", "did you mean Conv?");
  }
}
