package dev.qcal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.stats.Histogram;
import dev.qcal.testing.Chromium;
import dev.qcal.testing.RenderedReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * drift's report.html from a drift.json and histograms: tensors by severity, the 8 most severe overlaid (the
 * baseline's outline only where there is a baseline histogram), names escaped, and the page renders in Chromium.
 */
class DriftReportTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  /** A drift.json of {@code n} tensors {@code t<i>} whose severity is i (so t<n-1> is the most severe). */
  private static ObjectNode drift(int n) {
    ObjectNode d = JSON.createObjectNode();
    d.put("format", "qcal.drift");
    d.put("verdict", "drift");
    d.put("tensors_compared", n);
    d.putObject("thresholds").put("max_clip", 0.01).put("max_js", 0.05).put("max_sqnr_loss_db", 6.0);
    d.putArray("drifted").addObject().put("tensor", "t" + (n - 1));
    ObjectNode ts = d.putObject("tensors");
    for (int i = 0; i < n; i++) {
      ObjectNode t = ts.putObject(i == 2 ? "<b>&t2" : "t" + i);
      t.put("method", "minmax");
      t.putObject("deployed").putArray("range").add(-1.0).add(1.0);
      t.putObject("fresh").putArray("range").add(-1.5).add(1.5);
      t.putArray("current_observed").add(-1.5).add(1.5);
      t.put("clipped_fraction", 0.01 * i);
      t.putNull("js_divergence");
      t.put("sqnr_loss_db", 1.0);
      t.put("severity", (double) i);
      t.putArray("past");
    }
    return d;
  }

  private static Histogram uniform(long seed, float scale) {
    Random r = new Random(seed);
    float[] v = new float[5000];
    for (int i = 0; i < v.length; i++) {
      v[i] = (r.nextFloat() * 2 - 1) * scale;
    }
    return Histogram.empty(4096).add(v);
  }

  @Test
  void theMostSevereTensorsAreDrawnAndTheRestListed() throws Exception {
    int n = 11;
    Map<String, Histogram> base = new LinkedHashMap<>();
    Map<String, Histogram> now = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String name = i == 2 ? "<b>&t2" : "t" + i;
      now.put(name, uniform(i, 1.5f));
      if (i % 2 == 0) {
        base.put(name, uniform(100 + i, 1f));
      }
    }
    String html = DriftReport.html(drift(n), base, now);
    assertEquals(8, RenderedReport.count(html, "<svg class=\"plot drift-overlay\""));
    // severity 10, 9, ... 3 are drawn: of those, the even ones (10, 8, 6, 4) have a baseline outline
    assertEquals(4, RenderedReport.count(html, "<title>baseline: 5000 values</title>"));
    assertTrue(html.indexOf(">t10<") < html.indexOf(">t9<") && html.indexOf(">t9<") < html.indexOf(">t0<"),
        "by severity");
    assertTrue(html.contains("&lt;b&gt;&amp;t2"));
    assertFalse(html.contains("<b>&t2"));
    Path file = tmp.resolve("report.html");
    DriftReport.write(file, drift(n), base, now);
    RenderedReport.check(file, tmp, 8, 8);
    assertEquals(List.of(), Chromium.processesWith(tmp.toAbsolutePath().toString()), "chromium processes left");
  }
}
