package dev.qcal.cli;

import dev.qcal.data.DataException;
import dev.qcal.io.OutputException;
import dev.qcal.model.ModelException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code qcal}: post-training quantization calibration for ONNX models on Apache Spark. */
@Command(
    name = "qcal",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Post-training quantization calibration for ONNX models on Apache Spark.",
    subcommands = {CalibrateCommand.class, QuantizeCommand.class, EvaluateCommand.class, ReportCommand.class, InspectCommand.class,
        ExampleDataCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  /** Exit codes: success, bad input or usage, failure while running. */
  public static final int OK = 0;
  public static final int BAD_INPUT = 2;
  public static final int FAILURE = 3;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command (calibrate, quantize, evaluate, report, inspect, example-data)");
  }

  public static void main(String[] args) {
    System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs the command line and returns the exit code (used by tests instead of {@link #main}). */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new Main());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      Throwable cause = userError(ex);
      if (cause != null) {
        err.println("qcal: error: " + oneLine(cause.getMessage()));
        return BAD_INPUT;
      }
      err.println("qcal: failed: " + oneLine(String.valueOf(ex.getMessage())));
      ex.printStackTrace(err);
      return FAILURE;
    });
    cl.setParameterExceptionHandler((ex, a) -> {
      err.println("qcal: error: " + oneLine(ex.getMessage()));
      ex.getCommandLine().usage(err);
      return BAD_INPUT;
    });
    try {
      // command line > spark.qcal.* > conf/qcal-defaults.conf > constants; unknown keys are errors
      cl.setDefaultValueProvider(QcalDefaults.load(cl));
    } catch (UsageException e) {
      err.println("qcal: error: " + oneLine(e.getMessage()));
      return BAD_INPUT;
    }
    return cl.execute(args);
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
