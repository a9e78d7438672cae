package dev.qcal.report;

import static dev.qcal.report.Html.c;
import static dev.qcal.report.Html.esc;
import static dev.qcal.report.Html.num;
import static dev.qcal.report.Html.value;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.io.OutputException;
import dev.qcal.stats.CommonGrid;
import dev.qcal.stats.Histogram;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code report.html} of {@code qcal drift}, drawn from its drift.json and the two sides' histograms: the verdict
 * and thresholds, every tensor's figures (most severe first) and, for the {@value #PLOTS} most severe, the baseline
 * and current histograms overlaid on their common grid with the deployed and the fresh range.
 */
public final class DriftReport {
  public static final String NAME = ReportWriter.NAME;
  /** Tensors whose histograms are drawn. */
  static final int PLOTS = 8;
  /** Most bins of an overlay's common grid. */
  static final int OVERLAY_BINS = 256;

  private static final int LEFT = 56;
  private static final int RIGHT = 14;
  private static final int TOP = 12;
  private static final int BOTTOM = 34;

  private DriftReport() {}

  /**
   * Writes the page.
   *
   * @param drift the drift.json written with it
   * @param baseline the baseline's per-tensor histograms (none when the baseline is a qparams.json only)
   * @param current the current per-tensor histograms
   */
  public static void write(Path file, JsonNode drift, Map<String, Histogram> baseline, Map<String, Histogram> current) {
    try {
      Files.writeString(file, html(drift, baseline, current), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new OutputException(file.getFileName() + ": cannot write: " + e.getMessage(), e);
    }
  }

  /** The whole page; the same inputs give the same bytes. */
  static String html(JsonNode drift, Map<String, Histogram> baseline, Map<String, Histogram> current) {
    StringBuilder b = new StringBuilder(64 * 1024);
    ReportWriter.open(b, "qcal drift", drift.path("verdict").asText());
    summary(b, drift);
    List<Map.Entry<String, JsonNode>> tensors = new ArrayList<>();
    drift.path("tensors").fields().forEachRemaining(tensors::add);
    tensors.sort(Comparator.comparingDouble((Map.Entry<String, JsonNode> e) -> -severity(e.getValue()))
        .thenComparing(Map.Entry::getKey));
    table(b, tensors);
    b.append("<h2 id=\"histograms\">Most drifted tensors</h2>\n<p class=\"legend\">Bars: the current histogram; "
        + "outline: the baseline's, scaled to the same number of values (height log<sub>10</sub>(1 + count)), both on "
        + "their common power-of-two grid; red lines: the deployed range; dashed green: the range the method would "
        + "choose now.</p>\n");
    for (int i = 0; i < Math.min(PLOTS, tensors.size()); i++) {
      Map.Entry<String, JsonNode> t = tensors.get(i);
      b.append("<section class=\"tensor\" id=\"d-").append(i).append("\">\n<h3 class=\"name\">").append(i + 1)
          .append(". ").append(esc(t.getKey())).append("</h3>\n");
      overlay(b, t.getValue(), baseline.get(t.getKey()), current.get(t.getKey()));
      b.append("</section>\n");
    }
    ReportWriter.close(b);
    return b.toString();
  }

  private static double severity(JsonNode t) {
    JsonNode s = t.get("severity");
    return s == null || s.isNull() ? Double.POSITIVE_INFINITY : s.asDouble();
  }

  private static void summary(StringBuilder b, JsonNode d) {
    b.append("<table class=\"summary\">\n");
    ReportWriter.row(b, "verdict", "<b" + ("drift".equals(d.path("verdict").asText()) ? " class=\"bad\"" : "") + ">"
        + esc(d.path("verdict").asText()) + "</b>: " + d.path("drifted").size() + " of "
        + d.path("tensors_compared").asInt() + " tensors past a threshold");
    ReportWriter.row(b, "baseline", "<code>" + esc(d.path("baseline").path("location").asText()) + "</code> ("
        + d.path("baseline").path("samples").asLong() + " samples; deployed parameters from "
        + esc(d.path("baseline").path("deployed_from").asText()) + ")");
    ReportWriter.row(b, "current", "<code>" + esc(d.path("current").path("location").asText()) + "</code> ("
        + d.path("current").path("samples").asLong() + " samples)");
    ReportWriter.row(b, "model SHA-256", "<code>" + esc(d.path("model_sha256").asText()) + "</code>");
    JsonNode th = d.path("thresholds");
    ReportWriter.row(b, "thresholds", "clipped fraction &gt; " + esc(value(th.get("max_clip")))
        + ", JS divergence &gt; " + esc(value(th.get("max_js"))) + " bits, SQNR loss &gt; "
        + esc(value(th.get("max_sqnr_loss_db"))) + " dB");
    JsonNode s = d.path("scheme");
    ReportWriter.row(b, "scheme", esc(s.path("method").asText() + ", " + s.path("activation_type").asText()
        + (s.path("symmetric_activations").asBoolean() ? ", symmetric" : ", asymmetric") + " (from "
        + s.path("from").asText() + ")"));
    b.append("</table>\n");
  }

  private static void table(StringBuilder b, List<Map.Entry<String, JsonNode>> tensors) {
    b.append("<h2 id=\"tensors\">Tensors by severity</h2>\n<p>Severity: the largest figure in units of its threshold "
        + "(above 1: past it). Clipped: share of the current values outside the deployed range.</p>\n");
    b.append("<div class=\"scroll\"><table class=\"drift\"><tr><th>#</th><th>tensor</th><th>method</th>"
        + "<th>deployed range</th><th>current [min, max]</th><th>fresh range</th><th>clipped</th><th>JS bits</th>"
        + "<th>SQNR deployed dB</th><th>SQNR fresh dB</th><th>loss dB</th><th>past</th><th>severity</th></tr>\n");
    for (int i = 0; i < tensors.size(); i++) {
      JsonNode t = tensors.get(i).getValue();
      boolean past = t.path("past").size() > 0;
      b.append("<tr").append(past ? " class=\"bad\"" : "").append("><td class=\"n\">").append(i + 1)
          .append("</td><td class=\"name\">");
      if (i < PLOTS) {
        b.append("<a href=\"#d-").append(i).append("\">").append(esc(tensors.get(i).getKey())).append("</a>");
      } else {
        b.append(esc(tensors.get(i).getKey()));
      }
      b.append("</td><td>").append(esc(t.path("method").asText())).append("</td>");
      cell(b, pair(t.path("deployed").path("range")));
      cell(b, pair(t.path("current_observed")));
      cell(b, pair(t.path("fresh").path("range")));
      cell(b, esc(String.format(Locale.ROOT, "%.4f %%", 100 * t.path("clipped_fraction").asDouble())));
      cell(b, esc(value(t.get("js_divergence"))));
      cell(b, esc(value(t.get("sqnr_deployed_db"))));
      cell(b, esc(value(t.get("sqnr_fresh_db"))));
      cell(b, esc(value(t.get("sqnr_loss_db"))));
      List<String> p = new ArrayList<>();
      t.path("past").forEach(x -> p.add(x.asText()));
      b.append("<td>").append(esc(String.join(", ", p))).append("</td>");
      cell(b, esc(value(t.get("severity"))));
      b.append("</tr>\n");
    }
    b.append("</table></div>\n");
  }

  private static void cell(StringBuilder b, String html) {
    b.append("<td class=\"n\">").append(html).append("</td>");
  }

  private static String pair(JsonNode a) {
    return a.size() == 2 ? esc("[" + num(a.get(0).asDouble()) + ", " + num(a.get(1).asDouble()) + "]") : "";
  }

  /** The overlay: current bars, the baseline's outline, the deployed and fresh ranges. */
  private static void overlay(StringBuilder b, JsonNode t, Histogram base, Histogram now) {
    if (now == null || now.total() == 0) {
      return;
    }
    CommonGrid g = CommonGrid.of(base != null && base.total() > 0 ? base : now, now, OVERLAY_BINS);
    boolean withBase = base != null && base.total() > 0;
    double[] dep = range(t.path("deployed").path("range"));
    double[] fresh = range(t.path("fresh").path("range"));
    double lo = Math.min(g.lowerEdge(0), Math.min(dep[0], fresh[0]));
    double hi = Math.max(g.lowerEdge(g.bins()), Math.max(dep[1], fresh[1]));
    double x0 = hi > lo ? lo : lo - Math.max(Math.abs(lo) * 0.1, 1e-6);
    double x1 = hi > lo ? hi : hi + Math.max(Math.abs(hi) * 0.1, 1e-6);
    int w = Svg.WIDTH;
    int h = Svg.HEIGHT;
    double ph = h - TOP - BOTTOM;
    double base0 = TOP + ph;
    java.util.function.DoubleUnaryOperator x = v -> LEFT + (v - x0) / (x1 - x0) * (w - LEFT - RIGHT);
    double ta = total(g.a());
    double tb = total(g.b());
    double scale = Math.max(ta, tb);
    double top = 0;
    for (int i = 0; i < g.bins(); i++) {
      top = Math.max(top, Math.max(withBase ? g.a()[i] * scale / ta : 0, g.b()[i] * scale / tb));
    }
    double lmax = Math.log10(1 + top);
    b.append("<svg class=\"plot drift-overlay\" width=\"").append(w).append("\" height=\"").append(h)
        .append("\" viewBox=\"0 0 ").append(w).append(' ').append(h).append("\" data-bins=\"").append(g.bins())
        .append("\">\n");
    b.append("<path class=\"bars\" d=\"").append(steps(g.b(), scale / tb, g, x, base0, ph, lmax))
        .append("\"><title>current: ").append((long) tb).append(" values</title></path>\n");
    if (withBase) {
      b.append("<path fill=\"none\" stroke=\"#333\" stroke-width=\"1\" d=\"")
          .append(steps(g.a(), scale / ta, g, x, base0, ph, lmax)).append("\"><title>baseline: ").append((long) ta)
          .append(" values</title></path>\n");
    }
    lines(b, dep, "class=\"chosen\"", "deployed", x, base0);
    lines(b, fresh, "stroke=\"#2ca02c\" stroke-width=\"1.5\" stroke-dasharray=\"8,3,2,3\"", "fresh", x, base0);
    b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" y1=\"").append(c(base0)).append("\" x2=\"")
        .append(w - RIGHT).append("\" y2=\"").append(c(base0)).append("\"/>\n");
    b.append("<text class=\"lbl\" x=\"").append(LEFT).append("\" y=\"").append(c(base0 + 14)).append("\">")
        .append(esc(num(x0))).append("</text>");
    b.append("<text class=\"lbl\" x=\"").append(w - RIGHT).append("\" y=\"").append(c(base0 + 14))
        .append("\" text-anchor=\"end\">").append(esc(num(x1))).append("</text>\n</svg>\n");
  }

