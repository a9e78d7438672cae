package dev.qcal.report;

import static dev.qcal.report.Html.esc;
import static dev.qcal.report.Html.fileName;
import static dev.qcal.report.Html.floats;
import static dev.qcal.report.Html.longs;
import static dev.qcal.report.Html.num;
import static dev.qcal.report.Html.range;
import static dev.qcal.report.Html.spread;
import static dev.qcal.report.Html.sqnr;
import static dev.qcal.report.Html.tree;
import static dev.qcal.report.Html.zeroPoints;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.io.OutputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
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
    head(b, d);
    summary(b, d);
    for (String n : d.notes()) {
      b.append("<p class=\"note\">").append(esc(n)).append("</p>\n");
    }
    if (d.eval() != null) {
      EvalSection.evaluation(b, d.eval());
      EvalSection.sensitivity(b, d.eval().get("sensitivity"), anchors(d.activations()));
    }
    List<ReportData.Activation> est = d.activations().stream().filter(a -> a.sqnrDb() != null).toList();
    if (!est.isEmpty()) {
      b.append("<h2 id=\"overview\">Estimated SQNR per activation</h2>\n");
      Svg.overview(b, est);
    }
    if (d.run() != null) {
      AlgorithmSection.append(b, d.run().get("algorithms"));
    }
    activationTable(b, d);
    legend(b, d.settings());
    for (int i = 0; i < d.activations().size(); i++) {
      tensorSection(b, i, d.activations().get(i));
    }
    weights(b, d.weights());
    if (d.run() != null) {
      b.append("<h2 id=\"run\">Run summary (run.json)</h2>\n");
      tree(b, d.run());
    }
    close(b);
    return b.toString();
  }

  private static void head(StringBuilder b, ReportData d) {
    open(b, "qcal report", fileName(d.summary().modelPath()));
  }

  /**
   * The page up to its heading {@code title: name}: the policy, style and title shared by every qcal page
   * (report.html of calibrate, quantize, report and drift).
   */
  static void open(StringBuilder b, String title, String name) {
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    b.append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        + "script-src '").append(scriptHash()).append("'; img-src data:\">\n");
    b.append("<meta name=\"viewport\" content=\"width=device-width\">\n");
    b.append("<title>").append(esc(title)).append(": ").append(esc(name)).append("</title>\n");
    b.append("<style>\n").append(STYLE).append("\n</style></head>\n<body>\n");
    b.append("<h1>").append(esc(title)).append(": <span class=\"name\">").append(esc(name))
        .append("</span></h1>\n");
  }

  /** The end of a page opened with {@link #open}: the render check and its script. */
  static void close(StringBuilder b) {
    b.append("<div id=\"render-check\" data-errors=\"0\" hidden></div>\n");
    b.append("<script>").append(SCRIPT).append("</script>\n</body></html>\n");
  }

  /** Activation name to its section's index (the anchor {@code t-N}). */
  private static Map<String, Integer> anchors(List<ReportData.Activation> activations) {
    Map<String, Integer> anchors = new HashMap<>();
    for (int i = 0; i < activations.size(); i++) {
      anchors.put(activations.get(i).name(), i);
    }
    return anchors;
  }

  /** The heading of the histograms and what their marks mean, one sample line per method. */
  private static void legend(StringBuilder b, ReportData.Settings settings) {
    b.append("<h2 id=\"activations\">Activations</h2>\n");
    b.append("<p class=\"legend\">Histogram of the finite values (bar height: log<sub>10</sub>(1 + count)); "
        + "the shaded band is the grid the chosen scale and zero point represent, the red lines the chosen range; "
        + "dashed lines: the range each method would choose");
    if (settings.recorded()) {
      b.append(" (percentile ").append(num(settings.percentile())).append(", ")
          .append(settings.symmetric() ? "symmetric" : "asymmetric").append(")");
    }
    b.append(":<br>");
    for (String m : Svg.METHOD_ORDER) {
      String[] style = Svg.MARKERS.get(m);
      b.append("<span><svg width=\"28\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"28\" y2=\"5\" stroke=\"")
          .append(style[0]).append("\" stroke-width=\"2\" stroke-dasharray=\"").append(style[1])
          .append("\"/></svg> ").append(m).append("</span>");
    }
    b.append("</p>\n");
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

  static void row(StringBuilder b, String key, String html) {
    b.append("<tr><th>").append(esc(key)).append("</th><td>").append(html).append("</td></tr>\n");
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
      Svg.histogram(b, a);
    } else if (a.paramsFrom() == null && !"op_defined".equals(a.method())) {
      b.append("<p class=\"note no-histogram\">No histogram in the statistics (collected with --histogram-bins 0?): "
          + "only the min/max range is known.</p>\n");
    }
    if (!a.methods().isEmpty()) {
      methodTable(b, a);
    }
    b.append("</section>\n");
  }

  /** Every method's range for {@code a} and its estimated SQNR, the chosen method in bold. */
  private static void methodTable(StringBuilder b, ReportData.Activation a) {
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
      Svg.channelPlot(b, w);
      b.append("</td></tr>\n");
    }
    b.append("</table>\n");
  }
}
