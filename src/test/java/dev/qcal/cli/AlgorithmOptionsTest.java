package dev.qcal.cli;

import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** calibrate's options beyond range setting: combinations and values it refuses, in one line, before Spark starts. */
class AlgorithmOptionsTest {
  @TempDir Path tmp;

  private Cli calibrate(Path out, String... more) {
    String[] base = {"calibrate", "--model", ExampleData.MODEL.toString(), "--data", tmp.resolve("none").toString(),
        "--out", out.toString()};
    String[] args = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, args, base.length, more.length);
    return Cli.run(args);
  }

  @Test
  void anAlphaWithoutSmoothQuantIsRefused() {
    Path out = tmp.resolve("out");
    calibrate(out, "--smooth-alpha", "0.5").assertBadInput(out, "--smooth-alpha needs --smooth-quant");
  }

  @Test
  void anAlphaOutsideZeroToOneIsRefused() {
    Path out = tmp.resolve("out");
    calibrate(out, "--smooth-quant", "--smooth-alpha", "1.5").assertBadInput(out, "--smooth-alpha must be in [0, 1]",
        "1.5");
    calibrate(out, "--smooth-quant", "--smooth-alpha", "NaN").assertBadInput(out, "--smooth-alpha must be in [0, 1]");
  }

  @Test
  void anUnknownWeightAlgorithmIsRefusedNamingTheChoices() {
    Path out = tmp.resolve("out");
    calibrate(out, "--weight-algorithm", "awq").assertBadInput(out, "--weight-algorithm must be rtn or gptq",
        "'awq'");
  }
}
