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

  @Test
  void withAnEvaluationAndItsSensitivity() throws Exception {
    ReportFixtures.writeEval(tmp.resolve("eval"), 5, 5, true);
    Files.write(run.resolve("quantized.onnx"), new byte[] {1, 2, 3});
    Path out = tmp.resolve("report");
    Cli r = Cli.run("report", "--run", run.toString(), "--eval", tmp.resolve("eval").toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("<h2 id=\"evaluation\">"));
    assertTrue(html.contains("<h2 id=\"sensitivity\">"));
    String table = html.substring(html.indexOf("<table class=\"sensitivity\">"));
    assertEquals(5, count(table.substring(0, table.indexOf("</table>")), "<tr><td class=\"n\">"));
    // eval.json evaluated another quantized model than this run's: said so
    assertTrue(html.contains("evaluated the quantized model with SHA-256 " + "cd".repeat(32)), "note");
    // the eval.json file itself works as well
    assertEquals(0, Cli.run("report", "--run", run.toString(), "--eval", tmp.resolve("eval/eval.json").toString(),
        "--out", tmp.resolve("r2").toString()).code());
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
