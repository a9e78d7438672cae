package dev.qcal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.RunReport;
import dev.qcal.stats.StatsSet;
import dev.qcal.testing.Chromium;
import dev.qcal.testing.RenderedReport;
import dev.qcal.testing.ReportFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opens report.html in headless Chromium: the page's own check (#render-check) must report every
 * plot rendered with a non-zero size, every histogram's bars drawn, every marker present and no
 * error; the console must be silent (a Content-Security-Policy violation or an uncaught error would
 * show there); a screenshot must show a drawn page.
 */
class ReportBrowserTest {
  static final int TENSORS = 150;
  @TempDir Path tmp;

  @Test
  void aReportOf150TensorsWithEvaluationRendersEveryPlot() throws Exception {
    Path run = tmp.resolve("run");
    ReportFixtures.writeRun(run, TENSORS, 4096);
    ReportFixtures.writeEval(tmp.resolve("eval"), TENSORS, 20, true);
    ReportData d = RunDirectory.read(run.toString(), null, tmp.resolve("eval").toString(),
        new org.apache.hadoop.conf.Configuration());
    Path html = tmp.resolve(ReportWriter.NAME);
    ReportWriter.write(html, d);
    String text = Files.readString(html);
    int plots = ReportWriterTest.count(text, "<svg class=\"plot");
    assertEquals(TENSORS + 2 + 1 + 1, plots, "histograms, weight and bias channel plots, sensitivity and overview plots");
    assertEquals(4 * TENSORS, ReportWriterTest.count(text, "<g class=\"marker\""), "four method markers each");
    // about 5 KB per tensor: reasonable for a few hundred
    assertTrue(Files.size(html) < TENSORS * 8_000L, Files.size(html) + " bytes");
    RenderedReport.check(html, tmp, TENSORS, plots);
    assertEquals(List.of(), Chromium.processesWith(tmp.toAbsolutePath().toString()), "chromium processes left");
  }

  @Test
  void aReportWithoutHistogramsRendersToo() throws Exception {
    Path run = tmp.resolve("run");
    StatsSet stats = ReportFixtures.writeRun(run, 4, 0);
    JsonNode q = new ObjectMapper().readTree(run.resolve(QParamsFile.NAME).toFile());
    JsonNode r = new ObjectMapper().readTree(run.resolve(RunReport.NAME).toFile());
    Path html = tmp.resolve("nohist.html");
    ReportWriter.write(html, ReportData.of(QParamsFile.read(q), r, stats, null));
    Chromium.Result dump = Chromium.run(tmp, "--dump-dom", html.toAbsolutePath().toUri().toString());
    Map<String, String> check = RenderedReport.renderCheck(dump.out());
    assertEquals("1", check.get("data-done"));
    assertEquals("0", check.get("data-errors"));
    assertEquals("2", check.get("data-plots"), "the weight and bias channel plots only");
    assertEquals("2", check.get("data-sized"));
    assertEquals("0", check.get("data-bars"));
    assertEquals(List.of(), dump.console());
  }
}
