package dev.qcal.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.examples.TextLines;
import dev.qcal.examples.TinyBert;
import dev.qcal.examples.Tokens;
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

/**
 * {@code qcal example-data}: renders the example's labelled text-line data set as .npy files, or writes the NLP
 * example (a BERT-style classifier and its token tables).
 */
@Command(
    name = "example-data",
    mixinStandardHelpOptions = true,
    description = {"Writes the data of the bundled examples into --out: labelled text lines for the text-direction"
        + " classifier, or the NLP example's model and token tables.",
        "--kind lines (default): renders text lines (half rotated 180 degrees) for the example text-direction"
        + " classifier: DIR/x/part-*.npy float32 [n,3,48,192] and DIR/labels.npy (0 = 0 degrees, 1 = 180 degrees).",
        "--kind bert: DIR/model.onnx, a BERT-style classifier (random weights, opset 17, int64 inputs input_ids,"
        + " attention_mask, token_type_ids [batch, seq]), and DIR/tokens.parquet (--count rows) and"
        + " DIR/eval.parquet (--eval-count rows): columns input_ids, attention_mask, token_type_ids of"
        + " array<long>, sentence pairs of varying true length padded with 0 (mask 0) to --seq-length.",
        "DIR must be new or empty (atomically, _SUCCESS last); one holding this very data is left as it is."})
public final class ExampleDataCommand implements Callable<Integer> {
  static final String COMMAND = "example-data";

  @Spec CommandSpec spec;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
  Path out;

  @Option(names = "--kind", defaultValue = "lines", paramLabel = "lines|bert",
      description = "What to write (default: ${DEFAULT-VALUE}).")
  String kind;

  @Option(names = "--count", defaultValue = "512",
      description = "Number of lines, or of calibration token rows (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--seed", defaultValue = "1",
      description = "Seed; the same seed renders the same lines or token rows (evaluation rows: seed + 1).")
  long seed;

  @Option(names = "--per-file", defaultValue = "64", description = "Lines per .npy file (default: ${DEFAULT-VALUE}).")
  int perFile;

  @Option(names = "--eval-count", defaultValue = "128",
      description = "--kind bert: evaluation token rows (default: ${DEFAULT-VALUE}).")
  int evalCount;

  @Option(names = "--seq-length", defaultValue = "32",
      description = "--kind bert: padded sequence length, " + Tokens.MIN_LENGTH + " to " + TinyBert.MAX_POSITIONS
          + " (default: ${DEFAULT-VALUE}).")
  int seqLength;

  @Override
  public Integer call() throws IOException {
    if (count < 1 || perFile < 1) {
      throw new UsageException("--count and --per-file must be >= 1");
    }
    if (!kind.equals("lines") && !kind.equals("bert")) {
      throw new UsageException("--kind must be lines or bert, got '" + kind + "'");
    }
    boolean bert = kind.equals("bert");
    if (bert && (evalCount < 1 || seqLength < Tokens.MIN_LENGTH || seqLength > TinyBert.MAX_POSITIONS)) {
      throw new UsageException("--eval-count must be >= 1 and --seq-length in [" + Tokens.MIN_LENGTH + ", "
          + TinyBert.MAX_POSITIONS + "], got " + evalCount + " and " + seqLength);
    }
    Configuration conf = new Configuration();
    String target = "file:" + out.toAbsolutePath().normalize();
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw new OutputException(out + ": exists and is not a directory; example-data writes a new directory");
    }
    if (Files.isDirectory(out) && !isEmpty(out)) {
      if (holdsThisData(target, conf)) {
        spec.commandLine().getOut().println("qcal: " + out + " already holds " + (bert ? "this BERT example" : "these "
            + count + " lines") + " (seed " + seed + "); nothing written");
        return Main.OK;
      }
      throw new OutputException(out + ": exists and is not empty; example-data writes only into a new or empty"
          + " directory (remove it or choose another --out)");
    }
    OutputGuard.check(COMMAND, target, true, QcalDefaults.inputs(), conf); // true: an empty directory is replaced
    try (AtomicOutput o = AtomicOutput.begin(target, COMMAND, true, conf)) {
      o.note("count", count).note("seed", seed);
      if (bert) {
        o.note("kind", kind).note("eval_count", evalCount).note("seq_length", seqLength);
        BertExample.write(o.dir(), count, evalCount, seed, seqLength);
      } else {
        o.note("per_file", perFile);
        TextLines.writeDataset(o.dir(), count, seed, perFile);
      }
      o.commit();
    }
    if (bert) {
      spec.commandLine().getOut().println("qcal: wrote " + out.resolve(BertExample.MODEL) + " and " + count
          + " token rows to " + out.resolve(BertExample.TOKENS) + ", " + evalCount + " to "
          + out.resolve(BertExample.EVAL) + " (seed " + seed + ", sequence length " + seqLength + ")");
    } else {
      spec.commandLine().getOut().println("qcal: wrote " + count + " lines (seed " + seed + ") to " + out.resolve("x")
          + " and labels to " + out.resolve("labels.npy"));
    }
    return Main.OK;
  }

  private static boolean isEmpty(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    }
  }

  /** Whether {@code target} is an earlier example-data output of the same kind and options. */
  private boolean holdsThisData(String target, Configuration conf) {
    JsonNode m = AtomicOutput.marker(target, conf);
    JsonNode n = m == null ? null : m.path("notes");
    if (n == null || !COMMAND.equals(m.path("command").asText()) || n.path("count").asLong(-1) != count
        || !n.path("seed").isIntegralNumber() || n.path("seed").asLong() != seed
        || !n.path("kind").asText("lines").equals(kind)) {
      return false;
    }
    return kind.equals("bert")
        ? n.path("eval_count").asLong(-1) == evalCount && n.path("seq_length").asLong(-1) == seqLength
        : n.path("per_file").asLong(-1) == perFile;
  }
}
