package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The Airflow DAG's commands parse with the real qcal command line: every {@code application_args}
 * list of {@code jobs/qcal_example_dag.py} (Python variables stand in as placeholders) and the
 * {@code spark.qcal.*} settings of the job file it reads. Airflow itself is not needed.
 */
class AirflowDagTest {
  static final Path DAG = Path.of("jobs/qcal_example_dag.py");
  private static final Pattern ARGS = Pattern.compile("application_args=\\[(.*?)]", Pattern.DOTALL);
  private static final Pattern TOKEN = Pattern.compile("f?\"((?:[^\"\\\\]|\\\\.)*)\"|([A-Za-z_][A-Za-z0-9_]*)");
  private static final Pattern JOB_FILE = Pattern.compile("jobs/[\\w.-]+\\.properties");

  static List<List<String>> applicationArgs(String python) {
    List<List<String>> all = new ArrayList<>();
    Matcher m = ARGS.matcher(python);
    while (m.find()) {
      List<String> args = new ArrayList<>();
      Matcher t = TOKEN.matcher(m.group(1));
      while (t.find()) {
        args.add(t.group(1) != null ? t.group(1) : "PLACEHOLDER_" + t.group(2));
      }
      all.add(args);
    }
    return all;
  }

  @Test
  void everyCommandTheDagRunsParsesWithTheRealCli() throws Exception {
    String python = Files.readString(DAG);
    Matcher jf = JOB_FILE.matcher(python);
    assertTrue(jf.find(), "the DAG names its job file");
    Map<String, String> job = QcalDefaults.readFile(Path.of(jf.group()));
    Map<String, String> qcalSettings = new TreeMap<>();
    job.forEach((k, v) -> {
      assertTrue(k.equals("qcal.command") || k.startsWith("spark."), "job file key " + k);
      if (k.startsWith(QcalDefaults.SPARK_PREFIX)) {
        qcalSettings.put(k.substring(QcalDefaults.SPARK_PREFIX.length()), v);
      }
    });
    assertTrue(QcalDefaults.knownKeys(new CommandLine(new Main())).containsAll(qcalSettings.keySet()),
        "job file spark.qcal.* settings name real options: " + qcalSettings.keySet());

    List<List<String>> commands = applicationArgs(python);
    assertEquals(2, commands.size(), "example-data and calibrate: " + commands);
    List<String> run = new ArrayList<>();
    for (List<String> args : commands) {
      CommandLine cl = new CommandLine(new Main());
      // the job file's settings reach the calibrate task as --conf; parse as its driver would
      cl.setDefaultValueProvider(new QcalDefaults(qcalSettings, Map.of()));
      CommandLine.ParseResult r = cl.parseArgs(args.toArray(String[]::new)); // throws on any unknown option
      assertTrue(r.hasSubcommand(), args.toString());
      CommandLine.ParseResult sub = r.subcommand();
      run.add(sub.commandSpec().name());
      for (String a : args) {
        if (a.startsWith("--")) {
          assertTrue(sub.hasMatchedOption(a), a + " in " + args);
        }
      }
      assertFalse(sub.unmatched().size() > 0, "unmatched " + sub.unmatched());
    }
    assertEquals(List.of("example-data", "calibrate"), run);
    assertEquals(job.get("qcal.command"), run.get(1), "the DAG runs the job file's command");
  }

  /**
   * The docstring's `qcal X` commands are real ones, and none is called future work: it said quantize and
   * evaluate would "join as they land" after both existed.
   */
  @Test
  void theDocstringNamesRealCommandsAsSuch() throws Exception {
    String python = Files.readString(DAG);
    String doc = python.substring(python.indexOf("\"\"\"") + 3, python.indexOf("\"\"\"", python.indexOf("\"\"\"") + 3));
    var commands = new CommandLine(new Main()).getSubcommands().keySet();
    Matcher named = Pattern.compile("`qcal ([a-z-]+)").matcher(doc);
    int count = 0;
    while (named.find()) {
      assertTrue(commands.contains(named.group(1)), named.group(1) + " in the docstring is no qcal command");
      count++;
    }
    assertTrue(count >= 3, "calibrate, quantize and evaluate named: " + doc);
    assertFalse(doc.replaceAll("\\s+", " ").matches("(?s).*(as they land|join later|not yet|to come).*"), doc);
  }

  @Test
  void aWrongOptionWouldBeCaught() {
    List<List<String>> bad = applicationArgs("application_args=[\"calibrate\", \"--model\", M, \"--data\", D, \"--out\", f\"{O}/x\", \"--batchsize\", \"3\"]");
    CommandLine cl = new CommandLine(new Main());
    assertThrowsParse(cl, bad.get(0));
  }

  private static void assertThrowsParse(CommandLine cl, List<String> args) {
    try {
      cl.parseArgs(args.toArray(String[]::new));
    } catch (CommandLine.ParameterException e) {
      assertTrue(e.getMessage().contains("--batchsize"), e.getMessage());
      return;
    }
    throw new AssertionError("parsed " + args);
  }
}
