package dev.qcal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.RunReport;
import dev.qcal.calib.Calibrators;
import dev.qcal.calib.Range;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.Histogram;
import dev.qcal.stats.StatsSet;
import dev.qcal.testing.ReportFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** report.html: structure, every method's markers, escaping, missing histograms, weights, eval or not. */
class ReportWriterTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private record Built(ReportData data, String html, StatsSet stats, JsonNode qparams) {}

  private Built build(int n, int bins, JsonNode eval) throws Exception {
    Path run = tmp.resolve("run-" + n + "-" + bins);
    StatsSet stats = ReportFixtures.writeRun(run, n, bins);
    JsonNode qparams = JSON.readTree(run.resolve(QParamsFile.NAME).toFile());
    JsonNode runJson = JSON.readTree(run.resolve(RunReport.NAME).toFile());
    ReportData d = ReportData.of(QParamsFile.read(qparams), runJson, stats, eval);
    return new Built(d, ReportWriter.html(d), stats, qparams);
  }

  static int count(String html, String s) {
    int c = 0;
    for (int i = html.indexOf(s); i >= 0; i = html.indexOf(s, i + 1)) {
      c++;
    }
    return c;
  }

  static List<String> all(String html, String regex) {
    List<String> l = new ArrayList<>();
    Matcher m = Pattern.compile(regex).matcher(html);
    while (m.find()) {
      l.add(m.group(1));
    }
    return l;
  }

  @Test
  void onePlotAndSectionPerTensorSortedByEstimatedError() throws Exception {
    Built b = build(12, 4096, null);
    String html = b.html();
    assertEquals(12, count(html, "<section class=\"tensor\""));
    assertEquals(12, count(html, "<svg class=\"plot hist\""));
    for (int i = 0; i < 12; i++) {
      assertEquals(1, count(html, "id=\"t-" + i + "\""), "anchor t-" + i);
      assertTrue(count(html, "href=\"#t-" + i + "\"") >= 1, "link to t-" + i);
    }
    // table rows by the SQNR qparams.json (the report's input) records, worst first
    List<Map.Entry<String, Double>> bySqnr = new ArrayList<>();
    b.qparams().get("activations").fields().forEachRemaining(
        e -> bySqnr.add(Map.entry(e.getKey(), e.getValue().get("sqnr_db").asDouble())));
    bySqnr.sort(Map.Entry.comparingByValue());
    assertEquals(12, bySqnr.stream().map(Map.Entry::getValue).distinct().count(), "distinct SQNRs: one order");
    List<String> tableNames = all(html, "<tr><td class=\"n\">\\d+</td><td class=\"name\"><a href=\"#t-\\d+\">([^<]*)</a>");
    assertEquals(bySqnr.stream().map(e -> Html.esc(e.getKey())).toList(), tableNames);
    // the overview: one bar per tensor
    assertEquals(1, count(html, "<svg class=\"plot overview\" width=\"760\" height=\"150\" viewBox=\"0 0 760 150\" data-tensors=\"12\">"));
    String overview = html.substring(html.indexOf("plot overview"), html.indexOf("</svg>", html.indexOf("plot overview")));
    assertEquals(12, count(overview, "<rect class=\"bars\""));
    // at most 256 bars, summing the exact histogram
    for (String bars : all(html, "data-bars=\"(\\d+)\"")) {
      assertTrue(Integer.parseInt(bars) <= ReportData.MAX_BARS && Integer.parseInt(bars) > 100, bars);
    }
    for (ReportData.Activation a : b.data().activations()) {
      Histogram h = b.stats().get(a.name()).histogram();
      ReportData.Bars bars = a.histogram();
      assertEquals(h.total(), bars.total(), a.name());
      assertEquals(h.lowerEdge(0), bars.edges()[0]);
      assertEquals(h.lowerEdge(h.bins()), bars.edges()[bars.edges().length - 1]);
      assertEquals(h.bins(), bars.sourceBins());
    }
    // the run summary, weights and no evaluation
    assertTrue(html.contains("<h2 id=\"run\">"));
    assertTrue(html.contains("<h2 id=\"weights\">"));
    assertFalse(html.contains("id=\"evaluation\""));
    assertFalse(html.contains("id=\"sensitivity\""));
  }

  @Test
  void markersAreTheRangesTheCalibratorsChoose() throws Exception {
    Built b = build(8, 4096, null);
    String html = b.html();
    assertEquals(8 * 4, count(html, "<g class=\"marker\""));
    for (ReportData.Activation a : b.data().activations()) {
      String section = section(html, a.name());
      for (String m : Calibrators.METHODS) {
        Range r = Calibrators.of(m, ReportFixtures.PERCENTILE).range(a.name(), b.stats().get(a.name()), QuantType.UINT8, false);
        String marker = "data-method=\"" + m + "\" data-min=\"" + r.min() + "\" data-max=\"" + r.max() + "\"";
        assertEquals(1, count(section, marker), a.name() + " " + marker);
      }
      // the chosen method's recomputed range is the one qparams.json recorded
      ReportData.MethodRange chosen = a.methods().stream().filter(m -> m.method().equals(a.method())).findFirst().get();
      assertEquals(a.chosen(), chosen.range(), a.name());
      assertEquals(a.sqnrDb(), chosen.sqnrDb(), 1e-9, a.name());
    }
    // percentile 99.9 clips the outlier tensors: the percentile range is inside minmax's
    ReportData.Activation outlier = b.data().activations().stream().filter(a -> a.name().equals("act_2")).findFirst().get();
    Range pct = outlier.methods().get(1).range();
    assertTrue(pct.max() < outlier.max() / 5, pct + " vs max " + outlier.max());
  }

  @Test
  void namesAreEscapedEverywhere() throws Exception {
    Built b = build(6, 4096, JSON.valueToTree(ReportFixtures.eval(6, 6, true)));
    String html = b.html();
    String odd = ReportFixtures.ODD;
    assertFalse(html.contains(odd), "raw name");
    assertFalse(html.contains("<1>"), "raw <1>");
    assertFalse(html.contains("<m>"), "raw model path");
    assertFalse(html.contains("softmax<0>"), "raw output name");
    String escaped = "conv&lt;1&gt;/out&amp;&quot;x&quot;&#39;";
    assertEquals(escaped, Html.esc(odd));
    // table row, section heading, sensitivity row (linked) and sensitivity plot label
    assertTrue(count(html, escaped) >= 4, "escaped name occurrences: " + count(html, escaped));
    assertTrue(html.contains("conv&lt;1&gt;.weight"));
    assertTrue(html.contains("models/&lt;m&gt;&amp;.onnx"));
    // every tag in the page is one the writer emits: no tag was smuggled in through a name
    for (String tag : all(html.substring(0, html.indexOf("<script>")), "<([a-zA-Z][a-zA-Z0-9]*)")) {
      assertTrue(List.of("html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span", "table",
          "tr", "th", "td", "a", "b", "br", "sub", "svg", "line", "rect", "path", "text", "g", "section", "div",
          "script", "code").contains(tag), tag);
    }
  }

  @Test
  void selfContainedWithScriptAllowedByHashOnly() throws Exception {
    String html = build(3, 4096, null).html();
    assertTrue(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"));
    for (String net : List.of("http://", "https://", " src=", "url(", "@import", "<link", "<img", "<iframe")) {
      assertFalse(html.contains(net), net);
    }
    assertEquals(1, count(html, "<script>"));
    String script = html.substring(html.indexOf("<script>") + 8, html.indexOf("</script>"));
    String hash = "sha256-" + Base64.getEncoder().encodeToString(
        MessageDigest.getInstance("SHA-256").digest(script.getBytes(StandardCharsets.UTF_8)));
    assertTrue(html.contains("script-src '" + hash + "'"), "CSP allows the script by its hash");
    assertEquals(html, ReportWriter.html(build(3, 4096, null).data()), "deterministic");
  }

  @Test
  void tensorsWithoutHistogramShowMinMaxOnly() throws Exception {
    Built b = build(5, 0, null);
    String html = b.html();
    assertEquals(0, count(html, "<svg class=\"plot hist\""));
    assertEquals(5, count(html, "class=\"note no-histogram\""));
    for (ReportData.Activation a : b.data().activations()) {
      assertNull(a.histogram());
      assertNull(a.sqnrDb(), "no estimate without a histogram");
      assertEquals(new Range(a.min(), a.max()), a.methods().get(0).range(), "minmax from min/max");
      for (ReportData.MethodRange m : a.methods().subList(1, 4)) {
        assertNull(m.range(), m.method());
        assertTrue(m.error().contains(a.name()) && m.error().contains("histogram"), m.error());
      }
    }
    assertTrue(html.contains("histogram"));
  }

  @Test
  void perChannelWeightsGetAChannelPlot() throws Exception {
    Built b = build(2, 4096, null);
    assertEquals(2, b.data().weights().size());
    ReportData.Weight w = b.data().weights().get(0);
    assertEquals("weight", w.role());
    assertEquals(0, w.axis());
    assertEquals(ReportFixtures.WEIGHT_CHANNELS, w.scale().length);
    assertEquals(4f, w.max()[5]);
    String html = b.html();
    assertEquals(2, count(html, "data-channels=\"" + ReportFixtures.WEIGHT_CHANNELS + "\""), "weight and bias plots");
    String row = html.substring(html.indexOf("<td class=\"name\">conv&lt;1&gt;.weight"));
    row = row.substring(0, row.indexOf("</tr>"));
    // 8 channels: 8 vertical strokes, scale spread min … max
    String d = row.substring(row.indexOf(" d=\"") + 4);
    assertEquals(ReportFixtures.WEIGHT_CHANNELS, count(d.substring(0, d.indexOf('"')), "M"));
    assertTrue(row.contains(" … "), row);
  }

  @Test
  void evaluationAndSensitivityOnlyWhenGiven() throws Exception {
    String none = build(6, 4096, null).html();
    assertFalse(none.contains("id=\"evaluation\""));

    String noSens = build(6, 4096, JSON.valueToTree(ReportFixtures.eval(6, 0, false))).html();
    assertTrue(noSens.contains("<h2 id=\"evaluation\">"));
    assertFalse(noSens.contains("id=\"sensitivity\""));
    assertTrue(noSens.contains("0.996094"), "top-1 agreement");
    assertTrue(noSens.contains("0.988281"), "quantized accuracy");
    assertTrue(noSens.contains("fp32_samples_per_second"), "other eval.json fields shown as they are");

    Built b = build(6, 4096, JSON.valueToTree(ReportFixtures.eval(6, 5, true)));
    String html = b.html();
    assertTrue(html.contains("<h2 id=\"sensitivity\">"));
    String table = html.substring(html.indexOf("<table class=\"sensitivity\">"));
    table = table.substring(0, table.indexOf("</table>"));
    List<String> ranks = all(table, "<tr><td class=\"n\">(\\d+)</td>");
    assertEquals(List.of("1", "2", "3", "4", "5"), ranks);
    // rank 1 is act_4, linked to its section; the last has a null SQNR shown as a dash
    String anchor = "t-" + indexOf(b.data(), "act_4");
    assertTrue(table.contains("<a href=\"#" + anchor + "\">act_4</a>"), table);
    assertTrue(table.contains("<td class=\"n\">–</td><td class=\"n\">–</td></tr>"), "null figures");
    assertEquals(4, count(html.substring(html.indexOf("sens-plot")), "<rect class=\"sens\""), "bars for non-null SQNRs");
  }

  @Test
  void aTensorMissingFromTheStatisticsIsNamed() throws Exception {
    Path run = tmp.resolve("run");
    ReportFixtures.writeRun(run, 4, 4096);
    JsonNode qparams = JSON.readTree(run.resolve(QParamsFile.NAME).toFile());
    StatsSet fewer = ReportFixtures.stats(3, 4096);
    ReportData d = ReportData.of(QParamsFile.read(qparams), null, fewer, null);
    ReportData.Activation missing = d.activations().stream().filter(a -> a.name().equals("act_3")).findFirst().get();
    assertNotNull(missing.note());
    assertTrue(missing.note().contains("no entry"), missing.note());
    assertNull(missing.histogram());
    assertTrue(d.notes().get(0).contains("range_options"), "defaults assumed without run.json");
    assertTrue(ReportWriter.html(d).contains("the statistics have no entry for this tensor"));
  }

  @Test
  void derivedActivationsAreNamedNotPlotted() throws Exception {
    Path run = tmp.resolve("run");
    StatsSet stats = ReportFixtures.writeRun(run, 3, 4096);
    com.fasterxml.jackson.databind.node.ObjectNode qparams =
        (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(run.resolve(QParamsFile.NAME).toFile());
    com.fasterxml.jackson.databind.node.ObjectNode acts = (com.fasterxml.jackson.databind.node.ObjectNode) qparams.get("activations");
    // as qparams.json writes a pass-through op's output and a Softmax output: no min, max or counts
    acts.set("pool<out>", JSON.readTree("{\"role\":\"activation\",\"dtype\":\"uint8\",\"axis\":null,\"scale\":[0.1],"
        + "\"zero_point\":[3],\"method\":\"shared\",\"params_from\":\"act_1\",\"range_min\":-0.3,\"range_max\":25.2}"));
    acts.set("prob", JSON.readTree("{\"role\":\"activation\",\"dtype\":\"uint8\",\"axis\":null,\"scale\":[0.003921569],"
        + "\"zero_point\":[0],\"method\":\"op_defined\",\"range_min\":0.0,\"range_max\":1.0}"));
    ReportData d = ReportData.of(QParamsFile.read(qparams), JSON.readTree(run.resolve(RunReport.NAME).toFile()), stats, null);
    assertEquals(List.of("pool<out>", "prob"), d.activations().subList(3, 5).stream().map(ReportData.Activation::name).toList(),
        "no estimate: last");
    String html = ReportWriter.html(d);
    String shared = section(html, "pool<out>");
    assertTrue(shared.contains("shares the scale and zero point of act_1"), shared);
    assertTrue(section(html, "prob").contains("fixed by the op&#39;s definition"));
    for (String sec : List.of(shared, section(html, "prob"))) {
      assertFalse(sec.contains("observed") || sec.contains("NaN") || sec.contains("no-histogram") || sec.contains("<svg"), sec);
    }
    assertEquals(3, count(html, "<svg class=\"plot hist\""));
  }

  /** The section of tensor {@code name}. */
  static String section(String html, String name) {
    for (String s : html.split("<section class=\"tensor\"")) {
      if (s.contains(". " + Html.esc(name) + "</h3>")) {
        return s.substring(0, s.indexOf("</section>"));
      }
    }
    throw new AssertionError("no section of " + name);
  }

  private static int indexOf(ReportData d, String name) {
    for (int i = 0; i < d.activations().size(); i++) {
      if (d.activations().get(i).name().equals(name)) {
        return i;
      }
    }
    throw new AssertionError(name);
  }
}
