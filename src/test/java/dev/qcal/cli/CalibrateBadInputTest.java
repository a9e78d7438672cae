package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.data.Npy;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Bad input: one clear line naming the file and expected vs actual, exit code 2, no output left. */
@ExtendWith(SharedSpark.class)
class CalibrateBadInputTest {
  @TempDir Path tmp;
  static String model = ExampleData.MODEL.toString();

  @BeforeAll
  static void spark(SparkSession spark) {
    // the shared session is active: commands reuse it instead of starting their own
  }

  private Path out() {
    return tmp.resolve("out");
  }

  private void assertBadInput(Cli r, String... fragments) {
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    String line = r.errorLine();
    assertTrue(line.startsWith("qcal: error: "), line);
    for (String f : fragments) {
      assertTrue(line.contains(f), "'" + line + "' should contain '" + f + "'");
    }
    assertEquals(1, r.err().lines().count(), "one line only: " + r.err());
    assertFalse(Files.exists(out()), "no output directory may be left behind");
    assertNoTempSiblings();
  }

  private void assertNoTempSiblings() {
    try (Stream<Path> s = Files.list(tmp)) {
      List<String> left = s.map(p -> p.getFileName().toString()).filter(n -> n.contains("qcal-tmp")).toList();
      assertTrue(left.isEmpty(), "temporary outputs left: " + left);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void missingModel() {
    Path missing = tmp.resolve("nope.onnx");
    assertBadInput(Cli.run("calibrate", "--model", missing.toString(), "--data",
        ExampleData.small().resolve("x").toString(), "--out", out().toString()), "model not found", missing.toString());
  }

  @Test
  void directoryAsModel() {
    assertBadInput(Cli.run("calibrate", "--model", tmp.toString(), "--data",
        ExampleData.small().resolve("x").toString(), "--out", out().toString()),
        "--model: " + tmp + " is a directory, expected an .onnx model file");
  }

  @Test
  void modelThatIsNotOnnx() throws Exception {
    Path text = tmp.resolve("model.onnx");
    Files.writeString(text, "this is not a model\n");
    assertBadInput(Cli.run("calibrate", "--model", text.toString(), "--data",
        ExampleData.small().resolve("x").toString(), "--out", out().toString()), text.toString(), "not an ONNX model");
  }

  @Test
  void missingData() {
    Path missing = tmp.resolve("no-such-data");
    assertBadInput(Cli.run("calibrate", "--model", model, "--data", missing.toString(), "--out", out().toString()),
        "data not found", missing.toString());
  }

  @Test
  void dataThatIsNotNpy() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("d"));
    Path bad = dir.resolve("a.npy");
    Files.writeString(bad, "garbage that is long enough to hold a header, but is not one");
    assertBadInput(Cli.run("calibrate", "--model", model, "--data", dir.toString(), "--out", out().toString()),
        "a.npy", "not a .npy file");
  }

