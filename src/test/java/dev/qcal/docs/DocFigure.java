package dev.qcal.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One figure of the docs checked by the test that computes it (a table of SQNR figures printed by a test of its
 * own, say), rather than by {@link DocFiguresTest}: the names {@link #OWNERS} lists. With
 * {@code -Dqcal.docFigures=write} (what {@code scripts/docs-figures} sets) the fresh value is written into the docs
 * instead of compared.
 */
public final class DocFigure {
  /** Marker name prefixes whose figures a test other than {@link DocFiguresTest} computes, and that test. */
  static final Map<String, String> OWNERS = Map.of("opcoverage.", "dev.qcal.zoo.OpCoverageTest");
  private static final Pattern DECIMAL = Pattern.compile("\\d+\\.(\\d+)");

  private DocFigure() {}

  /**
   * Asserts that the docs quote figure {@code name} (exactly once) as {@code same} finds {@code fresh}; or, in write
   * mode, writes {@code fresh} in.
   */
  public static void assertQuoted(String name, String fresh, BiPredicate<String, String> same) {
    List<Path> holders = new ArrayList<>();
    try {
      for (Path doc : DocFiguresTest.docs()) {
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        for (DocMarkers.Quote q : DocMarkers.quotes(text)) {
          if (q.name().equals(name)) {
            holders.add(doc);
            if ("write".equals(System.getProperty("qcal.docFigures"))) {
              Files.writeString(doc, DocMarkers.rewrite(text, Map.of(name, fresh)), StandardCharsets.UTF_8);
            } else {
              assertTrue(same.test(q.value(), fresh), doc + ":" + q.line() + ": " + name
                  + " is not what this run gives (scripts/docs-figures writes it):\n" + fresh);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    assertEquals(1, holders.size(), name + " is quoted once in README.md and docs/: " + holders);
  }

  /**
   * Two texts that differ at most in the last printed digit of decimal numbers: whole numbers (sizes, counts) and
   * all other text equal, a decimal within one unit of its last digit (a figure on the edge of a rounding step
   * lands on either side with another CPU's kernels).
   */
  public static boolean sameButLastDigit(String a, String b) {
    if (!DECIMAL.matcher(a).replaceAll("#").equals(DECIMAL.matcher(b).replaceAll("#"))) {
      return false;
    }
    Matcher ma = DECIMAL.matcher(a);
    Matcher mb = DECIMAL.matcher(b);
    while (ma.find() && mb.find()) {
      double unit = Math.pow(10, -Math.max(ma.group(1).length(), mb.group(1).length()));
      if (Math.abs(Double.parseDouble(ma.group()) - Double.parseDouble(mb.group())) > unit * (1 + 1e-6)) {
        return false;
      }
    }
    return true;
  }
}
