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

  /** The first line of standard error. */
  public String errorLine() {
    return err.lines().findFirst().orElse("");
  }
}
