package dev.qcal.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.calib.Range;
import dev.qcal.io.OutputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes {@code report.html}: one self-contained file (no network: a Content-Security-Policy allows
 * nothing but the inline style and the one inline script, by hash) with the run summary, the
 * evaluation and sensitivity ranking when an eval.json is given, a table of the calibrated
 * activations sorted by estimated error, and per activation an inline SVG histogram (log-scale
 * counts) marking the range each method would choose and the chosen parameters' grid. The script
 * only checks the page rendered (it records plot sizes and errors in {@code #render-check}); the
 * report reads the same without it. Every name is HTML-escaped; anchors are {@code t-N}, not names.
 */
public final class ReportWriter {
  public static final String NAME = "report.html";

  /** Plot geometry of the histograms (SVG user units). */
  static final int WIDTH = 760;
  static final int HEIGHT = 190;
  private static final int LEFT = 56;
  private static final int RIGHT = 14;
  private static final int TOP = 12;
  private static final int BOTTOM = 34;

  /** Marker colours and dash patterns per method (the chosen range is drawn solid and thick). */
  private static final Map<String, String[]> MARKERS = Map.of(
      "minmax", new String[] {"#444444", "2,2"},
      "percentile", new String[] {"#1f77b4", "6,3"},
      "entropy", new String[] {"#2ca02c", "8,3,2,3"},
      "mse", new String[] {"#9467bd", "3,4"});

  private static final String STYLE = String.join("\n",
      "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}",
      "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}h3{font-size:15px;margin:4px 0}",
      "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}",
      "th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}",
      "code,.name{font-family:ui-monospace,monospace;word-break:break-all}",
      "section.tensor{border-top:1px solid #eee;padding:8px 0}",
      ".note{background:#fff6d5;border:1px solid #e8d27c;padding:4px 8px;margin:4px 0}",
      ".bars{fill:#9ecae1;stroke:#3182bd;stroke-width:.5}.grid{fill:#fdae6b;fill-opacity:.18}",
      ".axis{stroke:#888;stroke-width:1}.lbl{font-size:11px;fill:#555}",
      ".chosen{stroke:#d62728;stroke-width:2.5}.sens{fill:#fc9272}",
      ".scroll{max-height:560px;overflow-y:auto;display:inline-block;border:1px solid #ddd}.scroll table{margin:0}",
      ".legend span{display:inline-block;margin-right:12px}.bad{color:#b00}");

  /** Records the rendered size of every plot and any error into #render-check. */
  private static final String SCRIPT = String.join("\n",
      "(function(){var c=document.getElementById('render-check');",
      "function fail(m){c.setAttribute('data-errors',(+c.getAttribute('data-errors')+1)+'');",
      "c.appendChild(document.createTextNode('error: '+m+' '));}",
      "window.addEventListener('error',function(e){fail(e.message);});",
      "try{var plots=document.querySelectorAll('svg.plot'),sized=0,bars=0,marks=0;",
      "for(var i=0;i<plots.length;i++){var r=plots[i].getBoundingClientRect();if(r.width>0&&r.height>0)sized++;",
      "var b=plots[i].querySelector('path.bars');if(b){var bb=b.getBBox();if(bb.width>0&&bb.height>0)bars++;}",
      "marks+=plots[i].querySelectorAll('g.marker').length;}",
      "c.setAttribute('data-plots',plots.length+'');c.setAttribute('data-sized',sized+'');",
      "c.setAttribute('data-bars',bars+'');c.setAttribute('data-markers',marks+'');",
      "c.setAttribute('data-done','1');}catch(e){fail(e&&e.message?e.message:e);}})();");

  private ReportWriter() {}

  /** Writes the report of {@code d} to {@code file}. */
  public static void write(Path file, ReportData d) {
    try {
      Files.writeString(file, html(d), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new OutputException(file.getFileName() + ": cannot write: " + e.getMessage(), e);
    }
  }

  /** The value of the {@code script-src} hash source that allows the report's inline script. */
  static String scriptHash() {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(SCRIPT.getBytes(StandardCharsets.UTF_8));
      return "sha256-" + Base64.getEncoder().encodeToString(h);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The whole page. Deterministic: the same data give the same bytes. */
  public static String html(ReportData d) {
    StringBuilder b = new StringBuilder(64 * 1024);
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    b.append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        + "script-src '").append(scriptHash()).append("'; img-src data:\">\n");
    b.append("<meta name=\"viewport\" content=\"width=device-width\">\n");
    b.append("<title>qcal report: ").append(esc(fileName(d.summary().modelPath()))).append("</title>\n");
    b.append("<style>\n").append(STYLE).append("\n</style></head>\n<body>\n");
    b.append("<h1>qcal report: <span class=\"name\">").append(esc(fileName(d.summary().modelPath())))
        .append("</span></h1>\n");
    summary(b, d);
    for (String n : d.notes()) {
      b.append("<p class=\"note\">").append(esc(n)).append("</p>\n");
    }
    Map<String, Integer> anchors = new HashMap<>();
    for (int i = 0; i < d.activations().size(); i++) {
      anchors.put(d.activations().get(i).name(), i);
    }
    if (d.eval() != null) {
      evaluation(b, d.eval());
      sensitivity(b, d.eval().get("sensitivity"), anchors);
    }
    overview(b, d);
    activationTable(b, d);
    b.append("<h2 id=\"activations\">Activations</h2>\n");
    b.append("<p class=\"legend\">Histogram of the finite values (bar height: log<sub>10</sub>(1 + count)); "
        + "the shaded band is the grid the chosen scale and zero point represent, the red lines the chosen range; "
        + "dashed lines: the range each method would choose");
    if (d.settings().recorded()) {
      b.append(" (percentile ").append(num(d.settings().percentile())).append(", ")
          .append(d.settings().symmetric() ? "symmetric" : "asymmetric").append(")");
    }
    b.append(":<br>");
    for (Map.Entry<String, String[]> m : markerOrder()) {
      b.append("<span><svg width=\"28\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"28\" y2=\"5\" stroke=\"")
          .append(m.getValue()[0]).append("\" stroke-width=\"2\" stroke-dasharray=\"").append(m.getValue()[1])
          .append("\"/></svg> ").append(m.getKey()).append("</span>");
    }
    b.append("</p>\n");
    for (int i = 0; i < d.activations().size(); i++) {
      tensorSection(b, i, d.activations().get(i));
    }
    weights(b, d.weights());
    if (d.run() != null) {
      b.append("<h2 id=\"run\">Run summary (run.json)</h2>\n");
      tree(b, d.run());
    }
    b.append("<div id=\"render-check\" data-errors=\"0\" hidden></div>\n");
    b.append("<script>").append(SCRIPT).append("</script>\n</body></html>\n");
    return b.toString();
  }

  private static List<Map.Entry<String, String[]>> markerOrder() {
    List<Map.Entry<String, String[]>> l = new ArrayList<>();
    for (String m : List.of("minmax", "percentile", "entropy", "mse")) {
      l.add(Map.entry(m, MARKERS.get(m)));
    }
    return l;
  }

  private static void summary(StringBuilder b, ReportData d) {
    ReportData.Summary s = d.summary();
    b.append("<table class=\"summary\">\n");
    row(b, "model", "<code>" + esc(s.modelPath()) + "</code>");
    row(b, "model SHA-256", "<code>" + esc(s.modelSha256()) + "</code>");
    row(b, "opset", s.sourceOpset() + " &rarr; " + s.preparedOpset());
    row(b, "method", esc(s.method()));
    row(b, "calibration samples", Long.toString(s.samples()));
    row(b, "calibrated activations", d.activations().size() + " (<a href=\"#activations\">histograms</a>)");
    row(b, "quantized weights and biases", d.weights().size() + " (<a href=\"#weights\">table</a>)");
    if (d.run() != null) {
      JsonNode v = d.run().get("versions");
      if (v != null && v.has("qcal")) {
        row(b, "qcal", esc(v.get("qcal").asText()));
      }
      if (d.run().has("wall_seconds")) {
        row(b, "wall time", num(d.run().get("wall_seconds").asDouble()) + " s (<a href=\"#run\">run summary</a>)");
      }
    }
    b.append("</table>\n");
  }

  private static void row(StringBuilder b, String key, String html) {
    b.append("<tr><th>").append(esc(key)).append("</th><td>").append(html).append("</td></tr>\n");
  }

  private static final List<String> OUTPUT_FIELDS = List.of("elements", "non_finite_values", "sqnr_db",
      "cosine_similarity", "max_abs_error", "mean_abs_error", "rows", "top1_agreement");

  private static void evaluation(StringBuilder b, JsonNode eval) {
    b.append("<h2 id=\"evaluation\">Evaluation (eval.json)</h2>\n<table class=\"eval\">\n");
    for (String k : List.of("samples", "data", "labels")) {
      if (eval.has(k) && !eval.get(k).isNull()) {
        row(b, k, esc(text(eval.get(k))));
      }
    }
    for (String k : List.of("fp32", "quantized")) {
      if (eval.has(k)) {
        // path, SHA-256 and whatever else eval.json measured of the model (size, throughput)
        StringBuilder m = new StringBuilder();
        tree(m, eval.get(k));
        row(b, k + " model", m.toString());
      }
    }
    b.append("</table>\n");
    JsonNode outputs = eval.get("outputs");
    if (outputs != null && outputs.size() > 0) {
      b.append("<table class=\"outputs\"><tr><th>output</th>");
      for (String f : OUTPUT_FIELDS) {
        b.append("<th>").append(esc(f)).append("</th>");
      }
      b.append("<th>accuracy FP32</th><th>accuracy quantized</th></tr>\n");
      for (Iterator<Map.Entry<String, JsonNode>> it = outputs.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> o = it.next();
        b.append("<tr><td class=\"name\">").append(esc(o.getKey())).append("</td>");
        for (String f : OUTPUT_FIELDS) {
          b.append("<td class=\"n\">").append(esc(value(o.getValue().get(f)))).append("</td>");
        }
        JsonNode acc = o.getValue().get("accuracy");
        b.append("<td class=\"n\">").append(acc == null ? "&ndash;" : esc(value(acc.get("fp32")))).append("</td>");
        b.append("<td class=\"n\">").append(acc == null ? "&ndash;" : esc(value(acc.get("quantized"))))
            .append("</td></tr>\n");
      }
      b.append("</table>\n");
    }
    // anything else eval.json holds (sizes, throughput, fallback, ...), as it is
    List<String> shown = List.of("format", "format_version", "samples", "data", "labels", "fp32", "quantized",
        "outputs", "sensitivity");
    StringBuilder rest = new StringBuilder();
    for (Iterator<Map.Entry<String, JsonNode>> it = eval.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!shown.contains(e.getKey())) {
        rest.append("<tr><th>").append(esc(e.getKey())).append("</th><td>");
        tree(rest, e.getValue());
        rest.append("</td></tr>\n");
      }
    }
    if (rest.length() > 0) {
      b.append("<table class=\"eval-more\">\n").append(rest).append("</table>\n");
    }
  }

  private static void sensitivity(StringBuilder b, JsonNode s, Map<String, Integer> anchors) {
    if (s == null || !s.path("tensors").isArray()) {
      return;
    }
    JsonNode tensors = s.get("tensors");
    b.append("<h2 id=\"sensitivity\">Sensitivity</h2>\n<p>Each tensor quantized alone over ")
        .append(esc(text(s.get("samples")))).append(" samples, ranked by ").append(esc(text(s.get("metric"))))
        .append(" (most sensitive first).</p>\n");
    // bar chart of output SQNR for the first 40
    int n = Math.min(40, tensors.size());
    double hi = 0;
    for (int i = 0; i < n; i++) {
      JsonNode v = tensors.get(i).get("output_sqnr_db");
      if (v != null && v.isNumber()) {
        hi = Math.max(hi, v.asDouble());
      }
    }
    if (n > 0 && hi > 0) {
      int rowH = 14;
      int h = n * rowH + 24;
      b.append("<svg class=\"plot sens-plot\" width=\"").append(WIDTH).append("\" height=\"").append(h)
          .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(h).append("\">\n");
      for (int i = 0; i < n; i++) {
        JsonNode t = tensors.get(i);
        JsonNode v = t.get("output_sqnr_db");
        double y = 4 + i * rowH;
        b.append("<text class=\"lbl\" x=\"250\" y=\"").append(c(y + 10)).append("\" text-anchor=\"end\">")
            .append(esc(shorten(t.path("tensor").asText(), 40))).append("</text>");
        if (v != null && v.isNumber()) {
          double w = Math.max(0, v.asDouble()) / hi * (WIDTH - 330);
          b.append("<rect class=\"sens\" x=\"256\" y=\"").append(c(y + 1)).append("\" width=\"").append(c(w))
              .append("\" height=\"").append(rowH - 3).append("\"><title>").append(esc(num(v.asDouble())))
              .append(" dB</title></rect>");
          b.append("<text class=\"lbl\" x=\"").append(c(260 + w)).append("\" y=\"").append(c(y + 10)).append("\">")
              .append(esc(num(v.asDouble()))).append(" dB</text>");
        }
        b.append('\n');
      }
      b.append("</svg>\n");
    }
    b.append("<div class=\"scroll\"><table class=\"sensitivity\"><tr><th>rank</th><th>tensor</th><th>kind</th><th>nodes</th>"
        + "<th>output SQNR dB</th><th>top-1 agreement</th></tr>\n");
    for (JsonNode t : tensors) {
      String name = t.path("tensor").asText();
      Integer a = anchors.get(name);
      b.append("<tr><td class=\"n\">").append(esc(text(t.get("rank")))).append("</td><td class=\"name\">");
      if (a != null) {
        b.append("<a href=\"#t-").append(a).append("\">").append(esc(name)).append("</a>");
      } else {
        b.append(esc(name));
      }
      b.append("</td><td>").append(esc(text(t.get("kind")))).append("</td><td class=\"name\">");
      JsonNode nodes = t.get("nodes");
      if (nodes != null && nodes.isArray()) {
        List<String> l = new ArrayList<>();
        nodes.forEach(x -> l.add(x.asText()));
        b.append(esc(String.join(", ", l)));
      }
      b.append("</td><td class=\"n\">").append(esc(value(t.get("output_sqnr_db")))).append("</td><td class=\"n\">")
          .append(esc(value(t.get("top1_agreement")))).append("</td></tr>\n");
    }
    b.append("</table></div>\n");
  }

  /** One bar per activation with an estimate: its SQNR (dB), worst first, as in the table. */
  private static void overview(StringBuilder b, ReportData d) {
    List<ReportData.Activation> est = d.activations().stream().filter(a -> a.sqnrDb() != null).toList();
    if (est.isEmpty()) {
      return;
    }
    double hi = 0;
    for (ReportData.Activation a : est) {
      if (Double.isFinite(a.sqnrDb())) {
        hi = Math.max(hi, a.sqnrDb());
      }
    }
    hi = hi > 0 ? hi : 1;
    int h = 150;
    double pw = WIDTH - LEFT - RIGHT;
    double ph = h - TOP - 20;
    double w = pw / est.size();
    b.append("<h2 id=\"overview\">Estimated SQNR per activation</h2>\n");
    b.append("<svg class=\"plot overview\" width=\"").append(WIDTH).append("\" height=\"").append(h)
        .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(h).append("\" data-tensors=\"").append(est.size())
        .append("\">\n");
    double base = TOP + ph;
    for (int i = 0; i < est.size(); i++) {
      ReportData.Activation a = est.get(i);
      double v = Double.isFinite(a.sqnrDb()) ? Math.max(0, a.sqnrDb()) : hi;
      double bh = Math.max(0.5, v / hi * ph);
      b.append("<rect class=\"bars\" x=\"").append(c(LEFT + i * w)).append("\" y=\"").append(c(base - bh))
          .append("\" width=\"").append(c(Math.max(0.6, w - (w > 3 ? 1 : 0)))).append("\" height=\"").append(c(bh))
          .append("\"><title>").append(esc(a.name())).append(": ").append(sqnr(a.sqnrDb())).append(" dB</title></rect>");
    }
    b.append("\n<line class=\"axis\" x1=\"").append(LEFT).append("\" y1=\"").append(c(base)).append("\" x2=\"")
        .append(WIDTH - RIGHT).append("\" y2=\"").append(c(base)).append("\"/>");
    b.append("<text class=\"lbl\" x=\"").append(LEFT - 4).append("\" y=\"").append(TOP + 9)
        .append("\" text-anchor=\"end\">").append(esc(String.format(Locale.ROOT, "%.1f", hi))).append(" dB</text>");
    b.append("<text class=\"lbl\" x=\"").append(LEFT - 4).append("\" y=\"").append(c(base))
        .append("\" text-anchor=\"end\">0</text>");
    b.append("<text class=\"lbl\" x=\"").append(LEFT).append("\" y=\"").append(c(base + 14))
        .append("\">worst</text><text class=\"lbl\" x=\"").append(WIDTH - RIGHT).append("\" y=\"")
        .append(c(base + 14)).append("\" text-anchor=\"end\">best (").append(est.size()).append(" tensors)</text>\n");
    b.append("</svg>\n");
  }

  private static void activationTable(StringBuilder b, ReportData d) {
    b.append("<h2 id=\"tensors\">Calibrated activations by estimated error</h2>\n");
    b.append("<p>Worst estimated SQNR first (quantize-dequantize error over the histogram; "
        + "&infin; = exact). Names link to the histograms.</p>\n");
    b.append("<div class=\"scroll\"><table class=\"tensors\"><tr><th>#</th><th>tensor</th><th>dtype</th><th>method</th><th>range</th>"
        + "<th>scale</th><th>zero point</th><th>expected MSE</th><th>SQNR dB</th><th>non-finite</th></tr>\n");
    for (int i = 0; i < d.activations().size(); i++) {
      ReportData.Activation a = d.activations().get(i);
      b.append("<tr><td class=\"n\">").append(i + 1).append("</td><td class=\"name\"><a href=\"#t-").append(i)
          .append("\">").append(esc(a.name())).append("</a></td><td>").append(esc(a.dtype())).append("</td><td>")
          .append(esc(a.method() == null ? "" : a.method())).append("</td><td class=\"n\">")
          .append(a.chosen() == null ? "" : esc(range(a.chosen()))).append("</td><td class=\"n\">")
          .append(esc(floats(a.scale()))).append("</td><td class=\"n\">").append(esc(longs(a.zeroPoint())))
          .append("</td><td class=\"n\">").append(a.expectedMse() == null ? "&ndash;" : esc(num(a.expectedMse())))
          .append("</td><td class=\"n\">").append(sqnr(a.sqnrDb())).append("</td><td class=\"n")
          .append(a.nonFinite() > 0 ? " bad" : "").append("\">").append(a.nonFinite()).append("</td></tr>\n");
    }
    b.append("</table></div>\n");
  }

  private static void tensorSection(StringBuilder b, int i, ReportData.Activation a) {
    b.append("<section class=\"tensor\" id=\"t-").append(i).append("\">\n<h3 class=\"name\">").append(i + 1)
        .append(". ").append(esc(a.name())).append("</h3>\n<p>").append(esc(a.dtype())).append(", method ")
        .append(esc(a.method() == null ? "?" : a.method()));
    if (a.chosen() != null) {
      b.append(", range ").append(esc(range(a.chosen())));
    }
    b.append(", scale ").append(esc(floats(a.scale()))).append(", zero point ").append(esc(longs(a.zeroPoint())));
    if (!Float.isNaN(a.min())) {
      b.append(", observed [").append(esc(num(a.min()))).append(", ").append(esc(num(a.max()))).append("], ")
          .append(a.count()).append(" finite values");
    }
    if (a.nonFinite() > 0) {
      b.append(", <span class=\"bad\">").append(a.nonFinite()).append(" non-finite</span>");
    }
    if (a.expectedMse() != null) {
      b.append("; expected MSE ").append(esc(num(a.expectedMse()))).append(", SQNR ").append(sqnr(a.sqnrDb()))
          .append(" dB");
    }
    b.append(".</p>\n");
    if (a.note() != null) {
      b.append("<p class=\"note\">").append(esc(a.note())).append("</p>\n");
    }
    if (a.histogram() != null) {
      histogram(b, a);
    } else if (a.paramsFrom() == null && !"op_defined".equals(a.method())) {
      b.append("<p class=\"note no-histogram\">No histogram in the statistics (collected with --histogram-bins 0?): "
          + "only the min/max range is known.</p>\n");
    }
    if (!a.methods().isEmpty()) {
      b.append("<table class=\"methods\"><tr><th>method</th><th>range</th><th>estimated SQNR dB</th></tr>\n");
      for (ReportData.MethodRange m : a.methods()) {
        boolean chosen = m.method().equals(a.method());
        b.append("<tr><td>").append(chosen ? "<b>" : "").append(esc(m.method())).append(chosen ? "</b>" : "")
            .append("</td>");
        if (m.range() == null) {
          b.append("<td colspan=\"2\" class=\"bad\">").append(esc(m.error())).append("</td></tr>\n");
        } else {
          b.append("<td class=\"n\">").append(esc(range(m.range()))).append("</td><td class=\"n\">")
              .append(m.sqnrDb() == null ? "&ndash;" : sqnr(m.sqnrDb())).append("</td></tr>\n");
        }
      }
      b.append("</table>\n");
    }
    b.append("</section>\n");
  }

  /** The histogram plot: bars as one path, the grid band, the chosen range and one marker per method. */
  private static void histogram(StringBuilder b, ReportData.Activation a) {
    ReportData.Bars h = a.histogram();
    double x0 = h.edges()[0];
    double x1 = h.edges()[h.edges().length - 1];
    List<double[]> extra = new ArrayList<>();
    if (a.chosen() != null) {
      extra.add(new double[] {a.chosen().min(), a.chosen().max()});
    }
    if (Double.isFinite(a.gridMin()) && Double.isFinite(a.gridMax())) {
      extra.add(new double[] {a.gridMin(), a.gridMax()});
    }
    for (ReportData.MethodRange m : a.methods()) {
      if (m.range() != null) {
        extra.add(new double[] {m.range().min(), m.range().max()});
      }
    }
    for (double[] r : extra) {
      x0 = Math.min(x0, r[0]);
      x1 = Math.max(x1, r[1]);
    }
    if (!(x1 > x0)) {
      double pad = Math.max(Math.abs(x0) * 0.1, 1e-6);
      x0 -= pad;
      x1 += pad;
    }
    double pw = WIDTH - LEFT - RIGHT;
    double ph = HEIGHT - TOP - BOTTOM;
    double base = TOP + ph;
    double lmax = Math.log10(1 + h.maxCount());
    final double fx0 = x0;
    final double fspan = x1 - x0;
    java.util.function.DoubleUnaryOperator sx = v -> LEFT + (v - fx0) / fspan * pw;
    b.append("<svg class=\"plot hist\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT)
        .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT).append("\" data-bars=\"")
        .append(h.counts().length).append("\" data-source-bins=\"").append(h.sourceBins()).append("\">\n");
    if (Double.isFinite(a.gridMin()) && Double.isFinite(a.gridMax())) {
      double g0 = sx.applyAsDouble(a.gridMin());
      double g1 = sx.applyAsDouble(a.gridMax());
      b.append("<rect class=\"grid\" x=\"").append(c(g0)).append("\" y=\"").append(TOP).append("\" width=\"")
          .append(c(Math.max(g1 - g0, 0.5))).append("\" height=\"").append(c(ph)).append("\"><title>grid [")
          .append(esc(num(a.gridMin()))).append(", ").append(esc(num(a.gridMax()))).append("]</title></rect>\n");
    }
    // bars: one outline path, a step per bar; a bar narrower than a pixel still gets 0.6 px
    StringBuilder p = new StringBuilder();
    double xa = sx.applyAsDouble(h.edges()[0]);
    p.append('M').append(c(xa)).append(',').append(c(base));
    double prevX = xa;
    for (int i = 0; i < h.counts().length; i++) {
      double y = base - (lmax > 0 ? Math.log10(1 + h.counts()[i]) / lmax * ph : 0);
      double xb = Math.max(sx.applyAsDouble(h.edges()[i + 1]), prevX + (h.counts().length == 1 ? 0.6 : 0));
      p.append('V').append(c(y)).append('H').append(c(xb));
      prevX = xb;
    }
    p.append('V').append(c(base)).append('Z');
    b.append("<path class=\"bars\" d=\"").append(p).append("\"><title>").append(h.counts().length)
        .append(" bars of ").append(h.binsPerBar()).append(" histogram bin(s) each, ").append(h.total())
        .append(" values</title></path>\n");
    // axes and labels
    b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" y1=\"").append(c(base)).append("\" x2=\"")
        .append(WIDTH - RIGHT).append("\" y2=\"").append(c(base)).append("\"/>");
    b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" y1=\"").append(TOP).append("\" x2=\"")
        .append(LEFT).append("\" y2=\"").append(c(base)).append("\"/>\n");
    b.append("<text class=\"lbl\" x=\"").append(LEFT - 4).append("\" y=\"").append(TOP + 9)
        .append("\" text-anchor=\"end\">").append(h.maxCount()).append("</text>");
    b.append("<text class=\"lbl\" x=\"").append(LEFT - 4).append("\" y=\"").append(c(base))
        .append("\" text-anchor=\"end\">0</text>\n");
    b.append("<text class=\"lbl\" x=\"").append(LEFT).append("\" y=\"").append(c(base + 14)).append("\">")
        .append(esc(num(x0))).append("</text>");
    b.append("<text class=\"lbl\" x=\"").append(WIDTH - RIGHT).append("\" y=\"").append(c(base + 14))
        .append("\" text-anchor=\"end\">").append(esc(num(x1))).append("</text>");
    if (x0 < 0 && x1 > 0) {
      double z = sx.applyAsDouble(0);
      b.append("<line class=\"axis\" x1=\"").append(c(z)).append("\" y1=\"").append(c(base)).append("\" x2=\"")
          .append(c(z)).append("\" y2=\"").append(c(base + 4)).append("\"/>");
      // the 0 label only where it does not run into the end labels
      if (z - LEFT > 60 && WIDTH - RIGHT - z > 60) {
        b.append("<text class=\"lbl\" x=\"").append(c(z)).append("\" y=\"").append(c(base + 14))
            .append("\" text-anchor=\"middle\">0</text>");
      }
    }
    b.append('\n');
    // method markers, dashed, staggered a little in height so coinciding ones stay visible
    int k = 0;
    for (ReportData.MethodRange m : a.methods()) {
      if (m.range() == null) {
        continue;
      }
      String[] style = MARKERS.getOrDefault(m.method(), new String[] {"#000000", "1,1"});
      double top = TOP + 3 * k++;
      b.append("<g class=\"marker\" data-method=\"").append(esc(m.method())).append("\" data-min=\"")
          .append(m.range().min()).append("\" data-max=\"").append(m.range().max()).append("\" stroke=\"")
          .append(style[0]).append("\" stroke-width=\"1.5\" stroke-dasharray=\"").append(style[1])
          .append("\"><title>").append(esc(m.method())).append(": ").append(esc(range(m.range())))
          .append("</title>");
      for (float v : new float[] {m.range().min(), m.range().max()}) {
        double x = sx.applyAsDouble(v);
        b.append("<line x1=\"").append(c(x)).append("\" y1=\"").append(c(top)).append("\" x2=\"").append(c(x))
            .append("\" y2=\"").append(c(base)).append("\"/>");
      }
      b.append("</g>\n");
    }
    if (a.chosen() != null) {
      b.append("<g class=\"chosen\" data-method=\"").append(esc(a.method() == null ? "" : a.method()))
          .append("\"><title>chosen (").append(esc(a.method() == null ? "" : a.method())).append("): ")
          .append(esc(range(a.chosen()))).append("</title>");
      for (float v : new float[] {a.chosen().min(), a.chosen().max()}) {
        double x = sx.applyAsDouble(v);
        b.append("<line x1=\"").append(c(x)).append("\" y1=\"").append(TOP).append("\" x2=\"").append(c(x))
            .append("\" y2=\"").append(c(base)).append("\"/>");
      }
      b.append("</g>\n");
    }
    b.append("</svg>\n");
  }

  private static void weights(StringBuilder b, List<ReportData.Weight> weights) {
    b.append("<h2 id=\"weights\">Weights and biases</h2>\n");
    if (weights.isEmpty()) {
      b.append("<p>None quantized.</p>\n");
      return;
    }
    b.append("<p>Per-channel plots: each channel's observed [min, max] as a vertical line (0 dashed).</p>\n");
    b.append("<table class=\"weights\"><tr><th>initializer</th><th>role</th><th>dtype</th><th>axis</th>"
        + "<th>channels</th><th>scale (min &hellip; max)</th><th>zero point</th><th>values</th>"
        + "<th>per-channel range</th></tr>\n");
    for (ReportData.Weight w : weights) {
      int channels = w.scale().length;
      b.append("<tr><td class=\"name\">").append(esc(w.name())).append("</td><td>").append(esc(w.role()))
          .append("</td><td>").append(esc(w.dtype())).append("</td><td class=\"n\">")
          .append(w.axis() == null ? "&ndash;" : w.axis().toString()).append("</td><td class=\"n\">").append(channels)
          .append("</td><td class=\"n\">").append(esc(spread(w.scale()))).append("</td><td class=\"n\">")
          .append(esc(zeroPoints(w.zeroPoint()))).append("</td><td class=\"n\">").append(w.count())
          .append("</td><td>");
      channelPlot(b, w);
      b.append("</td></tr>\n");
    }
    b.append("</table>\n");
  }

  /** A small plot of per-channel ranges: one vertical line per channel. */
  private static void channelPlot(StringBuilder b, ReportData.Weight w) {
    int n = w.min().length;
    if (n < 2 || w.max().length != n) {
      return;
    }
    double lo = 0;
    double hi = 0;
    for (int i = 0; i < n; i++) {
      lo = Math.min(lo, w.min()[i]);
      hi = Math.max(hi, w.max()[i]);
    }
    if (!(hi > lo)) {
      return;
    }
    int width = 240;
    int height = 40;
    double step = (double) width / n;
    double fy0 = lo;
    double fspan = hi - lo;
    java.util.function.DoubleUnaryOperator sy = v -> height - 1 - (v - fy0) / fspan * (height - 2);
    StringBuilder p = new StringBuilder();
    for (int i = 0; i < n; i++) {
      double x = (i + 0.5) * step;
      double y0 = sy.applyAsDouble(w.max()[i]);
      double y1 = sy.applyAsDouble(w.min()[i]);
      if (y1 - y0 < 0.6) {
        y1 = y0 + 0.6;
      }
      p.append('M').append(c(x)).append(',').append(c(y0)).append('V').append(c(y1));
    }
    double z = sy.applyAsDouble(0);
    b.append("<svg class=\"plot channels\" width=\"").append(width).append("\" height=\"").append(height)
        .append("\" viewBox=\"0 0 ").append(width).append(' ').append(height).append("\" data-channels=\"").append(n)
        .append("\"><line class=\"axis\" x1=\"0\" y1=\"").append(c(z)).append("\" x2=\"").append(width)
        .append("\" y2=\"").append(c(z)).append("\" stroke-dasharray=\"2,2\"/><path class=\"ch\" stroke=\"#3182bd\" "
            + "stroke-width=\"").append(c(Math.max(0.5, Math.min(3, step * 0.7)))).append("\" d=\"").append(p)
        .append("\"><title>").append(n).append(" channels, [").append(esc(num(lo))).append(", ").append(esc(num(hi)))
        .append("]</title></path></svg>");
  }

  /** run.json (or any JSON) as nested tables. */
  private static void tree(StringBuilder b, JsonNode n) {
    if (n == null || n.isNull()) {
      b.append("&ndash;");
    } else if (n.isObject()) {
      if (n.size() == 0) {
        b.append("{}");
        return;
      }
      b.append("<table>");
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        b.append("<tr><th>").append(esc(e.getKey())).append("</th><td>");
        tree(b, e.getValue());
        b.append("</td></tr>");
      }
      b.append("</table>\n");
    } else if (n.isArray()) {
      boolean flat = true;
      for (JsonNode x : n) {
        flat &= x.isValueNode();
      }
      if (flat) {
        List<String> l = new ArrayList<>();
        n.forEach(x -> l.add(value(x)));
        b.append(esc(String.join(", ", l)));
      } else {
        for (JsonNode x : n) {
          tree(b, x);
        }
      }
    } else {
      b.append(esc(value(n)));
    }
  }

  // --- formatting -----------------------------------------------------------------------------

  /** Escapes text for HTML element content and double- or single-quoted attribute values. */
  public static String esc(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      String r = switch (ch) {
        case '&' -> "&amp;";
        case '<' -> "&lt;";
        case '>' -> "&gt;";
        case '"' -> "&quot;";
        case '\'' -> "&#39;";
        default -> null;
      };
      if (r != null && b == null) {
        b = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (b != null) {
        if (r != null) {
          b.append(r);
        } else {
          b.append(ch);
        }
      }
    }
    return b == null ? s : b.toString();
  }

  private static String text(JsonNode n) {
    return n == null || n.isNull() ? "" : n.isValueNode() ? n.asText() : n.toString();
  }

  /** A JSON value for a table cell: numbers shortened, null as a dash. */
  private static String value(JsonNode n) {
    if (n == null || n.isNull()) {
      return "–";
    }
    if (n.isIntegralNumber()) {
      return n.asText();
    }
    if (n.isNumber()) {
      return num(n.asDouble());
    }
    return text(n);
  }

  /** Six significant digits, no exponent for ordinary magnitudes. */
  static String num(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "∞" : "-∞";
    }
    if (v == 0) {
      return "0";
    }
    double a = Math.abs(v);
    String s = a >= 1e-4 && a < 1e7 ? String.format(Locale.ROOT, "%.6g", v) : String.format(Locale.ROOT, "%.4e", v);
    if (s.contains("e")) {
      String[] p = s.split("e");
      return trim(p[0]) + "e" + Integer.parseInt(p[1]);
    }
    return trim(s);
  }

  private static String trim(String s) {
    if (!s.contains(".")) {
      return s;
    }
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  private static String sqnr(Double v) {
    return v == null ? "&ndash;" : Double.isInfinite(v) ? "&infin;" : esc(String.format(Locale.ROOT, "%.2f", v));
  }

  private static String range(Range r) {
    return "[" + num(r.min()) + ", " + num(r.max()) + "]";
  }

  private static String floats(float[] f) {
    if (f.length == 1) {
      return Float.toString(f[0]);
    }
    return spread(f);
  }

  private static String longs(long[] l) {
    return l.length == 1 ? Long.toString(l[0]) : zeroPoints(l);
  }

  private static String spread(float[] f) {
    if (f.length == 0) {
      return "";
    }
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    for (float v : f) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return lo == hi ? Float.toString(lo) : num(lo) + " … " + num(hi);
  }

  private static String zeroPoints(long[] l) {
    if (l.length == 0) {
      return "";
    }
    long lo = Long.MAX_VALUE;
    long hi = Long.MIN_VALUE;
    for (long v : l) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    return lo == hi ? Long.toString(lo) : lo + " … " + hi;
  }

  /** An SVG coordinate with one decimal. */
  private static String c(double v) {
    long t = Math.round(v * 10);
    return t % 10 == 0 ? Long.toString(t / 10) : (t / 10.0 + "");
  }

  private static String fileName(String path) {
    int s = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
    return s < 0 ? path : path.substring(s + 1);
  }

  private static String shorten(String s, int max) {
    return s.length() <= max ? s : "…" + s.substring(s.length() - max + 1);
  }
}
