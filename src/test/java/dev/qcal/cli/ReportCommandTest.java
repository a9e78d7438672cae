package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.io.StatsFiles;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ReportFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code qcal report}: report.html of a run directory, with or without an evaluation; bad input named. */
class ReportCommandTest {
  @TempDir Path tmp;
  Path run;

  @BeforeEach
  void run() throws Exception {
    run = tmp.resolve("run");
    ReportFixtures.writeRun(run, 5, 4096);
  }

  private static int count(String s, String what) {
    return s.split(java.util.regex.Pattern.quote(what), -1).length - 1;
  }

  @Test
  void writesTheReportAtomically() throws Exception {
    Path out = tmp.resolve("report");
    Cli r = Cli.run("report", "--run", run.toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("report of 5 activations and 2 weights"), r.out());
    assertTrue(Files.exists(out.resolve("_SUCCESS")));
    String html = Files.readString(out.resolve("report.html"));
    assertEquals(5, count(html, "<svg class=\"plot hist\""));
    assertFalse(html.contains("id=\"evaluation\""));
    // again: exists, then --overwrite
    Cli again = Cli.run("report", "--run", run.toString(), "--out", out.toString());
    assertEquals(2, again.code());
    assertTrue(again.errorLine().contains(out.toString()), again.errorLine());
    assertEquals(0, Cli.run("report", "--run", run.toString(), "--out", out.toString(), "--overwrite").code());
  }

  /** The SHA-256 of bytes 1, 2, 3 (as {@code printf '\\x01\\x02\\x03' | sha256sum} gives it). */
  private static final String SHA_123 = "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81";

  /** Writes the fixture's eval.json into {@code dir} with its models' SHA-256 replaced (null: kept). */
  private static Path eval(Path dir, String fp32Sha, String quantizedSha) throws Exception {
    ReportFixtures.writeEval(dir, 5, 5, true);
    ObjectMapper json = new ObjectMapper();
    ObjectNode e = (ObjectNode) json.readTree(dir.resolve("eval.json").toFile());
    if (fp32Sha != null) {
      ((ObjectNode) e.get("fp32")).put("sha256", fp32Sha);
    }
    if (quantizedSha != null) {
      ((ObjectNode) e.get("quantized")).put("sha256", quantizedSha);
    }
    json.writeValue(dir.resolve("eval.json").toFile(), e);
    return dir;
  }

  @Test
  void withAnEvaluationAndItsSensitivity() throws Exception {
    eval(tmp.resolve("eval"), null, SHA_123);
    Files.write(run.resolve("quantized.onnx"), new byte[] {1, 2, 3});
    Path out = tmp.resolve("report");
    Cli r = Cli.run("report", "--run", run.toString(), "--eval", tmp.resolve("eval").toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("<h2 id=\"evaluation\">"));
    assertTrue(html.contains("<h2 id=\"sensitivity\">"));
    String table = html.substring(html.indexOf("<table class=\"sensitivity\">"));
    assertEquals(5, count(table.substring(0, table.indexOf("</table>")), "<tr><td class=\"n\">"));
    // the eval.json file itself works as well
    assertEquals(0, Cli.run("report", "--run", run.toString(), "--eval", tmp.resolve("eval/eval.json").toString(),
        "--out", tmp.resolve("r2").toString()).code());
  }

