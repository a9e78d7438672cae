package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.io.AtomicOutput;
import dev.qcal.io.OutputGuard;
import dev.qcal.jobs.CalibrateJob;
import dev.qcal.jobs.CalibrateOptions;
import dev.qcal.jobs.EvaluateJob;
import dev.qcal.jobs.QuantizeJob;
import dev.qcal.jobs.RangeOptions;
import dev.qcal.stats.StatsConfig;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.ReportFixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every writing command (calibrate, quantize, evaluate, report, example-data) refuses an {@code --out}
 * that equals, contains or lies inside one of its inputs, and an {@code --overwrite} of anything but
 * an empty directory or its own earlier output: exit 2 naming both paths, and every file of the tree
 * byte for byte as before. The refusals come before any Spark session or read, so no Spark here.
 */
class OutputSafetyTest {
  @TempDir Path tmp;
  Path model;
  Path data;
  Path labels;
  Path run;
  Path eval;
  Path thesis;

  @BeforeEach
  void tree() throws Exception {
    model = Files.createDirectories(tmp.resolve("models")).resolve("m.onnx");
    Files.copy(ExampleData.MODEL, model);
    data = Files.createDirectories(tmp.resolve("data/x"));
    Files.write(data.resolve("part-0.npy"), new byte[] {1, 2, 3});
    labels = tmp.resolve("data/labels.npy");
    Files.write(labels, new byte[] {4, 5});
    run = tmp.resolve("run");
    ReportFixtures.writeRun(run, 3, 64);
    Files.write(run.resolve("quantized.onnx"), new byte[] {6});
    eval = tmp.resolve("eval");
    ReportFixtures.writeEval(eval, 3, 3, false);
    // the evaluation of the run's quantized.onnx (report refuses another's): the SHA-256 of the byte 6
    Files.writeString(eval.resolve("eval.json"), Files.readString(eval.resolve("eval.json")).replace("cd".repeat(32),
        "67586e98fad27da0b9968bc039a1ef34c939b9b8e523a8bef89d478608c5ecf6"));
    thesis = tmp.resolve("thesis");
    Files.createDirectories(thesis.resolve("photos"));
    Files.writeString(thesis.resolve("thesis.txt"), "chapter 1");
    Files.write(thesis.resolve("photos/a.jpg"), new byte[] {7, 8});
  }

  /** Every file and directory under {@code tmp} with its bytes (directories: empty). */
  private Map<String, byte[]> snapshot() {
    Map<String, byte[]> m = new TreeMap<>();
    try (Stream<Path> s = Files.walk(tmp)) {
      for (Path p : s.toList()) {
        m.put(tmp.relativize(p) + (Files.isDirectory(p) ? "/" : ""), Files.isDirectory(p) ? new byte[0]
            : Files.readAllBytes(p));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return m;
  }

  /** Runs {@code args}; asserts exit 2, one error line holding every fragment, and an unchanged tree. */
  private void assertRefused(List<String> args, String... fragments) {
    Map<String, byte[]> before = snapshot();
    Cli r = Cli.run(args.toArray(String[]::new));
    assertEquals(Main.BAD_INPUT, r.code(), args + ": " + r.err());
    assertTrue(r.errorLine().startsWith("qcal: error: "), r.err());
    for (String f : fragments) {
      assertTrue(r.errorLine().contains(f), "'" + r.errorLine() + "' should contain '" + f + "'");
    }
    Map<String, byte[]> after = snapshot();
    assertEquals(before.keySet(), after.keySet(), args.toString());
    before.forEach((k, v) -> assertArrayEquals(v, after.get(k), args + ": " + k));
  }

  private static List<String> args(String... a) {
    return new ArrayList<>(List.of(a));
  }

  private List<String> calibrate(Path out) {
    return args("calibrate", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
        "--overwrite");
  }

  private static String overlap(Path out, String relation, String option, Path input) {
    return "--out " + out + " " + relation + " the input " + option + " " + input;
  }

  @Test
  void calibrate() throws Exception {
    assertRefused(calibrate(data), overlap(data, "is", "--data", data));
    assertRefused(calibrate(data.resolve("out")), overlap(data.resolve("out"), "lies inside", "--data", data));
    assertRefused(calibrate(tmp), overlap(tmp, "contains", "--model", model));
    assertRefused(calibrate(tmp.resolve("data")), overlap(tmp.resolve("data"), "contains", "--data", data));
    Path dotted = data.resolve("../x");
    assertRefused(calibrate(dotted), overlap(dotted, "is", "--data", data));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), data);
    assertRefused(calibrate(link), overlap(link, "is", "--data", data));
    assertRefused(calibrate(model), overlap(model, "is", "--model", model));
    List<String> binding = calibrate(data.resolve("o"));
    binding.set(4, "x=" + data);
    assertRefused(binding, overlap(data.resolve("o"), "lies inside", "--data", data));
    List<String> glob = calibrate(data.resolve("o"));
    glob.set(4, data + "/*.npy"); // a glob stands for the folder above it
    assertRefused(glob, overlap(data.resolve("o"), "lies inside", "--data", Path.of(data + "/*.npy")));
    Path pre = tmp.resolve("pre.json");
    Files.writeString(pre, "{}");
    List<String> images = calibrate(pre);
    images.addAll(List.of("--preprocess", pre.toString()));
    assertRefused(images, overlap(pre, "is", "--preprocess", pre));
    List<String> config = calibrate(tmp.resolve("conf.json"));
    config.addAll(List.of("--config", tmp.resolve("conf.json").toString()));
    assertRefused(config, "--config " + tmp.resolve("conf.json"));
    List<String> fallback = calibrate(labels);
    fallback.addAll(List.of("--max-accuracy-drop", "1", "--eval-labels", labels.toString()));
    assertRefused(fallback, overlap(labels, "is", "--eval-labels", labels));
    assertRefused(calibrate(thesis), thesis + ": holds photos, thesis.txt and no _SUCCESS: not a qcal output",
        "--overwrite replaces only an empty directory or an earlier output of qcal calibrate");
    Path rep = earlierOutput("report", tmp.resolve("rep"));
    assertRefused(calibrate(rep), rep + ": is an output of qcal report, not of qcal calibrate");
    assertRefused(calibrate(labels), labels + ": is a file, not a directory");

    // a sibling of the model in its directory is fine, and so is the command's own earlier output
    Configuration conf = new Configuration();
    Path own = earlierOutput("calibrate", tmp.resolve("models/int8"));
    CalibrateJob.checkOutput(calibrateOptions(own), null, List.of(), conf);
    CalibrateJob.checkOutput(calibrateOptions(tmp.resolve("models/new")), null, List.of(), conf);
  }

