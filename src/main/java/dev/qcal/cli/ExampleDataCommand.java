package dev.qcal.cli;

import dev.qcal.examples.TextLines;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code qcal example-data}: renders the example's labelled text-line data set as .npy files. */
@Command(
    name = "example-data",
    mixinStandardHelpOptions = true,
    description = {"Renders text lines (half rotated 180 degrees) for the example text-direction classifier:",
        "DIR/x/part-*.npy float32 [n,3,48,192] and DIR/labels.npy (0 = 0 degrees, 1 = 180 degrees)."})
public final class ExampleDataCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
  Path out;

  @Option(names = "--count", defaultValue = "512", description = "Number of lines (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--seed", defaultValue = "1", description = "Seed; the same seed renders the same lines.")
  long seed;

  @Option(names = "--per-file", defaultValue = "64", description = "Lines per .npy file (default: ${DEFAULT-VALUE}).")
  int perFile;

  @Override
  public Integer call() throws IOException {
    if (count < 1 || perFile < 1) {
      throw new UsageException("--count and --per-file must be >= 1");
    }
    TextLines.writeDataset(out, count, seed, perFile);
    spec.commandLine().getOut().println("qcal: wrote " + count + " lines (seed " + seed + ") to " + out.resolve("x")
        + " and labels to " + out.resolve("labels.npy"));
    return Main.OK;
  }
}
