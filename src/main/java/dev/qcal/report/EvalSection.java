package dev.qcal.report;

import static dev.qcal.report.Html.esc;
import static dev.qcal.report.Html.text;
import static dev.qcal.report.Html.tree;
import static dev.qcal.report.Html.value;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** The report's sections drawn from an eval.json: the evaluation figures and the sensitivity ranking. */
final class EvalSection {
  private static final List<String> OUTPUT_FIELDS = List.of("elements", "non_finite_values", "sqnr_db",
      "cosine_similarity", "max_abs_error", "mean_abs_error", "rows", "top1_agreement");

  /** The fields {@link #evaluation} shows in its own tables; any other is shown as it is. */
  private static final List<String> SHOWN = List.of("format", "format_version", "samples", "data", "labels", "fp32",
      "quantized", "outputs", "sensitivity");

  private EvalSection() {}

  static void evaluation(StringBuilder b, JsonNode eval) {
    b.append("<h2 id=\"evaluation\">Evaluation (eval.json)</h2>\n<table class=\"eval\">\n");
    for (String k : List.of("samples", "data", "labels")) {
      if (eval.has(k) && !eval.get(k).isNull()) {
        ReportWriter.row(b, k, esc(text(eval.get(k))));
      }
    }
    for (String k : List.of("fp32", "quantized")) {
      if (eval.has(k)) {
        // path, SHA-256 and whatever else eval.json measured of the model (size, throughput)
        StringBuilder m = new StringBuilder();
        tree(m, eval.get(k));
        ReportWriter.row(b, k + " model", m.toString());
      }
    }
    b.append("</table>\n");
    JsonNode outputs = eval.get("outputs");
    if (outputs != null && outputs.size() > 0) {
      outputs(b, outputs);
    }
    rest(b, eval);
  }

  private static void outputs(StringBuilder b, JsonNode outputs) {
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

  /** Anything else eval.json holds (sizes, throughput, fallback, ...), as it is. */
  private static void rest(StringBuilder b, JsonNode eval) {
    StringBuilder rest = new StringBuilder();
    for (Iterator<Map.Entry<String, JsonNode>> it = eval.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!SHOWN.contains(e.getKey())) {
        rest.append("<tr><th>").append(esc(e.getKey())).append("</th><td>");
        tree(rest, e.getValue());
        rest.append("</td></tr>\n");
      }
    }
    if (rest.length() > 0) {
      b.append("<table class=\"eval-more\">\n").append(rest).append("</table>\n");
    }
  }

  /** The sensitivity ranking: a bar chart and a table whose names link to the histograms ({@code anchors}). */
  static void sensitivity(StringBuilder b, JsonNode s, Map<String, Integer> anchors) {
    if (s == null || !s.path("tensors").isArray()) {
      return;
    }
    JsonNode tensors = s.get("tensors");
    b.append("<h2 id=\"sensitivity\">Sensitivity</h2>\n<p>Each tensor quantized alone over ")
        .append(esc(text(s.get("samples")))).append(" samples, ranked by ").append(esc(text(s.get("metric"))))
        .append(" (most sensitive first).</p>\n");
    Svg.sensitivity(b, tensors);
    b.append("<div class=\"scroll\"><table class=\"sensitivity\"><tr><th>rank</th><th>tensor</th><th>kind</th><th>nodes</th>"
        + "<th>output SQNR dB</th><th>top-1 agreement</th></tr>\n");
    for (JsonNode t : tensors) {
      sensitivityRow(b, t, anchors.get(t.path("tensor").asText()));
    }
    b.append("</table></div>\n");
  }

  private static void sensitivityRow(StringBuilder b, JsonNode t, Integer anchor) {
    String name = t.path("tensor").asText();
    b.append("<tr><td class=\"n\">").append(esc(text(t.get("rank")))).append("</td><td class=\"name\">");
    if (anchor != null) {
      b.append("<a href=\"#t-").append(anchor).append("\">").append(esc(name)).append("</a>");
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
}
