package dev.qcal.report;

import static dev.qcal.report.Html.c;
import static dev.qcal.report.Html.esc;
import static dev.qcal.report.Html.num;
import static dev.qcal.report.Html.range;
import static dev.qcal.report.Html.shorten;
import static dev.qcal.report.Html.sqnr;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.calib.Range;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The report's inline SVG plots: per activation the histogram with the grid band, the chosen range
 * and one marker per method; the overview of estimated SQNRs; the sensitivity bars; per weight its
 * per-channel ranges.
 */
final class Svg {
  /** Plot geometry of the histograms (SVG user units). */
  static final int WIDTH = 760;
  static final int HEIGHT = 190;
  private static final int LEFT = 56;
  private static final int RIGHT = 14;
  private static final int TOP = 12;
  private static final int BOTTOM = 34;

  /** Methods in legend order. */
  static final List<String> METHOD_ORDER = List.of("minmax", "percentile", "entropy", "mse");

  /** Marker colours and dash patterns per method (the chosen range is drawn solid and thick). */
  static final Map<String, String[]> MARKERS = Map.of(
      "minmax", new String[] {"#444444", "2,2"},
      "percentile", new String[] {"#1f77b4", "6,3"},
      "entropy", new String[] {"#2ca02c", "8,3,2,3"},
      "mse", new String[] {"#9467bd", "3,4"});

  private Svg() {}

  /**
   * The x extent of a histogram plot and its value-to-pixel map: {@code [x0, x1]} covers the bars,
   * the chosen range, the grid and every method's range; {@code base} is the y of the x axis and
   * {@code ph} the plot height.
   */
  private record Frame(double x0, double x1, double ph, double base) {
    static Frame of(ReportData.Activation a) {
      ReportData.Bars h = a.histogram();
      double x0 = h.edges()[0];
      double x1 = h.edges()[h.edges().length - 1];
      for (double[] r : ranges(a)) {
        x0 = Math.min(x0, r[0]);
        x1 = Math.max(x1, r[1]);
      }
      if (!(x1 > x0)) {
        double pad = Math.max(Math.abs(x0) * 0.1, 1e-6);
        x0 -= pad;
        x1 += pad;
      }
      double ph = HEIGHT - TOP - BOTTOM;
      return new Frame(x0, x1, ph, TOP + ph);
    }

    private static List<double[]> ranges(ReportData.Activation a) {
      List<double[]> extra = new ArrayList<>();
      if (a.chosen() != null) {
        extra.add(new double[] {a.chosen().min(), a.chosen().max()});
      }
      if (hasGrid(a)) {
        extra.add(new double[] {a.gridMin(), a.gridMax()});
      }
      for (ReportData.MethodRange m : a.methods()) {
        if (m.range() != null) {
          extra.add(new double[] {m.range().min(), m.range().max()});
        }
      }
      return extra;
    }

    double x(double v) {
      return LEFT + (v - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT);
    }
  }

  private static boolean hasGrid(ReportData.Activation a) {
    return Double.isFinite(a.gridMin()) && Double.isFinite(a.gridMax());
  }

  /** The histogram plot: bars as one path, the grid band, the chosen range and one marker per method. */
  static void histogram(StringBuilder b, ReportData.Activation a) {
    ReportData.Bars h = a.histogram();
    Frame f = Frame.of(a);
    b.append("<svg class=\"plot hist\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT)
        .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT).append("\" data-bars=\"")
        .append(h.counts().length).append("\" data-source-bins=\"").append(h.sourceBins()).append("\">\n");
    if (hasGrid(a)) {
      gridBand(b, a, f);
    }
    bars(b, h, f);
    axes(b, h, f);
    markers(b, a, f);
    if (a.chosen() != null) {
      chosen(b, a, f);
    }
    b.append("</svg>\n");
  }

  private static void gridBand(StringBuilder b, ReportData.Activation a, Frame f) {
    double g0 = f.x(a.gridMin());
    double g1 = f.x(a.gridMax());
    b.append("<rect class=\"grid\" x=\"").append(c(g0)).append("\" y=\"").append(TOP).append("\" width=\"")
        .append(c(Math.max(g1 - g0, 0.5))).append("\" height=\"").append(c(f.ph())).append("\"><title>grid [")
        .append(esc(num(a.gridMin()))).append(", ").append(esc(num(a.gridMax()))).append("]</title></rect>\n");
  }

  /** The bars as one outline path, a step per bar; a bar narrower than a pixel still gets 0.6 px. */
  private static void bars(StringBuilder b, ReportData.Bars h, Frame f) {
    double base = f.base();
    double lmax = Math.log10(1 + h.maxCount());
    StringBuilder p = new StringBuilder();
    double xa = f.x(h.edges()[0]);
    p.append('M').append(c(xa)).append(',').append(c(base));
    double prevX = xa;
    for (int i = 0; i < h.counts().length; i++) {
      double y = base - (lmax > 0 ? Math.log10(1 + h.counts()[i]) / lmax * f.ph() : 0);
      double xb = Math.max(f.x(h.edges()[i + 1]), prevX + (h.counts().length == 1 ? 0.6 : 0));
      p.append('V').append(c(y)).append('H').append(c(xb));
      prevX = xb;
    }
    p.append('V').append(c(base)).append('Z');
    b.append("<path class=\"bars\" d=\"").append(p).append("\"><title>").append(h.counts().length)
        .append(" bars of ").append(h.binsPerBar()).append(" histogram bin(s) each, ").append(h.total())
        .append(" values</title></path>\n");
  }

