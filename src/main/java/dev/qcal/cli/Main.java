package dev.qcal.cli;

import dev.qcal.data.DataException;
import dev.qcal.io.OutputException;
import dev.qcal.model.onnx.ModelException;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code qcal}: post-training quantization calibration for ONNX models on Apache Spark. */
@Command(
    name = "qcal",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Post-training quantization calibration for ONNX models on Apache Spark.",
    subcommands = {CalibrateCommand.class, QuantizeCommand.class, MergeCommand.class, EvaluateCommand.class, ReportCommand.class,
        InspectCommand.class, DriftCommand.class, PublishCommand.class, ExampleDataCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  /**
   * Exit codes: success, bad input or usage, failure while running, a threshold crossed (drift found by
   * {@code qcal drift}; a candidate refused by {@code qcal publish}'s gate).
   */
  public static final int OK = 0;
  public static final int BAD_INPUT = 2;
  public static final int FAILURE = 3;
  public static final int THRESHOLD = 4;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Main.class);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Set by {@code --verbose}, an option of every subcommand (inherited). */
  boolean verbose;

  @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "On a failure (exit 3), print the stack trace after the one-line message.")
  void setVerbose(boolean v) {
    verbose = v;
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "missing command (calibrate, quantize, merge, evaluate, report, inspect, drift, publish, example-data)");
  }

  public static void main(String[] args) {
    int code = execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    if (code == OK && yarnClusterDriver()) {
      // the application master runs main in a thread and reports success when it returns; an exit,
      // even exit(0), fires its shutdown hook first, so YARN records FAILED and reruns the job
      return;
    }
    System.exit(code);
  }

  /** In the application master's JVM of a YARN cluster-mode application (the AM sets these properties). */
  static boolean yarnClusterDriver() {
    return System.getProperty("spark.yarn.app.id") != null
        && "cluster".equals(System.getProperty("spark.submit.deployMode"));
  }

  /** Runs the command line and returns the exit code (used by tests instead of {@link #main}). */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    return execute(new CommandLine(new Main()), args, out, err);
  }

  /** Runs {@code cl}, a command line of {@link Main} (tests add subcommands to it), with qcal's error handling. */
  static int execute(CommandLine cl, String[] args, PrintWriter out, PrintWriter err) {
    Main main = cl.getCommand();
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      Throwable cause = userError(ex);
      if (cause != null) {
        err.println("qcal: error: " + oneLine(cause.getMessage()));
        return BAD_INPUT;
      }
      return failed(ex, main.verbose, err);
    });
    cl.setParameterExceptionHandler((ex, a) -> {
      err.println("qcal: error: " + oneLine(ex.getMessage()));
      err.println(tryHelp(ex.getCommandLine()));
      return BAD_INPUT;
    });
    try {
      // command line > spark.qcal.* > conf/qcal-defaults.conf > constants; unknown keys are errors
      cl.setDefaultValueProvider(QcalDefaults.load(cl));
    } catch (UsageException e) {
      err.println("qcal: error: " + oneLine(e.getMessage()));
      return BAD_INPUT;
    }
    cl.setExecutionStrategy(Main::checkThenRun);
    try {
      return cl.execute(args);
    } catch (Error e) { // picocli passes errors through: OutOfMemoryError, StackOverflowError, LinkageError
      return failed(e, main.verbose, err);
    }
  }

  /** Runs the last command parsed (or prints the help asked for), its model files checked first ({@link ModelFile}). */
  private static int checkThenRun(CommandLine.ParseResult parsed) {
    Integer help = CommandLine.executeHelpRequest(parsed);
    if (help != null) {
      return help;
    }
    List<CommandLine> commands = parsed.asCommandLineList();
    CommandLine command = commands.get(commands.size() - 1);
    try {
      ModelFile.check(command.getCommandSpec());
    } catch (UsageException e) {
      throw new CommandLine.ExecutionException(command, e.getMessage(), e);
    }
    return new CommandLine.RunLast().execute(parsed);
  }

  /** Reports a failure while running: one line (and a hint), the stack trace with --verbose; logged at debug. */
  private static int failed(Throwable t, boolean verbose, PrintWriter err) {
    err.println("qcal: failed: " + failure(t));
    LOG.debug("qcal failed", t);
    if (verbose) {
      t.printStackTrace(err);
    } else {
      err.println("(run with --verbose for the stack trace)");
    }
    return FAILURE;
  }

  /** The bad-input exception behind {@code t} (also when it failed inside a Spark task), or null. */
  static Throwable userError(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof DataException || c instanceof ModelException || c instanceof OutputException
          || c instanceof UsageException) {
        return c;
      }
    }
    return null;
  }

  /** The one line that points at a command's help, as git and kubectl print after a usage error. */
  static String tryHelp(CommandLine cmd) {
    return "Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.";
  }

  /** Exception types whose message alone says what failed; any other type is named before its message. */
  private static final java.util.Set<Class<?>> PLAIN = java.util.Set.of(RuntimeException.class, Exception.class,
      IllegalStateException.class, IllegalArgumentException.class, java.io.IOException.class,
      java.io.UncheckedIOException.class);

  /**
   * One line for an unexpected failure: the message of its root cause, after the cause's class name
   * when the class is telling (AccessDeniedException: /out) or the message is missing.
   */
  static String failure(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m = oneLine(root.getMessage());
    if (m.isEmpty() || !PLAIN.contains(root.getClass())) {
      return root.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + m);
    }
    return m;
  }

  static String oneLine(String m) {
    if (m == null) {
      return "";
    }
    int nl = m.indexOf('\n');
    return (nl < 0 ? m : m.substring(0, nl)).strip();
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"qcal " + dev.qcal.jobs.QcalVersion.get()};
    }
  }
}
