package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import dev.qcal.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad data that crashed, hung or misled (issue 22 D): each is one line naming the file, input or
 * option and what was expected, exit 2, nothing written.
 */
@ExtendWith(SharedSpark.class)
class CalibrateDataErrorsTest {
  static final String MODEL = ExampleData.MODEL.toString();
  static final String PREPROCESS = "jobs/ppocr-cls-preprocess.json";
  /** A hang guard only: each run takes seconds; a hang would block the suite forever. */
  static final Duration HANG_GUARD = Duration.ofSeconds(120);
  @TempDir Path tmp;

  @BeforeAll
  static void spark(SparkSession spark) {
    // the shared session is active: commands reuse it instead of starting their own
  }

  private Path out() {
    return tmp.resolve("out");
  }

  private Cli calibrate(String... args) {
    String[] all = new String[args.length + 5];
    all[0] = "calibrate";
    all[1] = "--out";
    all[2] = out().toString();
    all[3] = "--sample-shape";
    all[4] = "x=3,48,192";
    System.arraycopy(args, 0, all, 5, args.length);
    return Cli.run(all);
  }

  private void assertBadInput(Cli r, String... fragments) {
    r.assertBadInput(out(), fragments);
    assertTrue(r.errorLine().startsWith("qcal: error: "), r.errorLine());
    assertEquals(1, r.err().lines().count(), "one line only: " + r.err());
  }

  @Test
  void garbageParquetFileIsNamed() throws Exception {
    Path f = tmp.resolve("x.parquet");
    byte[] garbage = new byte[4096];
    new Random(7).nextBytes(garbage);
    Files.write(f, garbage);
    assertBadInput(calibrate("--model", MODEL, "--data", f.toString()), f.toString(), "not a Parquet file");
  }

  @Test
  void hugeImageIsRefusedBeforeDecodingNamingTheLimit() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("images"));
    Path big = dir.resolve("big.png");
    Files.write(big, TestImages.pngHeader(30000, 30000));
    assertBadInput(calibrate("--model", MODEL, "--data", dir.toString(), "--preprocess", PREPROCESS),
        "big.png", "30000x30000", "67108864 pixels");
  }

  private static void mkfifo(Path p) throws Exception {
    Process proc = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
    assertEquals(0, proc.waitFor(), new String(proc.getInputStream().readAllBytes()));
  }

  @Test
  void fifoInADataFolderIsRefusedNotReadForever() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("fifo-data"));
    Files.copy(ExampleData.small().resolve("x").resolve(Files.list(ExampleData.small().resolve("x"))
        .map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".npy")).sorted().findFirst().orElseThrow()),
        dir.resolve("0.npy"));
    Path fifo = dir.resolve("a.npy");
    mkfifo(fifo);
    Cli r = assertTimeoutPreemptively(HANG_GUARD, () -> calibrate("--model", MODEL, "--data", dir.toString()));
    assertBadInput(r, fifo.toString(), "not a regular file");
  }

  @Test
  void fifoGivenAsDataIsRefused() throws Exception {
    Path fifo = tmp.resolve("b.npy");
    mkfifo(fifo);
    Cli r = assertTimeoutPreemptively(HANG_GUARD, () -> calibrate("--model", MODEL, "--data", fifo.toString()));
    assertBadInput(r, fifo.toString(), "not a regular file");
  }

  @Test
  void preprocessWithNpyDataIsRefused() {
    String data = ExampleData.small().resolve("x").toString();
    assertBadInput(calibrate("--model", MODEL, "--data", data, "--preprocess", PREPROCESS),
        "--preprocess applies to image data only", data);
  }

  @Test
  void negativeInputDimensionIsABadModel() throws Exception {
    ValueInfoProto in = TestGraphs.batchInput("x", 4);
    TensorShapeProto.Builder shape = in.getType().getTensorType().getShape().toBuilder();
    shape.setDim(1, TensorShapeProto.Dimension.newBuilder().setDimValue(-5));
    in = in.toBuilder().setType(in.getType().toBuilder().setTensorType(
        in.getType().getTensorType().toBuilder().setShape(shape))).build();
    ModelProto m = TestGraphs.model(13, List.of(TestGraphs.node("Relu", "r", List.of("x"), List.of("y"))),
        List.of(in), List.of(TestGraphs.floatInfo("y")), List.of());
    Path model = tmp.resolve("neg.onnx");
    OnnxModels.save(m, model);
    Path data = tmp.resolve("d/0.npy");
    Files.createDirectories(data.getParent());
    Npy.writeFloat32(data, new float[8], new long[] {2, 4});
    assertBadInput(Cli.run("calibrate", "--model", model.toString(), "--data", data.toString(), "--out",
        out().toString()), model.toString(), "input 'x' dimension 1 is -5");
  }

  @Test
  void sqlSyntaxErrorGivesSparksReason() {
    assertBadInput(calibrate("--model", MODEL, "--query", "SELEC x FROM nowhere"), "SELEC x FROM nowhere",
        "Syntax error", "'SELEC'");
  }

  @Test
  void truncatedNpzNamesTheFileAndTheReason() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("npz"));
    Path f = dir.resolve("0.npz");
    // a zip local file header (30 bytes) announcing a 10-byte entry name, cut after 3 bytes of it
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(33).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) 0).putInt(0).putInt(0)
        .putInt(0).putInt(0).putShort((short) 10).putShort((short) 0).put(new byte[] {'x', '.', 'n'});
    Files.write(f, b.array());
    Cli r = calibrate("--model", MODEL, "--data", dir.toString());
    assertBadInput(r, f.getFileName().toString(), "not a readable .npz (zip) archive");
    assertTrue(!r.errorLine().contains("null"), r.errorLine());
  }

  @Test
  void oneUnnamedNpyPathForATwoInputModelNamesTheInputs() throws Exception {
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "ma", List.of("a", "wa"), List.of("ya")),
            TestGraphs.node("MatMul", "mb", List.of("b", "wb"), List.of("yb")),
            TestGraphs.node("Add", "add", List.of("ya", "yb"), List.of("out"))),
        List.of(TestGraphs.batchInput("a", 4), TestGraphs.batchInput("b", 3)),
        List.of(TestGraphs.floatInfo("out")),
        List.of(TestGraphs.floatTensor("wa", new long[] {4, 2}, TestGraphs.randomFloats(8, 1)),
            TestGraphs.floatTensor("wb", new long[] {3, 2}, TestGraphs.randomFloats(6, 2))));
    Path model = tmp.resolve("two.onnx");
    OnnxModels.save(m, model);
    Path data = tmp.resolve("a/0.npy");
    Files.createDirectories(data.getParent());
    Npy.writeFloat32(data, new float[8], new long[] {2, 4});
    assertBadInput(Cli.run("calibrate", "--model", model.toString(), "--data", data.getParent().toString(),
        "--out", out().toString()), "model inputs 'a', 'b'", "--data a=PATH --data b=PATH");
  }
}
