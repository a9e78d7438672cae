package dev.qcal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.stats.StatsSet;
import dev.qcal.testing.Chromium;
import dev.qcal.testing.ReportFixtures;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
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

  /** The attributes of the page's {@code #render-check} element in a dumped DOM. */
  static Map<String, String> renderCheck(String dom) {
    Matcher m = Pattern.compile("<div id=\"render-check\"([^>]*)>").matcher(dom);
    assertTrue(m.find(), "no #render-check in the dumped DOM:\n" + dom.substring(0, Math.min(2000, dom.length())));
    Map<String, String> a = new LinkedHashMap<>();
    Matcher kv = Pattern.compile("([a-z-]+)=\"([^\"]*)\"").matcher(m.group(1));
    while (kv.find()) {
      a.put(kv.group(1), kv.group(2));
    }
    return a;
  }

  /**
   * Loads {@code html} in Chromium and checks it rendered {@code hists} histograms (each with bars
   * and four method markers) among {@code plots} plots, without errors. Returns the screenshot.
   */
  static BufferedImage checkRenders(Path html, Path work, int hists, int plots) throws Exception {
    String url = html.toAbsolutePath().toUri().toString();
    Chromium.Result dump = Chromium.run(work, "--dump-dom", url);
    Map<String, String> check = renderCheck(dump.out());
    assertEquals("1", check.get("data-done"), "the check script ran: " + check + "\n" + dump.err());
    assertEquals("0", check.get("data-errors"), "script errors: " + check);
    assertEquals(String.valueOf(plots), check.get("data-plots"), "plots in the DOM");
    assertEquals(String.valueOf(plots), check.get("data-sized"), "plots with a non-zero rendered size");
    assertEquals(String.valueOf(hists), check.get("data-bars"), "histograms whose bars have a non-zero box");
    assertEquals(String.valueOf(4 * hists), check.get("data-markers"), "method markers");
    assertEquals(List.of(), dump.console(), "console messages (CSP violations, errors)");

    Path png = work.resolve(html.getFileName() + ".png");
    Chromium.Result shot = Chromium.run(work, "--screenshot=" + png.toAbsolutePath(), "--window-size=1280,2000",
        "--hide-scrollbars", url);
    assertTrue(Files.exists(png), "no screenshot: " + shot.err());
    assertEquals(List.of(), shot.console());
    BufferedImage img = ImageIO.read(png.toFile());
    assertNotNull(img, "not a PNG");
    assertEquals(1280, img.getWidth());
    assertEquals(2000, img.getHeight());
    assertTrue(Files.size(png) > 50_000, "screenshot of " + Files.size(png) + " bytes");
    // a drawn page: many non-white pixels and more colours than text alone (bars, bands, markers)
    long inked = 0;
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < img.getHeight(); y += 2) {
      for (int x = 0; x < img.getWidth(); x += 2) {
        int rgb = img.getRGB(x, y) & 0xffffff;
        colours.add(rgb);
        inked += rgb != 0xffffff ? 1 : 0;
      }
    }
    double fraction = inked / (img.getWidth() / 2.0 * img.getHeight() / 2.0);
    assertTrue(fraction > 0.03, "inked fraction " + fraction);
    assertTrue(colours.size() > 50, colours.size() + " colours");
    return img;
  }

  @Test
  void aReportOf150TensorsWithEvaluationRendersEveryPlot() throws Exception {
    Path run = tmp.resolve("run");
    ReportFixtures.writeRun(run, TENSORS, 4096);
    ReportFixtures.writeEval(tmp.resolve("eval"), TENSORS, 20, true);
    ReportData d = ReportData.read(run.toString(), null, tmp.resolve("eval").toString(),
        new org.apache.hadoop.conf.Configuration());
    Path html = tmp.resolve(ReportWriter.NAME);
    ReportWriter.write(html, d);
    String text = Files.readString(html);
    int plots = ReportWriterTest.count(text, "<svg class=\"plot");
    assertEquals(TENSORS + 2 + 1, plots, "histograms, weight and bias channel plots, sensitivity plot");
    // about 5 KB per tensor: reasonable for a few hundred
    assertTrue(Files.size(html) < TENSORS * 8_000L, Files.size(html) + " bytes");
    checkRenders(html, tmp, TENSORS, plots);
    assertEquals(List.of(), Chromium.processesWith(tmp.toAbsolutePath().toString()), "chromium processes left");
  }

  @Test
  void aReportWithoutHistogramsRendersToo() throws Exception {
    Path run = tmp.resolve("run");
    StatsSet stats = ReportFixtures.writeRun(run, 4, 0);
    JsonNode q = new ObjectMapper().readTree(run.resolve(QParamsFile.NAME).toFile());
    JsonNode r = new ObjectMapper().readTree(run.resolve(RunReport.NAME).toFile());
    Path html = tmp.resolve("nohist.html");
    ReportWriter.write(html, ReportData.of(q, r, stats, null));
    Chromium.Result dump = Chromium.run(tmp, "--dump-dom", html.toAbsolutePath().toUri().toString());
    Map<String, String> check = renderCheck(dump.out());
    assertEquals("1", check.get("data-done"));
    assertEquals("0", check.get("data-errors"));
    assertEquals("2", check.get("data-plots"), "the weight and bias channel plots only");
    assertEquals("2", check.get("data-sized"));
    assertEquals("0", check.get("data-bars"));
    assertEquals(List.of(), dump.console());
  }
}
