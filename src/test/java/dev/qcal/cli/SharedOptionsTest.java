package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.model.plan.PlanOptions;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.ReportFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The options several commands share are one declaration each, read alike everywhere: the data options of every
 * command that reads data, the output and Spark options, the model-file check, the vocabularies' messages.
 */
class SharedOptionsTest {
  /**
   * Options whose meaning differs by command, on purpose: --data (evaluate's refers to calibrate's), --model
   * (the model of each command), --quantized (evaluate's input, inspect's optional comparison), --stats
   * (quantize's input, merge's inputs, report's histograms), --sensitivity-samples (evaluate's per-tensor figures,
   * 0 = off; the fallback's ranking, at least 1), --seed (example-data's generator, the sample hash) and example-data's
   * --out (a new local directory).
   */
  private static final Set<String> PER_COMMAND =
      Set.of("--data", "--model", "--quantized", "--stats", "--sensitivity-samples", "--seed");

  @TempDir Path tmp;

  private static Map<String, CommandSpec> commands() {
    Map<String, CommandSpec> m = new LinkedHashMap<>();
    new CommandLine(new Main()).getSubcommands().forEach((name, cl) -> {
      if (!name.equals("help")) {
        m.put(name, cl.getCommandSpec());
      }
    });
    return m;
  }

  private static Set<String> names(CommandSpec spec) {
    Set<String> s = new TreeSet<>();
    spec.options().forEach(o -> s.add(o.longestName()));
    return s;
  }

  /** The option names of a mixin class, read from its annotations alone. */
  private static Set<String> names(Class<?> mixin) {
    return names(CommandSpec.forAnnotatedObject(mixin));
  }

  @Test
  void everyCommandThatReadsDataTakesTheSameDataOptions() {
    Set<String> format = names(DataFormatMixin.class);
    Set<String> selection = names(DataSelectionMixin.class);
    Set<String> expected = new TreeSet<>(format);
    expected.addAll(selection);
    expected.add("--data");
    List<String> readers = new ArrayList<>();
    commands().forEach((name, spec) -> {
      Set<String> own = names(spec);
      if (own.contains("--data")) {
        readers.add(name);
        assertTrue(own.containsAll(expected), name + " lacks data options: " + missing(expected, own));
      }
      if (own.contains("--eval-data")) {
        readers.add(name + " (--eval-data)");
        assertTrue(own.containsAll(format), name + " reads --eval-data without " + missing(format, own));
      }
    });
    assertEquals(List.of("calibrate", "calibrate (--eval-data)", "evaluate", "quantize (--eval-data)"),
        readers.stream().sorted().toList());
    assertTrue(selection.contains("--pad"), "--pad is a data option of both calibrate and evaluate");
  }

  private static Set<String> missing(Set<String> wanted, Set<String> have) {
    Set<String> m = new TreeSet<>(wanted);
    m.removeAll(have);
    return m;
  }

  @Test
  void anOptionOfSeveralCommandsReadsTheSameInEach() {
    Map<String, String> first = new LinkedHashMap<>();
    Map<String, String> firstIn = new LinkedHashMap<>();
    commands().forEach((name, spec) -> {
      for (OptionSpec o : spec.options()) {
        String n = o.longestName();
        if (o.usageHelp() || o.versionHelp() || o.inherited() || PER_COMMAND.contains(n)
            || (name.equals("example-data") && n.equals("--out"))) {
          continue;
        }
        String text = o.paramLabel() + " | " + String.join(" ", o.description()) + " | default " + o.defaultValue()
            + " | required " + o.required() + " | " + o.type().getSimpleName();
        String before = first.putIfAbsent(n, text);
        firstIn.putIfAbsent(n, name);
        if (before != null) {
          assertEquals(before, text, n + " of " + name + " differs from " + n + " of " + firstIn.get(n));
        }
      }
    });
    for (String shared : List.of("--out", "--overwrite", "--master", "--batch-size", "--pad", "--no-report")) {
      long in = commands().values().stream().filter(s -> s.findOption(shared) != null).count();
      assertTrue(in >= 2, shared + " is shared, by " + in + " commands");
    }
  }

  /** Command lines that would run but for the model file given to {@code option}, by command. */
  private Map<String, List<String>> argsWithout(Path model, String option) {
    String m = ExampleData.MODEL.toString();
    String data = tmp.resolve("data").toString();
    String out = tmp.resolve("out").toString();
    Map<String, List<String>> a = new LinkedHashMap<>();
    a.put("calibrate", List.of("--model", m, "--data", data, "--out", out));
    a.put("quantize", List.of("--model", m, "--stats", tmp.toString(), "--out", out));
    a.put("merge", List.of("--model", m, "--stats", tmp.toString(), "--out", out));
    a.put("evaluate", List.of("--fp32", m, "--quantized", m, "--data", data, "--out", out));
    a.put("inspect", List.of("--model", m, "--quantized", m));
    a.replaceAll((cmd, args) -> {
      List<String> l = new ArrayList<>(List.of(cmd));
      l.addAll(args);
      int i = l.indexOf(option);
      if (i > 0) {
        l.set(i + 1, model.toString());
      }
      return l;
    });
    return a;
  }