  private static void axes(StringBuilder b, ReportData.Bars h, Frame f) {
    double base = f.base();
    b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" y1=\"").append(c(base)).append("\" x2=\"")
        .append(WIDTH - RIGHT).append("\" y2=\"").append(c(base)).append("\"/>");
    b.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" y1=\"").append(TOP).append("\" x2=\"")
        .append(LEFT).append("\" y2=\"").append(c(base)).append("\"/>\n");
    b.append("<text class=\"lbl\" x=\"").append(LEFT - 4).append("\" y=\"").append(TOP + 9)
        .append("\" text-anchor=\"end\">").append(h.maxCount()).append("</text>");
    b.append("<text class=\"lbl\" x=\"").append(LEFT - 4).append("\" y=\"").append(c(base))
        .append("\" text-anchor=\"end\">0</text>\n");
    b.append("<text class=\"lbl\" x=\"").append(LEFT).append("\" y=\"").append(c(base + 14)).append("\">")
        .append(esc(num(f.x0()))).append("</text>");
    b.append("<text class=\"lbl\" x=\"").append(WIDTH - RIGHT).append("\" y=\"").append(c(base + 14))
        .append("\" text-anchor=\"end\">").append(esc(num(f.x1()))).append("</text>");
    if (f.x0() < 0 && f.x1() > 0) {
      zeroTick(b, f);
    }
    b.append('\n');
  }

  private static void zeroTick(StringBuilder b, Frame f) {
    double base = f.base();
    double z = f.x(0);
    b.append("<line class=\"axis\" x1=\"").append(c(z)).append("\" y1=\"").append(c(base)).append("\" x2=\"")
        .append(c(z)).append("\" y2=\"").append(c(base + 4)).append("\"/>");
    // the 0 label only where it does not run into the end labels
    if (z - LEFT > 60 && WIDTH - RIGHT - z > 60) {
      b.append("<text class=\"lbl\" x=\"").append(c(z)).append("\" y=\"").append(c(base + 14))
          .append("\" text-anchor=\"middle\">0</text>");
    }
  }

  /** Method markers, dashed, staggered a little in height so coinciding ones stay visible. */
  private static void markers(StringBuilder b, ReportData.Activation a, Frame f) {
    int k = 0;
    for (ReportData.MethodRange m : a.methods()) {
      if (m.range() == null) {
        continue;
      }
      String[] style = MARKERS.getOrDefault(m.method(), new String[] {"#000000", "1,1"});
      b.append("<g class=\"marker\" data-method=\"").append(esc(m.method())).append("\" data-min=\"")
          .append(m.range().min()).append("\" data-max=\"").append(m.range().max()).append("\" stroke=\"")
          .append(style[0]).append("\" stroke-width=\"1.5\" stroke-dasharray=\"").append(style[1])
          .append("\"><title>").append(esc(m.method())).append(": ").append(esc(range(m.range())))
          .append("</title>");
      rangeLines(b, m.range(), c(TOP + 3 * k++), f);
      b.append("</g>\n");
    }
  }

  private static void chosen(StringBuilder b, ReportData.Activation a, Frame f) {
    String method = esc(a.method() == null ? "" : a.method());
    b.append("<g class=\"chosen\" data-method=\"").append(method).append("\"><title>chosen (").append(method)
        .append("): ").append(esc(range(a.chosen()))).append("</title>");
    rangeLines(b, a.chosen(), Integer.toString(TOP), f);
    b.append("</g>\n");
  }

  /** Two vertical lines from {@code top} to the x axis at the ends of {@code r}. */
  private static void rangeLines(StringBuilder b, Range r, String top, Frame f) {
    for (float v : new float[] {r.min(), r.max()}) {
      double x = f.x(v);
      b.append("<line x1=\"").append(c(x)).append("\" y1=\"").append(top).append("\" x2=\"").append(c(x))
          .append("\" y2=\"").append(c(f.base())).append("\"/>");
    }
  }

  /** One bar per activation with an estimate: its SQNR (dB), worst first, as in the table. */
  static void overview(StringBuilder b, List<ReportData.Activation> est) {
    double hi = 0;
    for (ReportData.Activation a : est) {
      if (Double.isFinite(a.sqnrDb())) {
        hi = Math.max(hi, a.sqnrDb());
      }
    }
    hi = hi > 0 ? hi : 1;
    int h = 150;
    double ph = h - TOP - 20;
    double w = (double) (WIDTH - LEFT - RIGHT) / est.size();
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

  /** Bars of output SQNR for the first 40 tensors of a sensitivity ranking (nothing when none is positive). */
  static void sensitivity(StringBuilder b, JsonNode tensors) {
    int n = Math.min(40, tensors.size());
    double hi = 0;
    for (int i = 0; i < n; i++) {
      JsonNode v = tensors.get(i).get("output_sqnr_db");
      if (v != null && v.isNumber()) {
        hi = Math.max(hi, v.asDouble());
      }
    }
    if (!(n > 0 && hi > 0)) {
      return;
    }
    int rowH = 14;
    int h = n * rowH + 24;
    b.append("<svg class=\"plot sens-plot\" width=\"").append(WIDTH).append("\" height=\"").append(h)
        .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(h).append("\">\n");
    for (int i = 0; i < n; i++) {
      sensitivityRow(b, tensors.get(i), 4 + i * rowH, rowH, hi);
    }
    b.append("</svg>\n");
  }

  private static void sensitivityRow(StringBuilder b, JsonNode t, double y, int rowH, double hi) {
    JsonNode v = t.get("output_sqnr_db");
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

  /** A small plot of per-channel ranges: one vertical line per channel. */
  static void channelPlot(StringBuilder b, ReportData.Weight w) {
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
}
