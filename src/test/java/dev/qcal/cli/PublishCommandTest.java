package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.QParamsFile;
import dev.qcal.testing.Cli;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code qcal publish}: what reaches the stable location on each trigger, that a gate failure or no trigger leaves it
 * byte for byte as it was, and bad input. The candidates, evaluations and drift files are written here (through
 * {@link AtomicOutput}, as the commands that make them do), so each expected file is known byte for byte.
 */
class PublishCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  /** A calibrate-style output whose quantized.onnx holds {@code model} and stats/stats.bin {@code stats}. */
  private Path candidate(String name, String command, String model, String stats) throws Exception {
    Path dir = tmp.resolve(name);
    try (AtomicOutput out = AtomicOutput.begin(dir.toString(), command, false, new Configuration())) {
      QParamsFile.write(out.dir().resolve(QParamsFile.NAME), new QParamsFile.Header("m.onnx", "ab".repeat(32), 13, 13,
          "minmax", 100, Map.of()), List.of());
      Files.writeString(out.dir().resolve("quantized.onnx"), model);
      Files.createDirectories(out.dir().resolve("stats"));
      Files.writeString(out.dir().resolve("stats/stats.bin"), stats);
      out.commit();
    }
    return dir;
  }

  /** An evaluate output of a quantized model with SHA-256 {@code sha}, one output with these figures. */
  private Path eval(String name, String sha, double agreement, double sqnr) throws Exception {
    Path dir = tmp.resolve(name);
    try (AtomicOutput out = AtomicOutput.begin(dir.toString(), "evaluate", false, new Configuration())) {
      Files.writeString(out.dir().resolve("eval.json"), "{\"format\":\"qcal.eval\",\"format_version\":1,"
          + "\"quantized\":{\"sha256\":\"" + sha + "\"},\"samples\":64,\"outputs\":{\"a\":{\"top1_agreement\":0.999,"
          + "\"sqnr_db\":40.0},\"b\":{\"top1_agreement\":" + agreement + ",\"sqnr_db\":" + sqnr + "}}}");
      out.commit();
    }
    return dir;
  }

  private Path drift(String name, boolean drifted) throws Exception {
    Path dir = tmp.resolve(name);
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("drift.json"), "{\"format\":\"qcal.drift\",\"format_version\":1,\"verdict\":\""
        + (drifted ? "drift" : "ok") + "\"}");
    return dir;
  }

  private static String sha(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  /** Every file under {@code dir} with its bytes, by relative path. */
  private static Map<String, byte[]> tree(Path dir) throws Exception {
    Map<String, byte[]> m = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        m.put(dir.relativize(p).toString(), Files.readAllBytes(p));
      }
    }
    return m;
  }

  private static void assertSameTree(Map<String, byte[]> expected, Map<String, byte[]> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k), k));
  }

  private Cli publish(Path candidate, Path out, String date, String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("publish", "--candidate", candidate.toString(), "--out",
        out.toString(), "--overwrite", "--date", date));
    args.addAll(List.of(more));
    return Cli.run(args.toArray(String[]::new));
  }

  @Test
  void aDailyScheduleFirstPublicationThenKeptThenDriftThenTheScheduleThenTheGate() throws Exception {
    Path stable = tmp.resolve("published");
    Path day1 = candidate("day1", "calibrate", "model one", "stats one");
    // day 1: nothing published yet; without --overwrite, as a first run may
    Cli first = Cli.run("publish", "--candidate", day1.toString(), "--out", stable.toString(), "--date", "2026-12-01");
    assertEquals(0, first.code(), first.err());
    assertTrue(first.out().contains("first publication"), first.out());
    Map<String, byte[]> published = tree(stable);
    // the candidate's files, byte for byte, beside published.json and the marker
    for (String f : List.of("qparams.json", "quantized.onnx", "stats/stats.bin")) {
      assertArrayEquals(Files.readAllBytes(day1.resolve(f)), published.get(f), f);
    }
    assertEquals(java.util.Set.of("qparams.json", "quantized.onnx", "stats/stats.bin", "published.json", "_SUCCESS"),
        published.keySet());
    JsonNode p1 = JSON.readTree(stable.resolve("published.json").toFile());
    assertEquals("qcal.published", p1.path("format").asText());
    assertEquals("2026-12-01", p1.path("date").asText());
    assertEquals("first publication", p1.path("reason").asText());
    assertEquals(sha("model one"), p1.path("quantized_sha256").asText());
    assertEquals("ab".repeat(32), p1.path("model_sha256").asText());
    assertEquals(100, p1.path("samples").asLong());
    assertTrue(p1.path("previous").isNull());
    assertEquals("publish", JSON.readTree(stable.resolve("_SUCCESS").toFile()).path("command").asText());

    // day 2: a new candidate, no drift, not yet due: kept, the stable location byte for byte as it was
    Path day2 = candidate("day2", "merge", "model two", "stats two");
    Cli kept = publish(day2, stable, "2026-12-02", "--drift", drift("drift2", false).toString(), "--republish-after",
        "7");
    assertEquals(0, kept.code(), kept.err());
    assertTrue(kept.out().contains("kept") && kept.out().contains("no drift, published 2026-12-01 (1 days ago < "
        + "--republish-after 7)"), kept.out());
    assertSameTree(published, tree(stable));

    // day 3: drift found: published, with the drift file that decided and the previous publication named
    Path day3 = candidate("day3", "merge", "model three", "stats three");
    Path drift3 = drift("drift3", true);
    Cli drifted = publish(day3, stable, "2026-12-03", "--drift", drift3.toString(), "--republish-after", "7");
    assertEquals(0, drifted.code(), drifted.err());
    assertArrayEquals("model three".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(stable.resolve(
        "quantized.onnx")));
    assertEquals(JSON.readTree(drift3.resolve("drift.json").toFile()), JSON.readTree(stable.resolve("drift.json")
        .toFile()));
    JsonNode p3 = JSON.readTree(stable.resolve("published.json").toFile());
    assertTrue(p3.path("reason").asText().startsWith("drift"), p3.toString());
    assertEquals("2026-12-01", p3.path("previous").path("date").asText());
    assertEquals(sha("model one"), p3.path("previous").path("quantized_sha256").asText());

    // day 10 (7 days on): no drift, but due by the schedule
    Path day10 = candidate("day10", "merge", "model ten", "stats ten");
    Cli due = publish(day10, stable, "2026-12-10", "--drift", drift("drift10", false).toString(),
        "--republish-after", "7");
    assertEquals(0, due.code(), due.err());
    assertEquals("schedule: 7 days since 2026-12-03 (--republish-after 7)",
        JSON.readTree(stable.resolve("published.json").toFile()).path("reason").asText());
    // the published candidate again, however late: kept, it is the published one
    Map<String, byte[]> before = tree(stable);
    Cli same = publish(day10, stable, "2026-12-30", "--republish-after", "7");
    assertEquals(0, same.code(), same.err());
    assertTrue(same.out().contains("is the candidate's"), same.out());
    assertSameTree(before, tree(stable));

    // day 11: drift, but the candidate fails the gate: exit 4, nothing changed
    Path day11 = candidate("day11", "merge", "model eleven", "stats eleven");
    Path weak = eval("eval11", sha("model eleven"), 0.95, 22.5);
    Cli refused = publish(day11, stable, "2026-12-11", "--drift", drift("drift11", true).toString(), "--eval",
        weak.toString(), "--gate-agreement", "0.98", "--gate-sqnr", "20");
    assertEquals(Main.THRESHOLD, refused.code(), refused.err());
    assertTrue(refused.errorLine().contains("top-1 agreement 0.95 < --gate-agreement 0.98")
        && !refused.errorLine().contains("SQNR"), refused.errorLine());
    assertSameTree(before, tree(stable));
    // the same figures pass lower thresholds: the lowest output (b) decides, and both figures are recorded
    Cli passed = publish(day11, stable, "2026-12-11", "--drift", drift("drift11b", true).toString(), "--eval",
        weak.toString(), "--gate-agreement", "0.95", "--gate-sqnr", "22.5");
    assertEquals(0, passed.code(), passed.err());
    JsonNode gate = JSON.readTree(stable.resolve("published.json").toFile()).path("gate");
    assertEquals(0.95, gate.path("top1_agreement").asDouble());
    assertEquals(22.5, gate.path("sqnr_db").asDouble());
    assertTrue(Files.exists(stable.resolve("eval.json")));
    // an SQNR threshold alone refuses on the SQNR
    Path day12 = candidate("day12", "merge", "model twelve", "stats twelve");
    Cli sqnr = publish(day12, stable, "2026-12-12", "--force", "--eval",
        eval("eval12", sha("model twelve"), 0.99, 18.0).toString(), "--gate-sqnr", "20");
    assertEquals(Main.THRESHOLD, sqnr.code(), sqnr.err());
    assertTrue(sqnr.errorLine().contains("SQNR 18.0 dB < --gate-sqnr 20.0"), sqnr.errorLine());
  }

  @Test
  void badInputIsOneLineAndNothingWritten() throws Exception {
    Path stable = tmp.resolve("published");
    Path good = candidate("good", "calibrate", "model", "stats");
    // an evaluation of another quantized model
    publish(good, stable, "2026-12-01", "--eval", eval("other", sha("another model"), 1, 50).toString(),
        "--gate-agreement", "0.9").assertBadInput(stable, "--eval", sha("another model"), sha("model"));
    // a half-written candidate: its files but no _SUCCESS
    Path half = tmp.resolve("half");
    Files.createDirectories(half);
    Files.writeString(half.resolve("quantized.onnx"), "x");
    publish(half, stable, "2026-12-01").assertBadInput(stable, "--candidate " + half, "no _SUCCESS");
    // an output that holds no quantized model
    Path ev = eval("ev", sha("model"), 1, 50);
    publish(ev, stable, "2026-12-01").assertBadInput(stable, "an output of qcal evaluate");
    // a missing candidate
    publish(tmp.resolve("nope"), stable, "2026-12-01").assertBadInput(stable, "--candidate");
    // thresholds without an evaluation; a bad date; a drift file that is not one
    publish(good, stable, "2026-12-01", "--gate-agreement", "0.9").assertBadInput(stable, "need --eval");
    publish(good, stable, "12/01/2026").assertBadInput(stable, "--date must be YYYY-MM-DD");
    Path notDrift = tmp.resolve("nd");
    Files.createDirectories(notDrift);
    Files.writeString(notDrift.resolve("drift.json"), "{\"format\":\"something\"}");
    assertEquals(0, publish(good, stable, "2026-12-01").code()); // published once, so the drift file is read
    Map<String, byte[]> before = tree(stable);
    Path other = candidate("second", "calibrate", "model 2", "stats 2");
    Cli bad = publish(other, stable, "2026-12-02", "--drift", notDrift.toString());
    assertEquals(Main.BAD_INPUT, bad.code(), bad.err());
    assertTrue(bad.errorLine().contains("--drift " + notDrift), bad.errorLine());
    assertSameTree(before, tree(stable));
    // a stable location that is not a qcal publish output is never replaced
    Path mine = tmp.resolve("mine");
    Files.createDirectories(mine);
    Files.writeString(mine.resolve("notes.txt"), "keep me");
    Cli refused = publish(good, mine, "2026-12-01");
    assertEquals(Main.BAD_INPUT, refused.code(), refused.err());
    assertEquals("keep me", Files.readString(mine.resolve("notes.txt")));
    // a candidate whose marker names a file outside it
    Path hostile = tmp.resolve("hostile");
    Files.createDirectories(hostile);
    Files.writeString(hostile.resolve("_SUCCESS"), "{\"format\":\"qcal.output\",\"format_version\":1,\"command\":"
        + "\"calibrate\",\"files\":[\"qparams.json\",\"quantized.onnx\",\"../mine/notes.txt\"]}");
    publish(hostile, tmp.resolve("p2"), "2026-12-01").assertBadInput(tmp.resolve("p2"), "outside the directory");
  }
}
