package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code qcal merge}: the statistics of calibrate runs over parts of a data set, merged in any order and grouping,
 * give the bytes of one calibrate over the whole of it. The whole is {@link ExampleData#small()}: 40 lines in
 * {@code part-00000.npy} (16), {@code part-00001.npy} (16) and {@code part-00002.npy} (8); each part is calibrated
 * alone, and parts 1 and 2 together, from directories holding copies of those files.
 */
@ExtendWith(SharedSpark.class)
class MergeCommandTest {
  static final String MODEL = ExampleData.MODEL.toString();
  /** The files a merge writes that must equal the single run's, byte for byte. */
  static final List<String> SAME_BYTES = List.of("stats/stats.bin", "stats/stats.json", "qparams.json",
      "quantized.onnx", "calibration.cache", "calibration_table.json");

  static Path whole;
  static Path p0;
  static Path p1;
  static Path p2;
  static Path p12;
  @TempDir static Path runs;
  @TempDir Path tmp;

  @BeforeAll
  static void calibrateTheWholeAndItsParts(SparkSession spark) throws IOException {
    whole = ExampleData.calibratedSmall();
    Path x = ExampleData.small().resolve("x");
    p0 = calibrate("p0", x, "part-00000.npy");
    p1 = calibrate("p1", x, "part-00001.npy");
    p2 = calibrate("p2", x, "part-00002.npy");
    p12 = calibrate("p12", x, "part-00001.npy", "part-00002.npy");
  }

  /** calibrate (default options, no report) of a directory holding copies of {@code files} of {@code x}. */
  private static Path calibrate(String name, Path x, String... files) throws IOException {
    Path data = Files.createDirectories(runs.resolve("data-" + name));
    for (String f : files) {
      Files.copy(x.resolve(f), data.resolve(f));
    }
    Path out = runs.resolve(name);
    Cli r = Cli.run("calibrate", "--model", MODEL, "--data", data.toString(), "--out", out.toString(), "--no-report");
    assertEquals(0, r.code(), r.err());
    return out;
  }

  private static Cli merge(Path out, List<Path> stats, String... extra) {
    List<String> args = new ArrayList<>(List.of("merge", "--model", MODEL));
    for (Path s : stats) {
      args.add("--stats");
      args.add(s.toString());
    }
    args.add("--out");
    args.add(out.toString());
    args.addAll(Arrays.asList(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  private static Path merged(Path out, Path... stats) {
    Cli r = merge(out, List.of(stats));
    assertEquals(0, r.code(), r.err());
    return out;
  }

  private static void assertSameBytes(Path expected, Path actual, List<String> files) throws IOException {
    for (String f : files) {
      assertArrayEquals(Files.readAllBytes(expected.resolve(f)), Files.readAllBytes(actual.resolve(f)),
          f + " of " + actual + " differs from " + expected);
    }
  }

  private static JsonNode json(Path f) throws IOException {
    return new ObjectMapper().readTree(f.toFile());
  }

  @Test
  void twoPartsInEitherOrderGiveTheWholeRunsBytes() throws Exception {
    Path ab = merged(tmp.resolve("ab"), p0, p12);
    Path ba = merged(tmp.resolve("ba"), p12, p0);
    assertSameBytes(whole, ab, SAME_BYTES);
    assertSameBytes(whole, ba, SAME_BYTES);
    assertTrue(Files.exists(ab.resolve("_SUCCESS")) && Files.exists(ab.resolve("report.html")));
    // the samples are the sums: 16 + 24 = 40 lines, counted from how small() splits them
    assertEquals(40, json(ab.resolve("stats/stats.json")).get("samples").asLong());
    assertEquals(40, json(ab.resolve("qparams.json")).get("samples").asLong());
    JsonNode run = json(ab.resolve("run.json"));
    assertEquals("merge", run.get("command").asText());
    assertEquals(40, run.get("samples").asLong());
    assertEquals(2, run.get("stats").size());
    assertEquals(p0.toString(), run.get("stats").get(0).get("path").asText());
    assertEquals(16, run.get("stats").get(0).get("samples").asLong());
    assertEquals(p12.toString(), run.get("stats").get(1).get("path").asText());
    assertEquals(24, run.get("stats").get(1).get("samples").asLong());
    assertFalse(run.has("spark_application_id"), "merge starts no Spark job");
    JsonNode marker = json(ab.resolve("_SUCCESS"));
    assertEquals("merge", marker.get("command").asText(), marker.toString());
    // --help names every file a merge wrote
    Cli help = Cli.run("merge", "--help");
    assertEquals(0, help.code(), help.err());
    String text = help.out().replaceAll("\\s+", " ");
    try (Stream<Path> files = Files.walk(ab)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String name = ab.relativize(f).toString();
        String shown = name.startsWith("stats/") ? f.getFileName().toString() : name;
        assertTrue(text.contains(shown) && (!name.startsWith("stats/") || text.contains("stats/")), name + ": " + text);
      }
    }
  }

  @Test
  void threePartsInAnyOrderAndAMergeOfAMergeGiveTheWholeRunsBytes() throws Exception {
    assertSameBytes(whole, merged(tmp.resolve("abc"), p0, p1, p2), SAME_BYTES);
    assertSameBytes(whole, merged(tmp.resolve("cab"), p2, p0, p1), SAME_BYTES);
    Path first = merged(tmp.resolve("ab"), p0, p1);
    assertEquals(32, json(first.resolve("stats/stats.json")).get("samples").asLong());
    assertSameBytes(whole, merged(tmp.resolve("ab-c"), first, p2), SAME_BYTES);
    // its stats/ directory named directly, and last
    assertSameBytes(whole, merged(tmp.resolve("c-ab"), p2, first.resolve("stats")), SAME_BYTES);
  }

  @Test
  void rangesFromTheHistogramsAreTheSingleRunsToo() throws Exception {
    for (String method : List.of("entropy", "percentile")) {
      Path q = tmp.resolve("q-" + method);
      Cli r = Cli.run("quantize", "--model", MODEL, "--stats", whole.toString(), "--out", q.toString(), "--method",
          method);
      assertEquals(0, r.code(), r.err());
      Path m = tmp.resolve("m-" + method);
      Cli mr = merge(m, List.of(p2, p1, p0), "--method", method, "--no-report");
      assertEquals(0, mr.code(), mr.err());
      assertSameBytes(q, m, List.of("qparams.json", "quantized.onnx", "calibration.cache", "calibration_table.json"));
      assertSameBytes(whole, m, List.of("stats/stats.bin", "stats/stats.json"));
      assertFalse(Files.exists(m.resolve("report.html")), "--no-report");
      assertEquals(method, json(m.resolve("qparams.json")).get("method").asText());
    }
  }

  @Test
  void aWindowOfOneRunIsThatRun() throws Exception {
    Path one = merged(tmp.resolve("one"), whole);
    assertSameBytes(whole, one, SAME_BYTES);
    assertEquals(1, json(one.resolve("run.json")).get("stats").size());
  }

  @Test
  void aMergeOutputIsReplacedOnlyWithOverwrite() throws Exception {
    Path out = merged(tmp.resolve("o"), p0, p12);
    Cli again = merge(out, List.of(p0, p1, p2));
    assertEquals(Main.BAD_INPUT, again.code(), again.err());
    assertTrue(again.errorLine().contains("--overwrite"), again.errorLine());
    Cli replaced = merge(out, List.of(p0, p1), "--overwrite");
    assertEquals(0, replaced.code(), replaced.err());
    assertEquals(32, json(out.resolve("run.json")).get("samples").asLong());
  }

  // ----------------------------------------------------------------------------------------------- refusals

  /** A copy of run directory {@code run} as {@code name} (without its _SUCCESS unless {@code finished}). */
  private Path copy(Path run, String name, boolean finished) throws IOException {
    Path to = tmp.resolve(name);
    try (Stream<Path> files = Files.walk(run)) {
      for (Path f : files.toList()) {
        Path t = to.resolve(run.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(t);
        } else if (finished || !f.getFileName().toString().equals("_SUCCESS")) {
          Files.copy(f, t);
        }
      }
    }
    return to;
  }

  /** A finished copy of {@code p1} whose stats.json has {@code from} replaced by {@code to}. */
  private Path edited(String name, String from, String to) throws IOException {
    Path c = copy(p1, name, true);
    Path manifest = c.resolve("stats/stats.json");
    String text = Files.readString(manifest);
    assertTrue(text.contains(from), text);
    Files.writeString(manifest, text.replace(from, to));
    return c;
  }

  /** A finished run directory holding {@code stats} as p1's statistics would be written. */
  private Path written(String name, dev.qcal.stats.StatsSet stats) throws IOException {
    var real = dev.qcal.io.StatsFiles.read(p1.toString(), new org.apache.hadoop.conf.Configuration()).manifest();
    Path dir = tmp.resolve(name);
    dev.qcal.io.StatsFiles.write(dir.resolve("stats"), stats, real.modelSha256(), real.preparedOpset(),
        real.inputShapes());
    Files.writeString(dir.resolve("_SUCCESS"), "");
    return dir;
  }

  /** Statistics of the tensors {@code names} under {@code config}: one batch of the values 0..5 each. */
  private static dev.qcal.stats.StatsSet synthetic(List<String> names, dev.qcal.stats.StatsConfig config) {
    dev.qcal.stats.StatsSet s = dev.qcal.stats.StatsSet.empty(names, config);
    for (String n : names) {
      s.add(n, java.nio.FloatBuffer.wrap(new float[] {0, 1, 2, 3, 4, 5}), new long[] {1, 6});
    }
    return s.countBatch(1);
  }

  private static List<String> tensors(Path run) throws IOException {
    List<String> names = new ArrayList<>();
    json(run.resolve("stats/stats.json")).get("tensors").forEach(t -> names.add(t.asText()));
    return names;
  }

  /** merge of p0 and {@code bad} is exit 2 with one line naming {@code bad} and each fragment; nothing written. */
  private void refused(Path bad, String... fragments) {
    Path out = tmp.resolve("out");
    Cli r = merge(out, List.of(p0, bad));
    r.assertBadInput(out, fragments);
    assertTrue(r.errorLine().startsWith("qcal: error: " + bad), r.errorLine());
    assertEquals(1, r.err().lines().count(), r.err());
  }

  @Test
  void statisticsOfAnotherModelOpsetOrFormatAreRefused() throws Exception {
    String sha = json(p1.resolve("stats/stats.json")).get("model_sha256").asText();
    String other = "0".repeat(64);
    refused(edited("sha", sha, other), "SHA-256 " + other, "SHA-256 " + sha, MODEL);
    int opset = json(p1.resolve("stats/stats.json")).get("prepared_opset").asInt();
    refused(edited("opset", "\"prepared_opset\" : " + opset, "\"prepared_opset\" : " + (opset - 1)),
        "prepared_opset is " + (opset - 1) + ", but " + opset + " in " + p0);
    Path v = edited("version", "\"format_version\" : 1", "\"format_version\" : 99");
    refused(v, v.resolve("stats/stats.json").toString(), "format version 99", "reads version 1");
    refused(edited("smoothed", "\"samples\" :", "\"model_transform\" : \"smooth_quant\",\n  \"samples\" :"),
        "smooth_quant", "model_transform", "run calibrate");
  }

  @Test
  void statisticsCollectedWithOtherSettingsAreRefusedNamingTheSetting() throws Exception {
    List<String> names = tensors(p1);
    dev.qcal.stats.StatsConfig defaults = dev.qcal.stats.StatsConfig.defaults();
    refused(written("bins", synthetic(names, new dev.qcal.stats.StatsConfig(2048, 0, java.util.Map.of()))),
        "histogram_bins is 2048, but 4096 in " + p0);
    refused(written("channel-bins", synthetic(names, defaults.withChannelHistograms(256))),
        "channel_histogram_bins is 256, but 0 in " + p0);
    refused(written("axis", synthetic(names, defaults.withAxis("x", -1))),
        "channel axis of 'x' is per tensor (-1), but default in " + p0);
    List<String> fewer = names.subList(0, names.size() - 1);
    refused(written("fewer", synthetic(fewer, defaults)),
        "tensors[" + fewer.size() + "] is absent (" + fewer.size() + " tensors), but '" + names.get(fewer.size())
            + "' in " + p0);
    List<String> swapped = new ArrayList<>(names);
    java.util.Collections.swap(swapped, 0, 1);
    refused(written("swapped", synthetic(swapped, defaults)),
        "tensors[0] is '" + names.get(1) + "', but '" + names.get(0) + "' in " + p0);
  }

  @Test
  void missingUnfinishedAndRepeatedStatisticsAreRefused() throws Exception {
    refused(tmp.resolve("none"), "no statistics here");
    Path unfinished = copy(p1, "unfinished", false);
    refused(unfinished, "no _SUCCESS in ", "did not finish");
    refused(unfinished.resolve("stats"), "no _SUCCESS in ", "did not finish");
    refused(p0.resolve("stats"), "the same statistics as --stats " + p0, "given twice");
    // no --stats at all: a window of no runs
    Path out = tmp.resolve("out");
    Cli none = Cli.run("merge", "--model", MODEL, "--out", out.toString());
    none.assertBadInput(out, "Missing required option", "--stats");
  }
}
