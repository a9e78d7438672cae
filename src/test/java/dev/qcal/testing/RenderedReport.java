package dev.qcal.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** Checks that a report.html renders in headless Chromium: its own #render-check, the console, a screenshot. */
public final class RenderedReport {
  private RenderedReport() {}

  public static int count(String s, String what) {
    return s.split(Pattern.quote(what), -1).length - 1;
  }

  /** The attributes of the page's {@code #render-check} element in a dumped DOM. */
  public static Map<String, String> renderCheck(String dom) {
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
  public static BufferedImage check(Path html, Path work, int hists, int plots) throws Exception {
    String url = html.toAbsolutePath().toUri().toString();
    Chromium.Result dump = Chromium.run(work, "--dump-dom", url);
    Map<String, String> check = renderCheck(dump.out());
    assertEquals("1", check.get("data-done"), "the check script ran: " + check + "\n" + dump.err());
    assertEquals("0", check.get("data-errors"), "script errors: " + check);
    assertEquals(String.valueOf(plots), check.get("data-plots"), "plots in the DOM");
    assertEquals(String.valueOf(plots), check.get("data-sized"), "plots with a non-zero rendered size");
    assertEquals(String.valueOf(hists), check.get("data-bars"), "histograms whose bars have a non-zero box");
    assertEquals(String.valueOf(count(Files.readString(html), "<g class=\"marker\"")), check.get("data-markers"),
        "method markers");
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
    long barPixels = 0;
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < img.getHeight(); y += 2) {
      for (int x = 0; x < img.getWidth(); x += 2) {
        int rgb = img.getRGB(x, y) & 0xffffff;
        colours.add(rgb);
        inked += rgb != 0xffffff ? 1 : 0;
        barPixels += rgb == 0x9ecae1 ? 1 : 0;
      }
    }
    double fraction = inked / (img.getWidth() / 2.0 * img.getHeight() / 2.0);
    // the plots are drawn in the first screen: pixels of the bars' fill (#9ecae1)
    assertTrue(barPixels > 2_000, barPixels + " sampled pixels of bar colour");
    assertTrue(fraction > 0.03, "inked fraction " + fraction);
    assertTrue(colours.size() > 50, colours.size() + " colours");
    return img;
  }
}
