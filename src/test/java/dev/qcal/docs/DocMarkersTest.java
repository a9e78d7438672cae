package dev.qcal.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DocMarkersTest {
  private static final String TEXT = "The model has <!--fig a.bytes-->200,004<!--/fig--> bytes\n"
      + "and ranks\n<!--fig a.table-->\n| x | y |\n|---|---|\n<!--/fig-->\nfirst <!--fig a.name-->`relu`<!--/fig-->.\n";

  @Test
  void findsEachMarkedFigureWithItsValueAndLine() {
    assertEquals(List.of(new DocMarkers.Quote("a.bytes", "200,004", 1),
        new DocMarkers.Quote("a.table", "\n| x | y |\n|---|---|\n", 3),
        new DocMarkers.Quote("a.name", "`relu`", 7)), DocMarkers.quotes(TEXT));
  }

  @Test
  void reportsDifferentAndUnknownFiguresOnly() {
    Map<String, String> run = Map.of("a.bytes", "200,004", "a.table", "\n| x | z |\n", "b", "1");
    List<DocMarkers.Stale> stale = DocMarkers.stale("F.md", TEXT, run);
    assertEquals(2, stale.size());
    assertEquals("F.md:3: a.table quoted as a block of 2 lines, a run gives a block of 1 lines", stale.get(0).toString());
    assertEquals("F.md:7: a.name quoted as '`relu`', a run gives no such figure", stale.get(1).toString());
    assertNull(stale.get(1).fresh(), "a name the run does not give");
  }

  @Test
  void rewritesKnownFiguresAndLeavesTheRestByteForByte() {
    String out = DocMarkers.rewrite(TEXT, Map.of("a.bytes", "199,995", "a.table", "\n$1 \\d\n"));
    assertEquals("The model has <!--fig a.bytes-->199,995<!--/fig--> bytes\n"
        + "and ranks\n<!--fig a.table-->\n$1 \\d\n<!--/fig-->\nfirst <!--fig a.name-->`relu`<!--/fig-->.\n", out);
    assertEquals(TEXT, DocMarkers.rewrite(TEXT, Map.of()));
  }

  @Test
  void listsFiguresNoTextQuotes() {
    assertEquals(Set.of("b"), DocMarkers.unquoted(Map.of("a.bytes", "", "b", "", "a.name", ""), List.of(TEXT)));
  }

  @Test
  void lastDigitOfDecimalsOnly() {
    org.junit.jupiter.api.Assertions.assertTrue(DocFigure.sameButLastDigit("SQNR 30.2 dB, 0.9961", "SQNR 30.3 dB, 0.9961"));
    org.junit.jupiter.api.Assertions.assertTrue(DocFigure.sameButLastDigit("0.9961", "0.9960"));
    org.junit.jupiter.api.Assertions.assertFalse(DocFigure.sameButLastDigit("0.9961", "0.9922"), "one sample of 256");
    org.junit.jupiter.api.Assertions.assertFalse(DocFigure.sameButLastDigit("SQNR 30.2 dB", "SQNR 30.4 dB"));
    org.junit.jupiter.api.Assertions.assertFalse(DocFigure.sameButLastDigit("200,004 bytes", "200,005 bytes"));
    org.junit.jupiter.api.Assertions.assertFalse(DocFigure.sameButLastDigit("90", "91"));
    org.junit.jupiter.api.Assertions.assertFalse(DocFigure.sameButLastDigit("`relu_3.tmp_0`", "`relu_2.tmp_0`"));
    org.junit.jupiter.api.Assertions.assertTrue(DocFigure.sameButLastDigit("| x | 70.66 % |", "| x | 70.67 % |"));
  }
}