  @Test
  void theDefaultsFileIsAnInputToo() throws Exception {
    Path conf = Files.createDirectories(tmp.resolve("conf")).resolve("qcal-defaults.conf");
    Files.writeString(conf, "calibrate.batch-size = 8\n");
    String old = System.getProperty(QcalDefaults.FILE_PROPERTY);
    System.setProperty(QcalDefaults.FILE_PROPERTY, conf.toString());
    try {
      assertRefused(calibrate(conf.getParent()), overlap(conf.getParent(), "contains", "(defaults file qcal.defaults)", conf));
    } finally {
      if (old == null) {
        System.clearProperty(QcalDefaults.FILE_PROPERTY);
      } else {
        System.setProperty(QcalDefaults.FILE_PROPERTY, old);
      }
    }
  }

  private List<String> quantize(Path out) {
    return args("quantize", "--model", model.toString(), "--stats", run.toString(), "--out", out.toString(),
        "--overwrite");
  }

  @Test
  void quantize() throws Exception {
    assertRefused(quantize(run), overlap(run, "is", "--stats", run));
    Path stats = run.resolve("stats");
    assertRefused(quantize(stats.resolve("q")), overlap(stats.resolve("q"), "lies inside", "--stats", run));
    assertRefused(quantize(tmp.resolve("models")), overlap(tmp.resolve("models"), "contains", "--model", model));
    assertRefused(quantize(thesis), thesis + ": holds photos, thesis.txt and no _SUCCESS");
    Path cal = earlierOutput("calibrate", tmp.resolve("cal"));
    assertRefused(quantize(cal), cal + ": is an output of qcal calibrate, not of qcal quantize");

    Path own = earlierOutput("quantize", tmp.resolve("q"));
    QuantizeJob.checkOutput(new QuantizeJob.Options(model, run.toString(), own.toString(), true,
        RangeOptions.defaults()), null, List.of(), new Configuration());
  }

  private List<String> evaluate(Path out) {
    return args("evaluate", "--fp32", model.toString(), "--quantized", run.resolve("quantized.onnx").toString(),
        "--data", data.toString(), "--labels", labels.toString(), "--out", out.toString(), "--overwrite");
  }

  @Test
  void evaluate() throws Exception {
    Path q = run.resolve("quantized.onnx");
    assertRefused(evaluate(run), overlap(run, "contains", "--quantized", q));
    assertRefused(evaluate(labels), overlap(labels, "is", "--labels", labels));
    assertRefused(evaluate(model.resolve("e")), overlap(model.resolve("e"), "lies inside", "--fp32", model));
    assertRefused(evaluate(data), overlap(data, "is", "--data", data));
    assertRefused(evaluate(thesis), thesis + ": holds photos, thesis.txt and no _SUCCESS");

    Path own = earlierOutput("evaluate", tmp.resolve("e"));
    EvaluateJob.checkOutput(new EvaluateJob.Options(model, q, List.of(data.toString()), labels.toString(),
        own.toString(), true, 16, 0), List.of(), new Configuration());
  }

