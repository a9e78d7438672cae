package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --no-report}: calibrate and quantize write every output but report.html, the marker lists what was
 * written (so {@code --overwrite} still recognises the output), and the other files are the default run's.
 */
@ExtendWith(SharedSpark.class)
class NoReportTest {
  @TempDir Path tmp;

  private static String[] marked(Path dir) throws Exception {
    var files = new ObjectMapper().readTree(dir.resolve("_SUCCESS").toFile()).get("files");
    String[] names = new String[files.size()];
    for (int i = 0; i < names.length; i++) {
      names[i] = files.get(i).asText();
    }
    return names;
  }

  @Test
  void calibrateAndQuantizeLeaveOutReportHtmlOnly(SparkSession spark) throws Exception {
    String model = ExampleData.MODEL.toString();
    String data = ExampleData.small().resolve("x").toString();
    Path with = tmp.resolve("with");
    Path without = tmp.resolve("without");
    Cli a = Cli.run("calibrate", "--model", model, "--data", data, "--out", with.toString());
    assertEquals(0, a.code(), a.err());
    Cli b = Cli.run("calibrate", "--model", model, "--data", data, "--out", without.toString(), "--no-report");
    assertEquals(0, b.code(), b.err());
    assertTrue(Files.exists(with.resolve("report.html")));
    assertFalse(Files.exists(without.resolve("report.html")));
    assertFalse(b.out().contains("report.html"), b.out());
    assertFalse(String.join(",", marked(without)).contains("report.html"));
    assertEquals(marked(with).length - 1, marked(without).length);
    for (String f : new String[] {"quantized.onnx", "qparams.json", "stats/stats.bin"}) {
      assertEquals(-1L, Files.mismatch(with.resolve(f), without.resolve(f)), f);
    }
    // the output is still recognised as calibrate's own
    Cli again = Cli.run("calibrate", "--model", model, "--data", data, "--out", without.toString(), "--no-report",
        "--overwrite");
    assertEquals(0, again.code(), again.err());

    Path q = tmp.resolve("quantized");
    Cli quantize = Cli.run("quantize", "--model", model, "--stats", with.toString(), "--out", q.toString(),
        "--no-report");
    assertEquals(0, quantize.code(), quantize.err());
    assertTrue(Files.exists(q.resolve("qparams.json")));
    assertFalse(Files.exists(q.resolve("report.html")));
  }
}