  private static double[] range(JsonNode r) {
    return new double[] {r.get(0).asDouble(), r.get(1).asDouble()};
  }

  private static double total(long[] c) {
    double t = 0;
    for (long v : c) {
      t += v;
    }
    return t;
  }

  /** One step per grid bin, heights log10(1 + count * k) of {@code lmax}. */
  private static String steps(long[] counts, double k, CommonGrid g, java.util.function.DoubleUnaryOperator x,
      double base, double ph, double lmax) {
    StringBuilder p = new StringBuilder();
    p.append('M').append(c(x.applyAsDouble(g.lowerEdge(0)))).append(',').append(c(base));
    for (int i = 0; i < counts.length; i++) {
      double y = base - (lmax > 0 ? Math.log10(1 + counts[i] * k) / lmax * ph : 0);
      p.append('V').append(c(y)).append('H').append(c(x.applyAsDouble(g.lowerEdge(i + 1))));
    }
    return p.append('V').append(c(base)).append('Z').toString();
  }

  private static void lines(StringBuilder b, double[] r, String style, String what,
      java.util.function.DoubleUnaryOperator x, double base) {
    b.append("<g ").append(style).append("><title>").append(what).append(": [").append(esc(num(r[0]))).append(", ")
        .append(esc(num(r[1]))).append("]</title>");
    for (double v : r) {
      b.append("<line x1=\"").append(c(x.applyAsDouble(v))).append("\" y1=\"").append(TOP).append("\" x2=\"")
          .append(c(x.applyAsDouble(v))).append("\" y2=\"").append(c(base)).append("\"/>");
    }
    b.append("</g>\n");
  }
}
