package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.examples.Graph;
import dev.qcal.examples.TinyBert;
import dev.qcal.examples.Tokens;
import dev.qcal.io.StatsFiles;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import dev.qcal.testing.Cli;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tensor without a batch axis under {@code --mask} and {@code --pad}: {@link TinyBert}'s position embeddings
 * (a Gather of position ids {@code [1, seq]}: {@code [1, seq, H]}, broadcast against the word embeddings
 * {@code [N, seq, H]} by the Add). Every row of a batch reads that one slice, so each real row adds the slice's
 * positions below its own true length: the statistics are those of the rows run alone (ONNX Runtime, FP32,
 * each unpadded row), whatever the batch size, with {@code --mask} and {@code --pad} alike.
 */
class CalibrateMaskBroadcastTest {
  @TempDir Path tmp;

  private static final int ROWS = 10;
  /** Rows are at most this long ... */
  private static final int LONGEST = 8;
  /** ... and padded to this length, so no row reads the last positions. */
  private static final int SEQ = 16;

  @Test
  void aBroadcastPositionEmbeddingCountsEachRowsValidPositions() throws Exception {
    ModelProto m = TinyBert.build(17, 3);
    String position = null;
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getOpType().equals("Gather") && n.getName().startsWith("embeddings.position")) {
        position = n.getOutput(0);
      }
    }
    Path model = write("bert.onnx", m);
    ModelProto.Builder exposed = m.toBuilder();
    exposed.getGraphBuilder().addOutput(Graph.value(position, TensorProto.DataType.FLOAT_VALUE, 1, "seq",
        TinyBert.WIDTH));
    Path oracleModel = write("exposed.onnx", exposed.build());

    List<Tokens.Pair> padded = new ArrayList<>();
    List<Tokens.Pair> cut = new ArrayList<>();
    for (int r = 0; r < ROWS; r++) {
      Tokens.Pair p = Tokens.bert(7, r, LONGEST, TinyBert.VOCAB);
      padded.add(new Tokens.Pair(Arrays.copyOf(p.inputIds(), SEQ), Arrays.copyOf(p.attentionMask(), SEQ),
          Arrays.copyOf(p.tokenTypeIds(), SEQ), p.length()));
      cut.add(new Tokens.Pair(Arrays.copyOf(p.inputIds(), p.length()), Arrays.copyOf(p.attentionMask(), p.length()),
          Arrays.copyOf(p.tokenTypeIds(), p.length()), p.length()));
    }
    assertTrue(cut.stream().mapToInt(Tokens.Pair::length).distinct().count() > 1, "rows of several lengths");
    TokenRows.Extremes oracle = TokenRows.oracle(oracleModel, position, cut);
    TokenRows.Extremes whole = TokenRows.oracle(oracleModel, position, padded);
    assertNotEquals(List.of(oracle.min(), oracle.max()), List.of(whole.min(), whole.max()),
        "the positions no row reads hold an extreme: the test tells the two readings apart");

    Path paddedData = parquet("padded.parquet", padded);
    TensorStats masked = calibrate(model, paddedData, "masked", "--mask", "attention_mask", "--batch-size", "4")
        .get(position);
    assertEquals(oracle.min(), masked.min());
    assertEquals(oracle.max(), masked.max());
    assertEquals(oracle.count(), masked.count());
    TensorStats alone = calibrate(model, paddedData, "alone", "--mask", "attention_mask", "--batch-size", "1")
        .get(position);
    assertEquals(alone, masked, "a batch of 1, where the leading 1 is the batch, gives the same statistics");
    TensorStats pad = calibrate(model, parquet("cut.parquet", cut), "pad", "--pad", "input_ids=0", "--pad",
        "attention_mask=0", "--pad", "token_type_ids=0", "--batch-size", "3").get(position);
    assertEquals(masked, pad);
  }

  private StatsSet calibrate(Path model, Path data, String name, String... more) {
    Path out = tmp.resolve(name);
    List<String> a = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data", data.toString(),
        "--out", out.toString(), "--op-types", "MatMul,Add", "--method", "percentile"));
    a.addAll(List.of(more));
    Cli c = Cli.run(a.toArray(String[]::new));
    assertEquals(0, c.code(), c.err());
    return StatsFiles.read(out.toString(), new Configuration()).stats();
  }

  private Path parquet(String name, List<Tokens.Pair> pairs) {
    return TokenRows.parquet(tmp.resolve(name), pairs);
  }

  private Path write(String name, ModelProto m) throws Exception {
    return TokenRows.model(tmp.resolve(name), m);
  }
}
