package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.io.HostileNamesTest;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** calibrate end to end on a model whose tensor names are non-ASCII, or forge a calibration.cache line. */
@ExtendWith(SharedSpark.class)
class HostileNamesCalibrateTest {
  static final String INPUT = "入力 x";
  static final String OUTPUT = "出力 \"<b>&'\t\\ שכבה";
  static final String EMOJI = "out \uD83D\uDE00";
  static final String FORGER = "r1\nINJECTED: 3c000000";
  @TempDir Path tmp;

  /** {@code output = input @ w} with input [N, 4]. */
  private Path model(String output) {
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm", List.of(INPUT, "w"), List.of(output))),
        List.of(TestGraphs.batchInput(INPUT, 4)), List.of(TestGraphs.floatInfo(output)),
        List.of(TestGraphs.floatTensor("w", new long[] {4, 3}, TestGraphs.randomFloats(12, 1))));
    Path f = tmp.resolve("model.onnx");
    OnnxModels.save(m, f);
    return f;
  }

  private Path data() throws Exception {
    Path f = tmp.resolve("data/x.npy");
    Files.createDirectories(f.getParent());
    Npy.writeFloat32(f, TestGraphs.randomFloats(6 * 4, 2), new long[] {6, 4});
    return f.getParent();
  }

  @Test
  void nonAsciiNamesReachEveryOutput(SparkSession spark) throws Exception {
    Path out = tmp.resolve("out");
    Cli r = Cli.run("calibrate", "--model", model(OUTPUT).toString(), "--data", data().toString(),
        "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    JsonNode q = new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
    assertTrue(q.get("activations").has(INPUT) && q.get("activations").has(OUTPUT), q.toString());
    JsonNode table = new ObjectMapper().readTree(out.resolve("calibration_table.json").toFile());
    assertTrue(table.has(INPUT) && table.has(OUTPUT), table.toString());
    Map<String, String> cache = HostileNamesTest.readLikeTensorRt(Files.readAllBytes(out.resolve("calibration.cache")));
    assertEquals(List.of(INPUT, OUTPUT), new ArrayList<>(cache.keySet()));
    try (var files = Files.walk(out)) {
      List<String> named = files.map(f -> f.getFileName().toString())
          .filter(n -> n.contains("入力") || n.contains("出力")).toList();
      assertEquals(List.of(), named, "no file is named after a tensor");
    }
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("出力 &quot;&lt;b&gt;&amp;&#39;\t\\ שכבה") && !html.contains("<b>&"), "escaped in the report");
  }

  @Test
  void aNameThatWouldForgeACacheLineIsRefusedNamingIt(SparkSession spark) throws Exception {
    Path out = tmp.resolve("out");
    Path model = model(FORGER);
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data().toString(), "--out", out.toString());
    r.assertBadInput(out, model.toString(), "tensor 'r1\\nINJECTED: 3c000000'", "calibration.cache");
    assertEquals(1, r.err().lines().count(), r.err());
  }

  @Test
  void aNameOnnxRuntimeJavaCannotPassIsRefusedNamingIt(SparkSession spark) throws Exception {
    Path out = tmp.resolve("out");
    Path model = model(EMOJI);
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data().toString(), "--out", out.toString());
    r.assertBadInput(out, model.toString(), "output '" + EMOJI + "'", "U+1F600", "ONNX Runtime");
  }
}
