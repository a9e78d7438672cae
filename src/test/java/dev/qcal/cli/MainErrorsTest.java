package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.Cli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Usage errors and unexpected failures: one line each (and a pointer), the stack trace only with --verbose. */
class MainErrorsTest {
  /** A subcommand that fails the way a read-only --out does: an I/O exception wrapped twice. */
  @Command(name = "boom")
  static final class Boom implements Callable<Integer> {
    @Override
    public Integer call() {
      throw new IllegalStateException("writing the output failed",
          new UncheckedIOException(new AccessDeniedException("/data/out/run.json")));
    }
  }

  /** A subcommand whose heap runs out on the driver: an Error, which picocli does not handle. */
  @Command(name = "oom")
  static final class Oom implements Callable<Integer> {
    @Override
    public Integer call() {
      throw new OutOfMemoryError("Java heap space");
    }
  }

  private static Cli runWithBoom(String... args) {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    CommandLine cl = new CommandLine(new Main()).addSubcommand("boom", new Boom()).addSubcommand("oom", new Oom());
    int code = Main.execute(cl, args, new PrintWriter(o, true), new PrintWriter(e, true));
    return new Cli(code, o.toString(), e.toString());
  }

  @Test
  void unknownOptionPrintsTheErrorAndOneLinePointingAtHelp() {
    Cli r = Cli.run("inspect", "--model", "m.onnx", "--bogus");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertEquals(List.of("qcal: error: Unknown option: '--bogus'",
        "Try 'qcal inspect --help' for more information."), r.err().lines().toList());
  }

  @Test
  void badOptionValuePrintsTheErrorAndOneLinePointingAtHelp() {
    Cli r = Cli.run("calibrate", "--model", "m.onnx", "--data", "d", "--out", "o", "--batch-size", "many");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    List<String> lines = r.err().lines().toList();
    assertEquals(2, lines.size(), r.err());
    assertTrue(lines.get(0).startsWith("qcal: error: ") && lines.get(0).contains("--batch-size")
        && lines.get(0).contains("many"), lines.get(0));
    assertEquals("Try 'qcal calibrate --help' for more information.", lines.get(1));
  }

  @Test
  void missingCommandPointsAtTheTopLevelHelp() {
    Cli r = Cli.run();
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertEquals("Try 'qcal --help' for more information.", r.err().lines().toList().get(1));
    assertEquals(2, r.err().lines().count(), r.err());
  }

  @Test
  void failurePrintsOneLineNamingTheRootCauseAndAHint() {
    Cli r = runWithBoom("boom");
    assertEquals(Main.FAILURE, r.code(), r.err());
    assertEquals(List.of("qcal: failed: AccessDeniedException: /data/out/run.json",
        "(run with --verbose for the stack trace)"), r.err().lines().toList());
  }

  @Test
  void anErrorIsAFailureToo() {
    Cli r = runWithBoom("oom");
    assertEquals(Main.FAILURE, r.code(), r.err());
    assertEquals(List.of("qcal: failed: OutOfMemoryError: Java heap space", "(run with --verbose for the stack trace)"),
        r.err().lines().toList());
  }

  @Test
  void verboseAddsTheStackTraceOnEverySubcommand() {
    for (String[] args : List.of(new String[] {"boom", "--verbose"}, new String[] {"--verbose", "boom"})) {
      Cli r = runWithBoom(args);
      assertEquals(Main.FAILURE, r.code(), r.err());
      assertEquals("qcal: failed: AccessDeniedException: /data/out/run.json", r.errorLine());
      assertTrue(r.err().contains("java.lang.IllegalStateException: writing the output failed"), r.err());
      assertTrue(r.err().contains("\tat dev.qcal.cli.MainErrorsTest$Boom.call"), r.err());
      assertTrue(r.err().contains("Caused by: java.nio.file.AccessDeniedException: /data/out/run.json"), r.err());
      assertFalse(r.err().contains("--verbose for the stack trace"), r.err());
    }
  }

  @Test
  void verboseIsAnOptionOfEveryCommand() {
    CommandLine cl = new CommandLine(new Main());
    for (CommandLine sub : cl.getSubcommands().values()) {
      if (!sub.getCommandName().equals("help")) {
        assertTrue(sub.getCommandSpec().findOption("--verbose") != null, sub.getCommandName());
      }
    }
  }

  @Test
  void failureLineNamesTheClassOnlyWhenItHelps() {
    assertEquals("disk quota exceeded", Main.failure(new RuntimeException(new java.io.IOException("disk quota exceeded"))));
    assertEquals("NullPointerException", Main.failure(new IllegalStateException(new NullPointerException())));
    assertEquals("UnknownHostException: namenode", Main.failure(new java.net.UnknownHostException("namenode")));
    assertEquals("first line", Main.failure(new IllegalStateException("first line\n\tsecond")));
  }
}
