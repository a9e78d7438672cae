package dev.qcal.report;

import static dev.qcal.report.Html.esc;
import static dev.qcal.report.Html.tree;
import static dev.qcal.report.Html.value;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The report's section on what the run did beyond range setting (run.json {@code algorithms}): per algorithm its
 * settings and totals, then each list of per-layer objects (for example {@code layers}, with the layer's SQNR
 * before and after the algorithm) as one table whose columns are the union of the objects' fields, in the order
 * they first appear.
 */
final class AlgorithmSection {
  private AlgorithmSection() {}

  /** Appends the section when {@code algorithms} names any; nothing otherwise. */
  static void append(StringBuilder b, JsonNode algorithms) {
    if (algorithms == null || !algorithms.isObject() || algorithms.size() == 0) {
      return;
    }
    b.append("<h2 id=\"algorithms\">Beyond range setting</h2>\n");
    for (Iterator<Map.Entry<String, JsonNode>> it = algorithms.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> a = it.next();
      b.append("<h3 class=\"name\">").append(esc(a.getKey())).append("</h3>\n");
      List<Map.Entry<String, JsonNode>> lists = new ArrayList<>();
      StringBuilder scalars = new StringBuilder();
      for (Iterator<Map.Entry<String, JsonNode>> f = a.getValue().fields(); f.hasNext(); ) {
        Map.Entry<String, JsonNode> e = f.next();
        if (isTable(e.getValue())) {
          lists.add(e);
        } else {
          scalars.append("<tr><th>").append(esc(e.getKey())).append("</th><td>");
          tree(scalars, e.getValue());
          scalars.append("</td></tr>\n");
        }
      }
      if (scalars.length() > 0) {
        b.append("<table class=\"algorithm\">\n").append(scalars).append("</table>\n");
      }
      for (Map.Entry<String, JsonNode> l : lists) {
        table(b, l.getKey(), l.getValue());
      }
    }
  }

  /** A non-empty array of objects. */
  private static boolean isTable(JsonNode n) {
    if (!n.isArray() || n.size() == 0) {
      return false;
    }
    for (JsonNode x : n) {
      if (!x.isObject()) {
        return false;
      }
    }
    return true;
  }

  private static void table(StringBuilder b, String name, JsonNode rows) {
    Set<String> columns = new LinkedHashSet<>();
    rows.forEach(r -> r.fieldNames().forEachRemaining(columns::add));
    b.append("<table class=\"algorithm-rows\"><caption>").append(esc(name)).append("</caption><tr>");
    for (String c : columns) {
      b.append("<th>").append(esc(c)).append("</th>");
    }
    b.append("</tr>\n");
    for (JsonNode r : rows) {
      b.append("<tr>");
      for (String c : columns) {
        JsonNode v = r.get(c);
        boolean number = v != null && v.isNumber();
        b.append(number ? "<td class=\"n\">" : "<td>");
        if (v == null || v.isNull()) {
          b.append("&ndash;");
        } else if (v.isValueNode()) {
          b.append(esc(value(v)));
        } else {
          tree(b, v);
        }
        b.append("</td>");
      }
      b.append("</tr>\n");
    }
    b.append("</table>\n");
  }
}
