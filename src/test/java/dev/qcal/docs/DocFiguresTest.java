package dev.qcal.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.SharedSpark;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The figures {@code README.md} and {@code docs/*.md} quote about runs of the example are those a fresh run gives:
 * every {@code <!--fig NAME-->VALUE<!--/fig-->} is compared with {@link ExampleFigures}, and every figure it
 * computes is quoted somewhere. {@code scripts/docs-figures} runs this class with {@code -Dqcal.docFigures=write},
 * which writes the fresh values into the docs instead (and prints what changed).
 */
@ExtendWith(SharedSpark.class)
class DocFiguresTest {
  @TempDir Path tmp;

  static List<Path> docs() throws java.io.IOException {
    List<Path> docs = new ArrayList<>(List.of(Path.of("README.md")));
    try (Stream<Path> s = Files.list(Path.of("docs"))) {
      docs.addAll(s.filter(p -> p.toString().endsWith(".md")).sorted().toList());
    }
    return docs;
  }

  @Test
  void theDocsQuoteTheFiguresOfAFreshRunOfTheExample() throws Exception {
    Map<String, String> figures = ExampleFigures.compute(tmp);
    boolean write = "write".equals(System.getProperty("qcal.docFigures"));
    Map<Path, String> texts = new LinkedHashMap<>();
    List<DocMarkers.Stale> stale = new ArrayList<>();
    for (Path doc : docs()) {
      String text = Files.readString(doc, StandardCharsets.UTF_8);
      // figures another test computes and checks (DocFigure.OWNERS) are left to it
      stale.addAll(DocMarkers.stale(doc.toString(), text, figures).stream().filter(s -> DocFigure.OWNERS.keySet()
          .stream().noneMatch(s.quote().name()::startsWith)).toList());
      if (write) {
        text = DocMarkers.rewrite(text, figures);
        Files.writeString(doc, text, StandardCharsets.UTF_8);
      }
      texts.put(doc, text);
    }
    String staleList = stale.stream().map(Object::toString).collect(Collectors.joining("\n"));
    if (!write) { // a decimal one unit off in its last digit is a rounding edge, not a stale figure
      stale.removeIf(s -> s.fresh() != null && DocFigure.sameButLastDigit(s.quote().value(), s.fresh()));
    }
    if (write) {
      figures.forEach((k, v) -> System.out.println("docs-figures: " + k + " = " + v));
      System.out.println(stale.isEmpty() ? "docs-figures: every figure was current"
          : "docs-figures: updated\n" + staleList);
      stale.removeIf(s -> s.fresh() != null);
    }
    assertEquals("", stale.stream().map(Object::toString).collect(Collectors.joining("\n")),
        "figures quoted in the docs that a run of the example does not give (scripts/docs-figures writes fresh ones)");
    assertTrue(DocMarkers.unquoted(figures, List.copyOf(texts.values())).isEmpty(),
        "figures computed but quoted nowhere: " + DocMarkers.unquoted(figures, List.copyOf(texts.values())));
  }
}
