package dev.qcal.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import scala.Tuple2;

/**
 * Option defaults with the precedence: command line &gt; {@code spark.qcal.<command>.<option>}
 * (spark-submit {@code --conf}, {@code spark-defaults.conf}, an active session) &gt; the defaults file
 * {@code conf/qcal-defaults.conf} ({@code <command>.<option> = value}; named by the system property
 * {@value #FILE_PROPERTY} or the environment variable {@value #FILE_ENV}) &gt; the constants in the
 * command classes. A key naming no option of a command is an error, so a typo never goes unnoticed.
 * {@code spark.qcal.test.*} keys are fault-injection hooks for tests, read by the job itself.
 */
final class QcalDefaults implements CommandLine.IDefaultValueProvider {
  static final String FILE_PROPERTY = "qcal.defaults";
  static final String FILE_ENV = "QCAL_DEFAULTS";
  static final String SPARK_PREFIX = "spark.qcal.";
  static final String TEST_PREFIX = "spark.qcal.test.";

  private final Map<String, String> fromSpark;
  private final Map<String, String> fromFile;

  QcalDefaults(Map<String, String> fromSpark, Map<String, String> fromFile) {
    this.fromSpark = Map.copyOf(fromSpark);
    this.fromFile = Map.copyOf(fromFile);
  }

  /** Reads both sources and checks every key against {@code root}'s commands. */
  static QcalDefaults load(CommandLine root) {
    String file = System.getProperty(FILE_PROPERTY, System.getenv(FILE_ENV));
    Map<String, String> fromFile = file == null || file.isBlank() ? Map.of() : readFile(Path.of(file));
    QcalDefaults d = new QcalDefaults(sparkSettings(), fromFile);
    d.check(root, file);
    return d;
  }

  /** The defaults file, as an input every command reads (none when no file is named). */
  static java.util.List<dev.qcal.io.OutputGuard.Input> inputs() {
    String file = System.getProperty(FILE_PROPERTY, System.getenv(FILE_ENV));
    return file == null || file.isBlank() ? java.util.List.of()
        : dev.qcal.io.OutputGuard.Input.local("(defaults file " + FILE_PROPERTY + ")", Path.of(file));
  }

  static Map<String, String> readFile(Path file) {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (IOException e) {
      throw new UsageException(file + ": cannot read qcal defaults: " + e.getMessage());
    }
    Map<String, String> m = new TreeMap<>();
    p.forEach((k, v) -> m.put(k.toString().strip(), v.toString().strip()));
    return m;
  }

  /** {@code spark.qcal.*} settings (without the prefix) from spark-submit's system properties and an active session. */
  static Map<String, String> sparkSettings() {
    Map<String, String> m = new TreeMap<>();
    for (Tuple2<String, String> kv : new SparkConf(true).getAllWithPrefix(SPARK_PREFIX)) {
      m.put(kv._1(), kv._2());
    }
    var active = SparkSession.getActiveSession();
    if (active.isEmpty()) {
      active = SparkSession.getDefaultSession();
    }
    if (active.isDefined() && !active.get().sparkContext().isStopped()) {
      for (Tuple2<String, String> kv : active.get().sparkContext().getConf().getAllWithPrefix(SPARK_PREFIX)) {
        m.put(kv._1(), kv._2());
      }
    }
    m.keySet().removeIf(k -> (SPARK_PREFIX + k).startsWith(TEST_PREFIX));
    return m;
  }

  /** Every {@code command.option} key a defaults source may set. */
  static TreeSet<String> knownKeys(CommandLine root) {
    TreeSet<String> keys = new TreeSet<>();
    for (CommandLine sub : root.getSubcommands().values()) {
      for (OptionSpec o : sub.getCommandSpec().options()) {
        if (!o.usageHelp() && !o.versionHelp() && !o.inherited()) { // --verbose is Main's, for the console only
          keys.add(key(o));
        }
      }
    }
    return keys;
  }

  private void check(CommandLine root, String file) {
    TreeSet<String> known = knownKeys(root);
    for (String k : fromFile.keySet()) {
      if (!known.contains(k)) {
        throw new UsageException(file + ": unknown key '" + k + "'" + hint(k, "", known));
      }
    }
    for (String k : fromSpark.keySet()) {
      if (!known.contains(k)) {
        throw new UsageException("unknown Spark setting '" + SPARK_PREFIX + k + "'" + hint(k, SPARK_PREFIX, known));
      }
    }
  }

  /**
   * What an unknown key {@code k} may have meant: "; did you mean K?" with the known keys closest to it
   * (optimal string alignment distance, at most 3 edits and a third of the key; ties all named, at most
   * three), then where the keys come from: the options of {@code qcal <command> --help}, or the commands
   * when {@code k}'s command is none.
   */
  static String hint(String k, String prefix, TreeSet<String> known) {
    int best = Integer.MAX_VALUE;
    java.util.List<String> nearest = new java.util.ArrayList<>();
    for (String c : known) {
      int d = dev.qcal.model.plan.OnnxOpTypes.distance(k, c);
      if (d < best) {
        best = d;
        nearest.clear();
      }
      if (d == best) {
        nearest.add(c);
      }
    }
    String command = k.contains(".") ? k.substring(0, k.indexOf('.')) : k;
    boolean commandKnown = known.stream().anyMatch(c -> c.startsWith(command + "."));
    String where = commandKnown ? "keys are " + prefix + command + ".<option>, one per option of `qcal " + command
        + " --help`" : "keys are " + prefix + "<command>.<option> with <command> one of "
        + new TreeSet<>(known.stream().map(c -> c.substring(0, c.indexOf('.'))).toList());
    if (best <= 3 && best * 3 <= k.length() && nearest.size() <= 3) {
      return "; did you mean " + String.join(" or ", nearest.stream().map(c -> prefix + c).toList()) + "? (" + where
          + ")";
    }
    return " (" + where + ")";
  }

  static String key(OptionSpec o) {
    return o.command().name() + "." + o.longestName().replaceFirst("^-+", "");
  }

  @Override
  public String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec o) || o.command() == null || o.command().parent() == null || o.inherited()) {
      return null;
    }
    String k = key(o);
    String v = fromSpark.get(k);
    return v != null ? v : fromFile.get(k);
  }
}
