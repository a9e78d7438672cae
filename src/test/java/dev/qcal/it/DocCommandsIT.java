package dev.qcal.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands the docs tell a newcomer to type, typed: every {@code ```bash} block of {@code README.md} and
 * {@code docs/*.md} (the blocks that run on one machine; synopses, placeholders and cluster commands are fenced
 * otherwise), in document order, each command line (continuations joined) run with {@code bash -c} as written,
 * through the real launchers after {@code package}. They run in a scratch root that links the repository's
 * {@code scripts}, {@code examples}, {@code conf}, {@code jobs}, {@code src} and {@code target} (and copies {@code pom.xml}),
 * so relative outputs ({@code out/...}, {@code nlp/...}) land there and nothing of the checkout is replaced (the
 * example's rendered lines, which {@code scripts/example} keeps under {@code examples/ppocr-cls/data}, are
 * shared). A renamed option, a changed default or an output in another place fails the build.
 */
class DocCommandsIT {
  private static final Pattern BLOCK = Pattern.compile("^```bash\\n(.*?)^```", Pattern.DOTALL | Pattern.MULTILINE);
  private static final Pattern OUT = Pattern.compile("--out\\s+(\\S+)");

  @TempDir Path root;

  /** The command lines of the {@code ```bash} blocks of {@code file}, continuations joined, comments dropped. */
  static List<String> commands(Path file) throws IOException {
    List<String> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(Files.readString(file));
    while (m.find()) {
      String joined = m.group(1).replaceAll("\\\\\\n\\s*", " ");
      for (String line : joined.split("\n")) {
        String l = line.strip();
        if (!l.isEmpty() && !l.startsWith("#")) {
          out.add(l);
        }
      }
    }
    return out;
  }

  @Test
  void everyRunnableCommandOfTheDocsRunsAsWritten() throws Exception {
    Path repo = Path.of("").toAbsolutePath();
    for (String link : List.of("scripts", "examples", "conf", "jobs", "src", "target")) {
      Files.createSymbolicLink(root.resolve(link), repo.resolve(link));
    }
    // a copy with its time: scripts/qcal rebuilds when pom.xml is newer than the jar (a link would be)
    Files.copy(repo.resolve("pom.xml"), root.resolve("pom.xml"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
    List<Path> docs = new ArrayList<>(List.of(repo.resolve("README.md")));
    try (Stream<Path> s = Files.list(repo.resolve("docs"))) {
      docs.addAll(s.filter(p -> p.toString().endsWith(".md")).sorted().toList());
    }
    List<String> all = new ArrayList<>();
    for (Path doc : docs) {
      List<String> cmds = commands(doc);
      all.addAll(cmds);
      for (String c : cmds) {
        Path log = Files.createTempFile(root, "cmd-", ".log");
        Process p = new ProcessBuilder("bash", "-c", c).directory(root.toFile()).redirectErrorStream(true)
            .redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(15, TimeUnit.MINUTES), c);
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), () -> repo.relativize(doc) + ": `" + c + "` exited " + p.exitValue() + ":\n"
            + output.substring(Math.max(0, output.length() - 4000)));
        Matcher out = OUT.matcher(c);
        while (out.find()) { // every output a command names is complete
          Path dir = root.resolve(out.group(1));
          assertTrue(Files.exists(dir.resolve("_SUCCESS")), c + ": " + dir + " has _SUCCESS");
        }
      }
    }
    // the set-up command and the worked session (example, evaluate, report, quantize, inspect) at least
    for (String expected : List.of("scripts/example", "scripts/qcal evaluate", "scripts/qcal report",
        "scripts/qcal quantize", "scripts/qcal inspect", "scripts/qcal example-data --kind bert")) {
      assertTrue(all.stream().anyMatch(c -> c.startsWith(expected)), "the docs run `" + expected + "`: " + all);
    }
    assertTrue(Files.exists(root.resolve("out/example-ppocr-cls/quantized.onnx")), "scripts/example's output");
    // the figures docs/examples.md quotes about the NLP example are those of the run just made
    String quoted = String.format(java.util.Locale.ROOT, "%s (minmax), %s (percentile)",
        figures(root.resolve("nlp/eval/eval.json")), figures(root.resolve("nlp/eval-percentile/eval.json")));
    assertTrue(Files.readString(repo.resolve("docs/examples.md")).replaceAll("\\s+", " ").contains(quoted),
        "docs/examples.md quotes the NLP example's figures as this run gives them: " + quoted);
  }

  /** "S dB and A": the logits SQNR (0.1 dB) and top-1 agreement (0.01) of an eval.json's one output. */
  private static String figures(Path evalJson) throws IOException {
    var out = new com.fasterxml.jackson.databind.ObjectMapper().readTree(evalJson.toFile()).path("outputs")
        .elements().next();
    return String.format(java.util.Locale.ROOT, "%.1f dB and %.2f", out.path("sqnr_db").asDouble(),
        out.path("top1_agreement").asDouble());
  }
}
