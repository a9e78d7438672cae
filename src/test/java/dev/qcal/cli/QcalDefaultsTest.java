package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** Command line &gt; spark.qcal.* &gt; conf/qcal-defaults.conf &gt; constants; unknown keys rejected. */
class QcalDefaultsTest {
  static final Path SHIPPED = Path.of("conf/qcal-defaults.conf");
  @TempDir Path tmp;

  @BeforeEach
  void noActiveSession() {
    // an active session's spark.qcal.* settings count too: these tests want only their own
    SparkSession.getActiveSession().foreach(s -> {
      SparkSession.clearActiveSession();
      return null;
    });
  }

  static CalibrateCommand parse(QcalDefaults d, String... args) {
    CommandLine cl = new CommandLine(new Main());
    cl.setDefaultValueProvider(d);
    CommandLine.ParseResult r = cl.parseArgs(args);
    return (CalibrateCommand) r.subcommand().commandSpec().userObject();
  }

  @Test
  void commandLineBeatsSparkBeatsFileBeatsConstants() {
    String[] base = {"calibrate", "--model", "m.onnx", "--data", "d", "--out", "o"};
    assertEquals(16, parse(new QcalDefaults(Map.of(), Map.of()), base).batchSize);
    assertEquals(3, parse(new QcalDefaults(Map.of(), Map.of("calibrate.batch-size", "3")), base).batchSize);
    QcalDefaults both = new QcalDefaults(Map.of("calibrate.batch-size", "5", "calibrate.overwrite", "true"),
        Map.of("calibrate.batch-size", "3", "calibrate.activation-type", "int8"));
    CalibrateCommand c = parse(both, base);
    assertEquals(5, c.batchSize);
    assertTrue(c.overwrite);
    assertEquals("int8", c.ranges.activationType);
    String[] withCli = {"calibrate", "--model", "m.onnx", "--data", "d", "--out", "o", "--batch-size", "7"};
    assertEquals(7, parse(both, withCli).batchSize);
  }

  @Test
  void requiredOptionsCanComeFromSettings() {
    QcalDefaults d = new QcalDefaults(Map.of("calibrate.out", "hdfs://nn/out"), Map.of("calibrate.model", "m.onnx"));
    CalibrateCommand c = parse(d, "calibrate", "--data", "d");
    assertEquals("hdfs://nn/out", c.out);
    assertEquals(Path.of("m.onnx"), c.model);
  }

  @Test
  void unknownKeysAreRejectedWithTheKnownOnes() throws Exception {
    Path f = tmp.resolve("d.conf");
    Files.writeString(f, "calibrate.batchsize = 3\n");
    String old = System.getProperty(QcalDefaults.FILE_PROPERTY);
    System.setProperty(QcalDefaults.FILE_PROPERTY, f.toString());
    try {
      Cli r = Cli.run("calibrate", "--help");
      assertEquals(2, r.code(), r.err());
      // one line with the closest key, not all ~90 of them
      assertEquals("qcal: error: " + f + ": unknown key 'calibrate.batchsize'; did you mean calibrate.batch-size?"
          + " (keys are calibrate.<option>, one per option of `qcal calibrate --help`)", r.errorLine());
      assertEquals(1, r.err().lines().count(), r.err());
    } finally {
      restore(QcalDefaults.FILE_PROPERTY, old);
    }
    System.setProperty("spark.qcal.calibrate.bacth-size", "3");
    System.setProperty("spark.qcal.test.anything", "1");
    try {
      Cli r = Cli.run("calibrate", "--help");
      assertEquals(2, r.code(), r.err());
      assertEquals("qcal: error: unknown Spark setting 'spark.qcal.calibrate.bacth-size'; did you mean"
          + " spark.qcal.calibrate.batch-size? (keys are spark.qcal.calibrate.<option>, one per option of"
          + " `qcal calibrate --help`)", r.errorLine());
    } finally {
      System.clearProperty("spark.qcal.calibrate.bacth-size");
    }
    try {
      assertEquals(0, Cli.run("calibrate", "--help").code(), "spark.qcal.test.* hooks are not options");
    } finally {
      System.clearProperty("spark.qcal.test.anything");
    }
  }

  /**
   * The closest keys by edit distance (counted by hand below): ties all named, none for a key far from every
   * known one, and the commands for an unknown command.
   */
  @Test
  void unknownKeysGetTheClosestKnownOnes() {
    TreeSet<String> known = new TreeSet<>(java.util.List.of("calibrate.batch-size", "calibrate.seed",
        "calibrate.mask", "calibrate.max-samples", "evaluate.seed", "evaluate.batch-size"));
    // one insertion from calibrate.seed; evaluate.seed differs in the whole command
    assertEquals("; did you mean calibrate.seed? (keys are calibrate.<option>, one per option of"
        + " `qcal calibrate --help`)", QcalDefaults.hint("calibrate.sed", "", known));
    // one substitution from calibrate.mask
    assertTrue(QcalDefaults.hint("calibrate.masx", "", known).startsWith("; did you mean calibrate.mask?"));
    // one substitution from each of quantize.cut and quantize.out
    TreeSet<String> tie = new TreeSet<>(java.util.List.of("quantize.out", "quantize.cut", "quantize.stats"));
    assertEquals("; did you mean quantize.cut or quantize.out? (keys are quantize.<option>, one per option of"
        + " `qcal quantize --help`)", QcalDefaults.hint("quantize.put", "", tie));
    // eight edits from calibrate.seed at best
    assertEquals(" (keys are calibrate.<option>, one per option of `qcal calibrate --help`)",
        QcalDefaults.hint("calibrate.zzzzzzzz", "", known));
    assertEquals(" (keys are spark.qcal.<command>.<option> with <command> one of [calibrate, evaluate])",
        QcalDefaults.hint("calibrat.zzzzzzzzzzzzzzzz", "spark.qcal.", known));
  }

  @Test
  void shippedDefaultsFileNamesEveryOptionWithItsBuiltInDefault() throws Exception {
    CommandLine root = new CommandLine(new Main());
    TreeSet<String> known = QcalDefaults.knownKeys(root);
    Pattern line = Pattern.compile("^(#\\s*)?([a-z-]+\\.[a-z0-9-]+)\\s*=\\s*(.*)$");
    TreeSet<String> listed = new TreeSet<>();
    for (String l : Files.readAllLines(SHIPPED)) {
      Matcher m = line.matcher(l.strip());
      if (m.matches()) {
        listed.add(m.group(2));
      }
    }
    assertEquals(known, listed, "conf/qcal-defaults.conf lists every option (commented out when it has no default)");
    Map<String, String> active = QcalDefaults.readFile(SHIPPED);
    for (CommandLine sub : root.getSubcommands().values()) {
      for (OptionSpec o : sub.getCommandSpec().options()) {
        String k = QcalDefaults.key(o);
        if (active.containsKey(k)) {
          String builtIn = o.defaultValue() != null ? o.defaultValue() : String.valueOf(o.initialValue());
          assertEquals(builtIn, active.get(k), k + ": the file must state the built-in default");
        }
      }
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }
}
