package dev.qcal.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.examples.TextLines;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.OutputException;
import dev.qcal.io.OutputGuard;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code qcal example-data}: renders the example's labelled text-line data set as .npy files. */
@Command(
    name = "example-data",
    mixinStandardHelpOptions = true,
    description = {"Renders text lines (half rotated 180 degrees) for the example text-direction classifier:",
        "DIR/x/part-*.npy float32 [n,3,48,192] and DIR/labels.npy (0 = 0 degrees, 1 = 180 degrees).",
        "DIR must be new or empty (atomically, _SUCCESS last); one holding these very lines is left as it is."})
public final class ExampleDataCommand implements Callable<Integer> {
  static final String COMMAND = "example-data";

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
    Configuration conf = new Configuration();
    String target = "file:" + out.toAbsolutePath().normalize();
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw new OutputException(out + ": exists and is not a directory; example-data writes a new directory");
    }
    if (Files.isDirectory(out) && !isEmpty(out)) {
      if (holdsTheseLines(target, conf)) {
        spec.commandLine().getOut().println("qcal: " + out + " already holds these " + count + " lines (seed " + seed
            + "); nothing written");
        return Main.OK;
      }
      throw new OutputException(out + ": exists and is not empty; example-data writes only into a new or empty"
          + " directory (remove it or choose another --out)");
    }
    OutputGuard.check(COMMAND, target, true, QcalDefaults.inputs(), conf); // true: an empty directory is replaced
    try (AtomicOutput o = AtomicOutput.begin(target, COMMAND, true, conf)) {
      o.note("count", count).note("seed", seed).note("per_file", perFile);
      TextLines.writeDataset(o.dir(), count, seed, perFile);
      o.commit();
    }
    spec.commandLine().getOut().println("qcal: wrote " + count + " lines (seed " + seed + ") to " + out.resolve("x")
        + " and labels to " + out.resolve("labels.npy"));
    return Main.OK;
  }

  private static boolean isEmpty(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    }
  }

  /** Whether {@code target} is an earlier example-data output of the same count, seed and lines per file. */
  private boolean holdsTheseLines(String target, Configuration conf) {
    JsonNode m = AtomicOutput.marker(target, conf);
    JsonNode n = m == null ? null : m.path("notes");
    return n != null && COMMAND.equals(m.path("command").asText()) && n.path("count").asLong(-1) == count
        && n.path("seed").isIntegralNumber() && n.path("seed").asLong() == seed && n.path("per_file").asLong(-1) == perFile;
  }
}