  @Test
  void arrayShapeThatDoesNotFitTheInput() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("gray"));
    Path f = dir.resolve("part-0.npy");
    Npy.writeFloat32(f, new float[4 * 1 * 48 * 192], new long[] {4, 1, 48, 192});
    assertBadInput(Cli.run("calibrate", "--model", model, "--data", dir.toString(), "--out", out().toString()),
        "part-0.npy", "[1, 48, 192]", "does not fit input 'x' [N,3,?,?]");
  }

  @Test
  void existingOutputWithoutOverwriteIsLeftAlone() throws Exception {
    Path marker = Files.createDirectories(out()).resolve("keep.txt");
    Files.writeString(marker, "earlier output");
    Cli r = Cli.run("calibrate", "--model", model, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out().toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains("already exists") && r.errorLine().contains("--overwrite"), r.errorLine());
    assertEquals("earlier output", Files.readString(marker));
  }

  @Test
  void failedOverwriteKeepsTheEarlierGoodOutput() throws Exception {
    Path marker = Files.createDirectories(out()).resolve("keep.txt");
    Files.writeString(marker, "earlier output");
    // an earlier calibrate output (its _SUCCESS marker lists keep.txt), so --overwrite gets as far as the data
    Files.writeString(out().resolve("_SUCCESS"),
        "{\"format\":\"qcal.output\",\"format_version\":1,\"command\":\"calibrate\",\"files\":[\"keep.txt\"]}");
    Path dir = Files.createDirectories(tmp.resolve("gray"));
    Npy.writeFloat32(dir.resolve("p.npy"), new float[2 * 1 * 48 * 192], new long[] {2, 1, 48, 192});
    Cli r = Cli.run("calibrate", "--model", model, "--data", dir.toString(), "--out", out().toString(), "--overwrite");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains("p.npy"), r.errorLine());
    assertEquals("earlier output", Files.readString(marker));
    assertNoTempSiblings();
  }

  @Test
  void batchSizeBeyondAnyBufferIsRefusedBeforeSparkRuns() {
    // a batch of one input is one direct buffer of at most 2^31-1 bytes and a sample has >= 1 float
    long max = (Integer.MAX_VALUE / 4);
    assertBadInput(Cli.run("calibrate", "--model", model, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out().toString(), "--batch-size", "2147483647"),
        "--batch-size must be in [1, " + max + "]", "got 2147483647");
  }

  @Test
  void batchSizeTooLargeForTheSamplesNamesTheFigures() {
    // the example's samples are [3, 48, 192] floats
    long values = 3 * 48 * 192;
    long bytes = values * 100_000 * 4;
    assertBadInput(Cli.run("calibrate", "--model", model, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out().toString(), "--batch-size", "100000"),
        "--batch-size 100000: a batch of samples of [3, 48, 192] (" + values + " values", "takes " + bytes + " bytes",
        "--batch-size must be in [1, " + (Integer.MAX_VALUE / 4) / values + "] for this data");
  }

  @Test
  void channelAxisBeyondTheRankIsRefusedBeforeThePass() {
    // the input x of the example is [N, 3, 48, 192]: rank 4, axes 0..3
    assertBadInput(Cli.run("calibrate", "--model", model, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out().toString(), "--channel-axis", "x=7"),
        "--channel-axis x=7: tensor 'x' has rank 4 (shape [1, 3, 48, 192] for one sample), so AXIS must be in [-1, 3]");
  }

  @Test
  void channelAxisOfATensorTheModelLacksIsRefused() {
    assertBadInput(Cli.run("calibrate", "--model", model, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out().toString(), "--channel-axis", "nosuchtensor=1"),
        "--channel-axis nosuchtensor=1: the model has no calibrated tensor 'nosuchtensor' (90 tensors are calibrated");
  }

  @Test
  void channelHistogramsTooLargeForTheHeapAreRefusedBeforeThePass() {
    // 2^20 longs (8 MiB) per channel of every 4-D activation of the example: far more than any test heap
    assertBadInput(Cli.run("calibrate", "--model", model, "--data", ExampleData.small().resolve("x").toString(),
        "--out", out().toString(), "--channel-histogram-bins", "1048576"),
        "the statistics state of 90 tensors", "per copy; the driver (local[2]: 2 task slots x 2, and 2 for the final"
            + " merge) holds 6 copies at once", "lower --channel-histogram-bins 1048576");
  }

  @Test
  void missingDatabaseOrTableIsNamed() {
    assertBadInput(Cli.run("calibrate", "--model", model, "--table", "nodb.notable", "--out", out().toString()),
        "--table nodb.notable: no database 'nodb' (databases: default)");
    assertBadInput(Cli.run("calibrate", "--model", model, "--table", "default.notable", "--out", out().toString()),
        "--table default.notable: no such table or view in database 'default'");
  }

  @Test
  void unknownOptionIsAUsageError() {
    Cli r = Cli.run("calibrate", "--model", model, "--data", "x", "--out", out().toString(), "--bogus");
    assertEquals(Main.BAD_INPUT, r.code());
    assertTrue(r.errorLine().contains("--bogus"), r.errorLine());
  }
}
