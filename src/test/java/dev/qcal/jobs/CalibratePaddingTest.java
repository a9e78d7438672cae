package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.examples.Graph;
import dev.qcal.examples.Tokens;
import dev.qcal.io.StatsFiles;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --pad} on Parquet token rows of different true lengths (1 to 5), unpadded in the data, through a tiny
 * token model: {@code embeddings = Gather(W, input_ids) + Gather(T, token_type_ids)} with W's row 0 (the pad
 * id) at +-100, far outside the other rows ([0.1 i, -0.05 i] for id i), then a MatMul, the masked sum over
 * the sequence and a classifier MatMul. Excluded pads: the embedding statistics equal those of the FP32
 * model run by ONNX Runtime on each row alone; included pads: they hold W[0] + T[0] = (100, -100).
 */
class CalibratePaddingTest {
  @TempDir static Path tmp;
  static Path model;
  static Path data;
  static String embeddings;
  static String hidden;

  static final long[][] IDS = {{1, 2, 3}, {4, 5}, {9, 8, 7, 6, 5}, {2}, {3, 3, 7, 1}};
  static final long[][] TYPES = {{0, 0, 1}, {0, 1}, {0, 0, 0, 1, 1}, {1}, {1, 0, 0, 1}};
  static final List<String> PADS = List.of("--pad", "input_ids=0", "--pad", "attention_mask=0", "--pad",
      "token_type_ids=0");

  @BeforeAll
  static void setUp() throws Exception {
    SparkSession spark = SharedSpark.session();
    ModelProto m = build("seq", false);
    model = tmp.resolve("model.onnx");
    try (OutputStream out = Files.newOutputStream(model)) {
      m.writeTo(out);
    }
    // the oracle's copy: embeddings exposed as a second output
    ModelProto.Builder exposed = m.toBuilder();
    exposed.getGraphBuilder().addOutput(Graph.value(embeddings, TensorProto.DataType.FLOAT_VALUE, "batch", "seq", 2));
    try (OutputStream out = Files.newOutputStream(tmp.resolve("exposed.onnx"))) {
      exposed.build().writeTo(out);
    }
    List<Row> rows = new ArrayList<>();
    for (int r = 0; r < IDS.length; r++) {
      rows.add(RowFactory.create(TokenRows.list(IDS[r]), TokenRows.list(ones(IDS[r].length)), TokenRows.list(TYPES[r])));
    }
    StructType schema = new StructType()
        .add("input_ids", DataTypes.createArrayType(DataTypes.LongType, false), false)
        .add("attention_mask", DataTypes.createArrayType(DataTypes.LongType, false), false)
        .add("token_type_ids", DataTypes.createArrayType(DataTypes.LongType, false), false);
    data = tmp.resolve("tokens.parquet");
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(data.toString());
  }

  /**
   * The tiny token model, its sequence dimension {@code seq} (a symbol or a fixed size); with {@code folded},
   * the hidden activation is Reshaped to {@code [batch, seq * 2, 1]} before the pooling, an axis that
   * depends on the padded length without being it.
   */
  static ModelProto build(Object seq, boolean folded) {
    return build(seq, folded, false);
  }

