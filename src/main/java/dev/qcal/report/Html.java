package dev.qcal.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.calib.Range;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.LongSummaryStatistics;
import java.util.Map;

/** The report's text formatting: HTML escaping, numbers, ranges, SVG coordinates and JSON as nested tables. */
public final class Html {
  private Html() {}

  /** run.json (or any JSON) as nested tables. */
  static void tree(StringBuilder b, JsonNode n) {
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

  static String text(JsonNode n) {
    return n == null || n.isNull() ? "" : n.isValueNode() ? n.asText() : n.toString();
  }

  /** A JSON value for a table cell: numbers shortened, null as a dash. */
  static String value(JsonNode n) {
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

  static String sqnr(Double v) {
    return v == null ? "&ndash;" : Double.isInfinite(v) ? "&infin;" : esc(String.format(Locale.ROOT, "%.2f", v));
  }

  static String range(Range r) {
    return "[" + num(r.min()) + ", " + num(r.max()) + "]";
  }

  static String floats(float[] f) {
    if (f.length == 1) {
      return Float.toString(f[0]);
    }
    return spread(f);
  }

  static String longs(long[] l) {
    return l.length == 1 ? Long.toString(l[0]) : zeroPoints(l);
  }

  static String spread(float[] f) {
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

  static String zeroPoints(long[] l) {
    if (l.length == 0) {
      return "";
    }
    LongSummaryStatistics s = Arrays.stream(l).summaryStatistics();
    return s.getMin() == s.getMax() ? Long.toString(s.getMin()) : s.getMin() + " … " + s.getMax();
  }

  /** An SVG coordinate with one decimal. */
  static String c(double v) {
    long t = Math.round(v * 10);
    return t % 10 == 0 ? Long.toString(t / 10) : (t / 10.0 + "");
  }

  static String fileName(String path) {
    int s = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
    return s < 0 ? path : path.substring(s + 1);
  }

  static String shorten(String s, int max) {
    return s.length() <= max ? s : "…" + s.substring(s.length() - max + 1);
  }
}
