package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model saved with a newer IR version (14) than ONNX Runtime 1.28.0 reads (IR 13): calibrated from a copy
 * with the IR version lowered when its opset is one the runtime runs; refused in one line naming both versions
 * when its opset (27) or an element type (27, past INT2 = 26, the last of IR 13) is newer.
 */
@ExtendWith(SharedSpark.class)
class CalibrateNewerIrTest {
  @TempDir Path tmp;

  /** y = Conv(x, w, b), x [N, 2, 6, 6], w [3, 2, 3, 3], saved with {@code irVersion} and {@code opset}. */
  private Path conv(String name, long irVersion, int opset, List<TensorProto> extra) {
    List<TensorProto> inits = new ArrayList<>(List.of(
        TestGraphs.floatTensor("w", new long[] {3, 2, 3, 3}, TestGraphs.randomFloats(54, 1)),
        TestGraphs.floatTensor("b", new long[] {3}, TestGraphs.randomFloats(3, 2))));
    inits.addAll(extra);
    ModelProto m = TestGraphs.model(opset,
        List.of(TestGraphs.node("Conv", "conv", List.of("x", "w", "b"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 2, 6, 6)), List.of(TestGraphs.floatInfo("y")), inits)
        .toBuilder().setIrVersion(irVersion).build();
    Path f = tmp.resolve(name);
    OnnxModels.save(m, f);
    return f;
  }

  private Path data() throws Exception {
    Path data = tmp.resolve("data");
    if (Files.isDirectory(data)) {
      return data;
    }
    Files.createDirectories(data);
    Npy.writeFloat32(data.resolve("x.npy"), TestGraphs.randomFloats(8 * 72, 3), new long[] {8, 2, 6, 6});
    return data;
  }

  @Test
  void irVersion14AtOpset13IsCalibratedAndItsQuantizedModelLoads(SparkSession spark) throws Exception {
    Path model = conv("ir14.onnx", 14, 13, List.of());
    Path out = tmp.resolve("out");
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data().toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    Path q = out.resolve("quantized.onnx");
    ModelProto qm = OnnxModels.load(q);
    assertTrue(qm.getIrVersion() <= 13, "quantized IR version " + qm.getIrVersion());
    assertTrue(qm.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("QuantizeLinear")));
    try (OrtSession s = OrtEnvironment.getEnvironment().createSession(q.toString(), new OrtSession.SessionOptions())) {
      assertEquals(List.of("x"), List.copyOf(s.getInputNames()));
    }
    Cli ev = Cli.run("evaluate", "--fp32", model.toString(), "--quantized", q.toString(), "--data",
        data().toString(), "--out", tmp.resolve("eval").toString());
    assertEquals(0, ev.code(), ev.err());
    assertTrue(Files.isRegularFile(tmp.resolve("eval/eval.json")), ev.out());
  }

  @Test
  void inspectReportsTheIrVersionAndTheLowering() {
    Path model = conv("ir14.onnx", 14, 13, List.of());
    Cli r = Cli.run("inspect", "--model", model.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("(opset 13, IR version 14,"), r.out());
    assertTrue(r.out().contains("IR version 14 lowered to 13 for ONNX Runtime "
        + OrtEnvironment.getEnvironment().getVersion()), r.out());
  }

  @Test
  void anOpsetBeyondTheRuntimeIsRefusedNamingBothVersions(SparkSession spark) throws Exception {
    Path model = conv("opset27.onnx", 14, 27, List.of());
    Path out = tmp.resolve("out");
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data().toString(), "--out", out.toString());
    r.assertBadInput(out, "opset27.onnx", "IR version 14 with opset 27", "IR versions up to 13",
        "opsets up to 26");
    assertEquals(1, r.err().lines().filter(l -> !l.isBlank()).count(), r.err());
  }

  @Test
  void anElementTypeTheLoweredIrLacksIsRefusedNamingBothVersions(SparkSession spark) throws Exception {
    // IR version 13 ends at INT2 = 26; 27 is newer
    TensorProto newer = TensorProto.newBuilder().setName("scale").setDataType(27).addDims(1)
        .setRawData(ByteString.copyFrom(new byte[] {127})).build();
    Path model = conv("type27.onnx", 14, 13, List.of(newer));
    Path out = tmp.resolve("out");
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data().toString(), "--out", out.toString());
    r.assertBadInput(out, "type27.onnx", "IR version 14", "'scale' of element type 27", "IR version 13");
  }
}