  /** With {@code seqFirst}, the hidden states pass through a MatMul in sequence-first layout [seq, batch, 2]. */
  static ModelProto build(Object seq, boolean folded, boolean seqFirst) {
    Graph g = new Graph(13, 15);
    int int64 = TensorProto.DataType.INT64_VALUE;
    for (String in : List.of("input_ids", "attention_mask", "token_type_ids")) {
      g.input(in, int64, "batch", seq);
    }
    float[] w = new float[20];
    w[0] = 100;
    w[1] = -100;
    for (int i = 1; i < 10; i++) {
      w[2 * i] = 0.1f * i;
      w[2 * i + 1] = -0.05f * i;
    }
    String words = g.op("Gather", "words", List.of(g.constant("W", new long[] {10, 2}, w), "input_ids"));
    String types = g.op("Gather", "types", List.of(g.constant("T", new long[] {2, 2}, 0, 0, 0.5f, 0.25f),
        "token_type_ids"));
    embeddings = g.op("Add", "embeddings", List.of(words, types));
    hidden = g.op("MatMul", "hidden", List.of(embeddings, g.constant("P", new long[] {2, 2}, 1, 0.5f, -0.25f, 1)));
    String mask = g.op("Cast", "mask", List.of(g.unsqueeze("attention_mask", 2)),
        Graph.i("to", TensorProto.DataType.FLOAT_VALUE));
    String masked = g.op("Mul", "masked", List.of(hidden, mask));
    if (seqFirst) {
      String t = g.op("Transpose", "seq_first", List.of(masked), Graph.ints("perm", 1, 0, 2));
      String mixed = g.op("MatMul", "seq_mixed", List.of(t, g.constant("S", new long[] {2, 2}, 1, 0, 0, 1)));
      masked = g.op("Transpose", "batch_first", List.of(mixed), Graph.ints("perm", 1, 0, 2));
    }
    if (folded) {
      String flat = g.op("Reshape", "folded", List.of(masked, g.int64s("flat", 0, -1, 1)));
      masked = g.op("MatMul", "unfolded", List.of(flat, g.constant("U", new long[] {1, 2}, 1, 1)));
    }
    String pooled = g.op("ReduceSum", "pooled", List.of(masked, g.int64s("axis1", 1)), Graph.i("keepdims", 0));
    String logits = g.op("MatMul", "classifier", List.of(pooled, g.constant("C", new long[] {2, 3}, 1, 0, -1, 0.5f,
        1, 0.25f)));
    g.output(logits, "logits", TensorProto.DataType.FLOAT_VALUE, "batch", 3);
    return g.build("tiny_tokens");
  }

  private static Path write(String name, ModelProto m) throws Exception {
    Path p = tmp.resolve(name);
    try (OutputStream out = Files.newOutputStream(p)) {
      m.writeTo(out);
    }
    return p;
  }

  private static long[] ones(int n) {
    long[] a = new long[n];
    java.util.Arrays.fill(a, 1);
    return a;
  }


  private static StatsSet calibrate(String name, String... more) {
    return calibrate(model, name, more);
  }