  private List<String> report(Path out) {
    return args("report", "--run", run.toString(), "--eval", eval.toString(), "--out", out.toString(), "--overwrite");
  }

  @Test
  void report() throws Exception {
    assertRefused(report(run), overlap(run, "is", "--run", run));
    assertRefused(report(run.resolve("r")), overlap(run.resolve("r"), "lies inside", "--run", run));
    assertRefused(report(tmp), overlap(tmp, "contains", "--run", run));
    assertRefused(report(eval), overlap(eval, "is", "--eval", eval));
    List<String> stats = report(tmp.resolve("s"));
    stats.addAll(List.of("--stats", tmp.resolve("s").toString()));
    assertRefused(stats, overlap(tmp.resolve("s"), "is", "--stats", tmp.resolve("s")));
    // a quantize output's statistics are those its run.json names, elsewhere
    Path named = tmp.resolve("named-stats");
    Files.move(run.resolve("stats"), named);
    com.fasterxml.jackson.databind.node.ObjectNode runJson = (com.fasterxml.jackson.databind.node.ObjectNode)
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(run.resolve("run.json").toFile());
    runJson.put("stats", named.toString());
    Files.writeString(run.resolve("run.json"), runJson.toString());
    List<String> noStats = args("report", "--run", run.toString(), "--out", named.resolve("r").toString());
    assertRefused(noStats, overlap(named.resolve("r"), "lies inside", "--stats (from --run's run.json)", named));
    Files.move(named, run.resolve("stats"));
    assertRefused(report(thesis), thesis + ": holds photos, thesis.txt and no _SUCCESS",
        "earlier output of qcal report");

    Path out = tmp.resolve("report");
    assertEquals(0, Cli.run(report(out).toArray(String[]::new)).code());
    Cli again = Cli.run(report(out).toArray(String[]::new));
    assertEquals(0, again.code(), again.err());
    assertTrue(Files.exists(out.resolve("report.html")));
  }

  @Test
  void exampleData() throws Exception {
    assertRefused(args("example-data", "--out", thesis.toString(), "--count", "2"),
        thesis + ": exists and is not empty; example-data writes only into a new or empty directory");
    assertRefused(args("example-data", "--out", labels.toString(), "--count", "2"),
        labels + ": exists and is not a directory");

    Path out = Files.createDirectories(tmp.resolve("lines")); // empty: written
    List<String> twoLines = args("example-data", "--out", out.toString(), "--count", "2", "--per-file", "1");
    Cli first = Cli.run(twoLines.toArray(String[]::new));
    assertEquals(0, first.code(), first.err());
    assertTrue(Files.exists(out.resolve("x/part-00001.npy")) && Files.exists(out.resolve("labels.npy")));
    Map<String, byte[]> written = snapshot();
    Cli same = Cli.run(twoLines.toArray(String[]::new));
    assertEquals(0, same.code(), same.err());
    assertTrue(same.out().contains("already holds these 2 lines"), same.out());
    assertEquals(written.keySet(), snapshot().keySet());
    assertRefused(args("example-data", "--out", out.toString(), "--count", "2", "--seed", "7"),
        out + ": exists and is not empty");
  }

  /** An earlier output of {@code command} at {@code dir}, published as the command publishes. */
  private static Path earlierOutput(String command, Path dir) throws IOException {
    try (AtomicOutput o = AtomicOutput.begin(dir.toString(), command, false, new Configuration())) {
      Files.writeString(o.dir().resolve("run.json"), "{}");
      o.commit();
    }
    return dir;
  }

  private CalibrateOptions calibrateOptions(Path out) {
    return new CalibrateOptions(model, List.of(data.toString()), out.toString(), true, 16, null, Map.of(),
        new StatsConfig(64, 0, Map.of()), RangeOptions.defaults());
  }

  @Test
  void guardComparesRealPaths() throws Exception {
    Path link = Files.createSymbolicLink(tmp.resolve("models-link"), model.getParent());
    Map<String, byte[]> before = snapshot();
    dev.qcal.io.OutputException e = org.junit.jupiter.api.Assertions.assertThrows(dev.qcal.io.OutputException.class,
        () -> OutputGuard.check("calibrate", link.resolve("m.onnx/../m.onnx").toString(), true,
            OutputGuard.Input.model("--model", model), new Configuration()));
    assertTrue(e.getMessage().contains("is the input --model " + model), e.getMessage());
    assertEquals(before.keySet(), snapshot().keySet());
  }
}