  /**
   * An eval.json of another quantized model than the run's quantized.onnx, or of another FP32 model than the
   * run quantized, is refused (it was taken, with a note inside the report only): exit 2, one line naming
   * both models and SHA-256s, nothing written.
   */
  @Test
  void anEvaluationOfOtherModelsIsRefused() throws Exception {
    Files.write(run.resolve("quantized.onnx"), new byte[] {1, 2, 3});
    Path other = eval(tmp.resolve("other"), null, "cd".repeat(32));
    Path out = tmp.resolve("report");
    Cli r = Cli.run("report", "--run", run.toString(), "--eval", other.toString(), "--out", out.toString());
    r.assertBadInput(out, other.resolve("eval.json") + " evaluated the quantized model q.onnx (SHA-256 "
        + "cd".repeat(32) + "), not the run's " + run.resolve("quantized.onnx").toUri().getPath().replaceAll("/$", "")
        + " (SHA-256 " + SHA_123 + ")");
    assertEquals(1, r.err().lines().count(), r.err());
    Path otherFp32 = eval(tmp.resolve("otherfp32"), "ef".repeat(32), SHA_123);
    Cli f = Cli.run("report", "--run", run.toString(), "--eval", otherFp32.toString(), "--out", out.toString());
    f.assertBadInput(out, otherFp32.resolve("eval.json") + " compared with the FP32 model m.onnx (SHA-256 "
        + "ef".repeat(32) + "), not the run's ", " (SHA-256 " + ReportFixtures.SHA + ", ");
  }

  @Test
  void aQuantizeRunsStatisticsComeFromItsRunJsonOrStats() throws Exception {
    Path stats = tmp.resolve("elsewhere");
    Files.move(run.resolve(StatsFiles.DIR), stats);
    Cli none = Cli.run("report", "--run", run.toString(), "--out", tmp.resolve("a").toString());
    assertEquals(2, none.code());
    assertTrue(none.errorLine().contains("give --stats DIR"), none.errorLine());
    assertFalse(Files.exists(tmp.resolve("a")));

    assertEquals(0, Cli.run("report", "--run", run.toString(), "--stats", stats.toString(), "--out",
        tmp.resolve("b").toString()).code());
    ObjectMapper json = new ObjectMapper();
    ObjectNode runJson = (ObjectNode) json.readTree(run.resolve("run.json").toFile());
    runJson.put("stats", stats.toString());
    json.writeValue(run.resolve("run.json").toFile(), runJson);
    Cli r = Cli.run("report", "--run", run.toString(), "--out", tmp.resolve("c").toString());
    assertEquals(0, r.code(), r.err());
    assertEquals(5, count(Files.readString(tmp.resolve("c/report.html")), "<svg class=\"plot hist\""));
  }

  @Test
  void badInputIsNamedAndNothingIsWritten() throws Exception {
    Path out = tmp.resolve("out");
    Path notARun = Files.createDirectories(tmp.resolve("not-a-run"));
    Cli notRun = Cli.run("report", "--run", notARun.toString(), "--out", out.toString());
    assertEquals(2, notRun.code());
    assertTrue(notRun.errorLine().contains(notARun.resolve("qparams.json").toString())
        && notRun.errorLine().contains("not found"), notRun.errorLine());

    Files.createDirectories(tmp.resolve("noeval"));
    Cli noEval = Cli.run("report", "--run", run.toString(), "--eval", tmp.resolve("noeval").toString(), "--out",
        out.toString());
    assertEquals(2, noEval.code());
    assertTrue(noEval.errorLine().contains("noeval/eval.json: not found"), noEval.errorLine());

    Path other = tmp.resolve("other");
    StatsFiles.write(other, ReportFixtures.stats(2, 64), "ef".repeat(32), 13, Map.of());
    Cli wrongModel = Cli.run("report", "--run", run.toString(), "--stats", other.toString(), "--out", out.toString());
    assertEquals(2, wrongModel.code());
    assertTrue(wrongModel.errorLine().contains("ef".repeat(32)) && wrongModel.errorLine().contains(ReportFixtures.SHA),
        wrongModel.errorLine());

    Files.writeString(tmp.resolve("bad.json"), "{\"format\": \"qcal.run\"}");
    Cli wrongFormat = Cli.run("report", "--run", run.toString(), "--eval", tmp.resolve("bad.json").toString(), "--out",
        out.toString());
    assertEquals(2, wrongFormat.code());
    assertTrue(wrongFormat.errorLine().contains("expected format 'qcal.eval', found 'qcal.run'"), wrongFormat.errorLine());
    assertFalse(Files.exists(out), "nothing written");
  }
}