  private static StatsSet calibrate(Path model, String name, String... more) {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data", data.toString(),
        "--out", out.toString()));
    args.addAll(List.of(more));
    Cli c = Cli.run(args.toArray(String[]::new));
    assertEquals(0, c.code(), c.err());
    return StatsFiles.read(out.toString(), new Configuration()).stats();
  }

  /** The oracle: the exposed model run by ONNX Runtime on each row alone, min and max over all rows. */
  private static TokenRows.Extremes perRowRange() throws Exception {
    List<Tokens.Pair> rows = new ArrayList<>();
    for (int r = 0; r < IDS.length; r++) {
      rows.add(new Tokens.Pair(IDS[r], ones(IDS[r].length), TYPES[r], IDS[r].length));
    }
    return TokenRows.oracle(tmp.resolve("exposed.onnx"), embeddings, rows);
  }

  @Test
  void paddedPositionsAreLeftOutOfTheStatistics() throws Exception {
    List<String> args = new ArrayList<>(PADS);
    StatsSet s = calibrate("excluded", args.toArray(String[]::new));
    TokenRows.Extremes oracle = perRowRange();
    TensorStats e = s.get(embeddings);
    assertEquals(oracle.min(), e.min());
    assertEquals(oracle.max(), e.max());
    assertEquals(oracle.count(), e.count(), "2 values per true position: 2 * (3 + 2 + 5 + 1 + 4)");
    assertEquals(30, e.count());
    // by hand: the largest first coordinate is id 6 of type 1 (0.6 + 0.5), the smallest second id 9 of type 0
    assertEquals(0.1f * 6 + 0.5f, e.max());
    assertEquals(-0.05f * 9, e.min());
  }

  @Test
  void padStatsIncludeCountsThePadPositions() {
    List<String> args = new ArrayList<>(PADS);
    args.addAll(List.of("--pad-stats", "include"));
    TensorStats e = calibrate("included", args.toArray(String[]::new)).get(embeddings);
    // one batch of 5 rows padded to 5: 25 positions, pads at W[0] + T[0] = (100, -100)
    assertEquals(100f, e.max());
    assertEquals(-100f, e.min());
    assertEquals(50, e.count());
  }

  /**
   * Which rows share a batch (and the length they are padded to) changes with --batch-size and the
   * partitioning; the statistics of position-wise activations do not.
   */
  @Test
  void statisticsDoNotDependOnBatchSizeOrPartitioning() {
    StatsSet one = calibrate("b1", withPads("--batch-size", "1"));
    StatsSet two = calibrate("b2", withPads("--batch-size", "2"));
    StatsSet parts = calibrate("p3", withPads("--batch-size", "3", "--partitions", "3"));
    for (String t : List.of(embeddings, hidden)) {
      assertEquals(one.get(t), two.get(t), t);
      assertEquals(one.get(t), parts.get(t), t);
    }
  }

  private static String[] withPads(String... more) {
    List<String> args = new ArrayList<>(PADS);
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  @Test
  void evaluateWithPadRunsOnTheSameRows() throws Exception {
    calibrate("for-eval", withPads());
    Path out = tmp.resolve("eval");
    Cli e = Cli.run("evaluate", "--fp32", model.toString(), "--quantized",
        tmp.resolve("for-eval/quantized.onnx").toString(), "--data", data.toString(), "--out", out.toString(),
        "--pad", "input_ids=0", "--pad", "attention_mask=0", "--pad", "token_type_ids=0");
    assertEquals(0, e.code(), e.err());
    String eval = Files.readString(out.resolve("eval.json"));
    assertTrue(eval.contains("\"samples\" : 5") || eval.contains("\"samples\":5"), eval);
  }

  @Test
  void withoutPadRowsOfDifferentLengthsStillCalibrateByShape() {
    TensorStats e = calibrate("unpadded").get(embeddings);
    assertEquals(30, e.count());
  }

  /** A model fixing the sequence at 6: rows of 1 to 5 tokens are padded to 6, pads left out as before. */
  @Test
  void rowsShorterThanAFixedDimensionArePaddedToIt() throws Exception {
    Path fixed = write("fixed.onnx", build(6L, false));
    Path out = tmp.resolve("fixed-unpadded");
    Cli.run("calibrate", "--model", fixed.toString(), "--data", data.toString(), "--out", out.toString())
        .assertBadInput(out, "row 0: 3 values do not fit input 'input_ids' with sample shape [6]");
    StatsSet s = calibrate(fixed, "fixed", withPads());
    assertEquals(calibrate("dynamic", withPads()).get(embeddings), s.get(embeddings));
    TensorStats included = calibrate(fixed, "fixed-included", withPads("--pad-stats", "include")).get(embeddings);
    assertEquals(2 * 6 * IDS.length, included.count(), "every row padded to the model's 6 positions");
    Path eval = tmp.resolve("fixed-eval");
    Cli e = Cli.run("evaluate", "--fp32", fixed.toString(), "--quantized", tmp.resolve("fixed/quantized.onnx").toString(),
        "--data", data.toString(), "--out", eval.toString(), "--pad", "input_ids=0,attention_mask=0,token_type_ids=0");
    assertEquals(0, e.code(), e.err());
  }

  /** Reshape to [batch, 2 * seq, 1]: an axis of twice the padded length, neither it nor constant. */
  @Test
  void anAxisThatDependsOnThePaddedLengthIsRefused() throws Exception {
    Path folded = write("folded.onnx", build("seq", true));
    Path out = tmp.resolve("folded-out");
    Cli.run("calibrate", "--model", folded.toString(), "--data", data.toString(), "--out", out.toString(), "--pad",
        "input_ids=0", "--pad", "attention_mask=0", "--pad", "token_type_ids=0")
        .assertBadInput(out, "--pad: cannot tell the padded positions of tensor 'folded", "--pad-stats include");
    calibrate(folded, "folded-included", withPads("--pad-stats", "include"));
  }

  /**
   * A sequence-first activation [seq, batch, 2] (as old PyTorch attention exports have): its first axis is the
   * padded one, not the batch; refused in one line before any data is read, and calibrated with the pads included.
   */
  @Test
  void aSequenceFirstActivationIsRefusedInOneLine() throws Exception {
    Path seqFirst = write("seq-first.onnx", build("seq", false, true));
    Path out = tmp.resolve("seq-first-out");
    Cli.run("calibrate", "--model", seqFirst.toString(), "--data", data.toString(), "--out", out.toString(), "--pad",
        "input_ids=0", "--pad", "attention_mask=0", "--pad", "token_type_ids=0")
        .assertBadInput(out, "--pad: cannot tell the padded positions of tensor 'seq_first",
            "its first axis runs over the padded length", "--pad-stats include");
    calibrate(seqFirst, "seq-first-included", withPads("--pad-stats", "include"));
  }

  /** Min/max-only passes (--histogram-bins 0, where pads are counted the reductions run inside ONNX Runtime). */
  @Test
  void minMaxOnlyPassesGiveTheSameRanges() {
    TensorStats excluded = calibrate("mm-excluded", withPads("--histogram-bins", "0")).get(embeddings);
    assertEquals(-0.05f * 9, excluded.min());
    assertEquals(0.1f * 6 + 0.5f, excluded.max());
    assertEquals(30, excluded.count());
    TensorStats included = calibrate("mm-included", withPads("--histogram-bins", "0", "--pad-stats", "include"))
        .get(embeddings);
    assertEquals(-100f, included.min());
    assertEquals(100f, included.max());
    assertEquals(50, included.count());
  }

  @Test
  void paddedInputsOfDifferentTrueLengthsAreABadRecord() throws Exception {
    List<Row> rows = List.of(RowFactory.create(TokenRows.list(new long[] {1, 2}), TokenRows.list(ones(2)), TokenRows.list(new long[] {0, 0})),
        RowFactory.create(TokenRows.list(new long[] {1, 2, 3}), TokenRows.list(ones(2)), TokenRows.list(new long[] {0, 0, 0})));
    StructType schema = new StructType()
        .add("input_ids", DataTypes.createArrayType(DataTypes.LongType, false), false)
        .add("attention_mask", DataTypes.createArrayType(DataTypes.LongType, false), false)
        .add("token_type_ids", DataTypes.createArrayType(DataTypes.LongType, false), false);
    Path bad = tmp.resolve("uneven.parquet");
    SharedSpark.session().createDataFrame(rows, schema).coalesce(1).write().parquet(bad.toString());
    Path out = tmp.resolve("uneven-out");
    Cli.run(withPadsOn(bad, out)).assertBadInput(out, "row 1: padded inputs 'input_ids' and 'attention_mask' have"
        + " different true lengths [3] and [2]");
    List<String> skip = new ArrayList<>(List.of(withPadsOn(bad, out)));
    skip.addAll(List.of("--on-bad-record", "skip"));
    Cli c = Cli.run(skip.toArray(String[]::new));
    assertEquals(0, c.code(), c.err());
    assertTrue(Files.readString(out.resolve("run.json")).contains("shape_mismatch"));
  }

  private static String[] withPadsOn(Path data, Path out) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data", data.toString(),
        "--out", out.toString()));
    args.addAll(PADS);
    return args.toArray(String[]::new);
  }

  @Test
  void badPadOptionsExitTwoWritingNothing() {
    Path out = tmp.resolve("bad");
    String[] base = {"calibrate", "--model", model.toString(), "--data", data.toString(), "--out", out.toString()};
    bad(base, List.of("--pad", "nope=0"), out, "--pad nope: the model has no input 'nope'");
    bad(base, List.of("--pad", "input_ids=zero"), out, "--pad input_ids=zero: 'zero' is not a number");
    bad(base, List.of("--pad", "input_ids=1.5"), out, "--pad input_ids=1.5: '1.5' is not an integer");
    bad(base, List.of("--pad", "input_ids"), out, "--pad 'input_ids': expected NAME=VALUE");
    bad(base, List.of("--pad", "input_ids=0", "--pad-stats", "some"), out, "--pad-stats must be exclude or include");
  }

  private static void bad(String[] base, List<String> more, Path out, String fragment) {
    List<String> args = new ArrayList<>(List.of(base));
    args.addAll(more);
    Cli.run(args.toArray(String[]::new)).assertBadInput(out, fragment);
  }
}
