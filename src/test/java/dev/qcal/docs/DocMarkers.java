package dev.qcal.docs;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The figures a markdown text quotes from a run, marked {@code <!--fig NAME-->VALUE<!--/fig-->} (HTML comments: a
 * rendered page shows VALUE only; VALUE may span lines, a whole table or code block). Pure text: finding the marked
 * figures, comparing them with a run's, and writing a run's into the text.
 */
final class DocMarkers {
  private static final Pattern MARK = Pattern.compile("<!--fig ([a-z0-9_.-]+)-->(.*?)<!--/fig-->", Pattern.DOTALL);

  /** One marked figure: its name, the value quoted, and the 1-based line it starts on. */
  record Quote(String name, String value, int line) {}

  /** A quoted figure that differs from the run's. */
  record Stale(String file, Quote quote, String fresh) {
    @Override
    public String toString() {
      return file + ":" + quote.line() + ": " + quote.name() + " quoted as " + shown(quote.value()) + ", a run gives "
          + (fresh == null ? "no such figure" : shown(fresh));
    }

    /** A value in quotes, or a block by its lines (a table, a code block). */
    private static String shown(String value) {
      return value.contains("\n") ? "a block of " + value.strip().lines().count() + " lines" : "'" + value + "'";
    }
  }

  private DocMarkers() {}

  /** Every marked figure of {@code text}, in order. */
  static List<Quote> quotes(String text) {
    List<Quote> out = new ArrayList<>();
    Matcher m = MARK.matcher(text);
    while (m.find()) {
      out.add(new Quote(m.group(1), m.group(2), lineOf(text, m.start())));
    }
    return out;
  }

  private static int lineOf(String text, int offset) {
    int line = 1;
    for (int i = 0; i < offset; i++) {
      line += text.charAt(i) == '\n' ? 1 : 0;
    }
    return line;
  }

  /**
   * The quotes of {@code text} that differ from {@code figures}; a name {@code figures} does not hold is stale with
   * a null fresh value.
   */
  static List<Stale> stale(String file, String text, Map<String, String> figures) {
    List<Stale> out = new ArrayList<>();
    for (Quote q : quotes(text)) {
      String fresh = figures.get(q.name());
      if (!q.value().equals(fresh)) {
        out.add(new Stale(file, q, fresh));
      }
    }
    return out;
  }

  /** {@code text} with every marked figure that {@code figures} holds replaced by its value; other text unchanged. */
  static String rewrite(String text, Map<String, String> figures) {
    Matcher m = MARK.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String fresh = figures.get(m.group(1));
      String value = fresh == null ? m.group(2) : fresh;
      m.appendReplacement(out, Matcher.quoteReplacement("<!--fig " + m.group(1) + "-->" + value + "<!--/fig-->"));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** The names of {@code figures} that none of {@code texts} quotes. */
  static Set<String> unquoted(Map<String, String> figures, List<String> texts) {
    Set<String> left = new LinkedHashSet<>(figures.keySet());
    for (String t : texts) {
      quotes(t).forEach(q -> left.remove(q.name()));
    }
    return left;
  }
}
