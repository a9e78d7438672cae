package dev.qcal.testing;

import dev.qcal.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the qcal command line in-process and keeps its exit code and output. */
public record Cli(int code, String out, String err) {
  public static Cli run(String... args) {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    int code = Main.execute(args, new PrintWriter(o, true), new PrintWriter(e, true));
    return new Cli(code, o.toString(), e.toString());
  }

  /**
   * Asserts the run failed as bad input (exit 2) with a first error line holding every fragment, and
   * that {@code out} was not written.
   */
  public void assertBadInput(java.nio.file.Path out, String... fragments) {
    org.junit.jupiter.api.Assertions.assertEquals(Main.BAD_INPUT, code, err);
    for (String f : fragments) {
      org.junit.jupiter.api.Assertions.assertTrue(errorLine().contains(f),
          "'" + errorLine() + "' should contain '" + f + "'");
    }
    org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(out), "nothing written");
  }

  /** The first line of standard error. */
  public String errorLine() {
    return err.lines().findFirst().orElse("");
  }
}