  @Test
  void everyCommandReportsAMissingModelInTheSameOneLine() throws Exception {
    Path missing = tmp.resolve("nope.onnx");
    Path dir = Files.createDirectories(tmp.resolve("dir.onnx"));
    List<String> checked = new ArrayList<>();
    commands().forEach((name, spec) -> {
      for (OptionSpec o : spec.options()) {
        if (!o.paramLabel().endsWith(".onnx")) {
          continue;
        }
        String opt = o.longestName();
        checked.add(name + " " + opt);
        List<String> args = argsWithout(missing, opt).get(name);
        assertTrue(args != null && args.contains(missing.toString()), name + " " + opt + ": no command line here");
        Cli r = Cli.run(args.toArray(new String[0]));
        assertEquals(2, r.code(), r.err());
        assertEquals("qcal: error: " + opt + ": model not found: " + missing + "\n", r.err(), name);
        Cli d = Cli.run(argsWithout(dir, opt).get(name).toArray(new String[0]));
        assertEquals(2, d.code(), d.err());
        assertEquals("qcal: error: " + opt + ": " + dir + " is a directory, expected an .onnx model file\n", d.err(),
            name);
        assertFalse(Files.exists(tmp.resolve("out")), "nothing written");
      }
    });
    assertEquals(List.of("calibrate --model", "quantize --model", "merge --model", "evaluate --fp32",
        "evaluate --quantized", "inspect --model", "inspect --quantized"), checked);
  }

  @Test
  void quantizeAndReportReportMissingStatisticsInTheSameOneLine() throws Exception {
    Path missing = tmp.resolve("no-stats");
    Path run = tmp.resolve("run");
    ReportFixtures.writeRun(run, 2, 64);
    String line = "qcal: error: " + missing + ": no statistics here (expected stats/stats.json as written by qcal"
        + " calibrate)\n";
    Cli q = Cli.run("quantize", "--model", ExampleData.MODEL.toString(), "--stats", missing.toString(), "--out",
        tmp.resolve("q").toString());
    assertEquals(2, q.code(), q.err());
    assertEquals(line, q.err());
    Cli r = Cli.run("report", "--run", run.toString(), "--stats", missing.toString(), "--out",
        tmp.resolve("r").toString());
    assertEquals(2, r.code(), r.err());
    assertEquals(line, r.err());
    assertFalse(Files.exists(tmp.resolve("q")) || Files.exists(tmp.resolve("r")), "nothing written");
  }

  @Test
  void theOpTypesDefaultIsThePlannersDefault() {
    // an annotation's default is a constant string: this keeps it the list PlanOptions.defaults() plans with
    commands().forEach((name, spec) -> {
      OptionSpec o = spec.findOption("--op-types");
      if (o != null) {
        assertEquals(new TreeSet<>(PlanOptions.defaults().opTypes()),
            new TreeSet<>(List.of(o.defaultValue().split(","))), name);
      }
    });
  }

  private static CalibrateCommand calibrate(String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", "m.onnx", "--data", "d", "--out", "o"));
    args.addAll(List.of(extra));
    CommandLine.ParseResult r = new CommandLine(new Main()).parseArgs(args.toArray(new String[0]));
    return (CalibrateCommand) r.subcommand().commandSpec().userObject();
  }

  @Test
  void nameValueOptionsAreReadAlike() {
    CalibrateCommand c = calibrate("--pad", "x=1,y=2", "--input", "a=b", "--input", "a=c", "--input", "d=e");
    assertEquals(Map.of("x", "1", "y", "2"), c.dataSelection.pads());
    assertEquals(Map.of("a", "c", "d", "e"), c.dataFormat.columns(), "the last --input of a name counts");
    UsageException twice = assertThrows(UsageException.class, () -> calibrate("--pad", "x=1,x=2").dataSelection.pads());
    assertEquals("--pad: input 'x' is given twice", twice.getMessage());
    UsageException noValue = assertThrows(UsageException.class, () -> calibrate("--input", "a=").dataFormat.columns());
    assertEquals("--input 'a=': expected NAME=COLUMN", noValue.getMessage());
    UsageException noName = assertThrows(UsageException.class, () -> calibrate("--pad", "=0").dataSelection.pads());
    assertEquals("--pad '=0': expected NAME=VALUE", noName.getMessage());
  }

  /** The line {@code inspect} prints for {@code option value}. */
  private static String inspectError(String option, String value) {
    Cli r = Cli.run("inspect", "--model", ExampleData.MODEL.toString(), option, value);
    assertEquals(2, r.code(), r.err());
    assertEquals(1, r.err().lines().count(), r.err());
    return r.errorLine();
  }

  @Test
  void aVocabularyErrorNamesTheAcceptedWordsOnly() {
    String act = "qcal: error: --activation-type must be uint8, int8, uint16 or int16, got ";
    assertEquals(act + "int32", inspectError("--activation-type", "int32"));
    assertEquals(act + "int7", inspectError("--activation-type", "int7"), "an unknown type lists the same types");
    String wt = "': expected one of int8, uint8, int4, uint4";
    assertEquals("qcal: error: --weight-type 'int16" + wt, inspectError("--weight-type", "int16"));
    assertEquals("qcal: error: --weight-type 'int7" + wt, inspectError("--weight-type", "int7"));
    assertEquals("qcal: error: --method 'kl': expected one of minmax, percentile, entropy, mse",
        inspectError("--method", "kl"));
  }
}
