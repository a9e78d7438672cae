package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.examples.Graph;
import dev.qcal.examples.TinyBert;
import dev.qcal.examples.Tokens;
import dev.qcal.io.StatsFiles;
import dev.qcal.stats.TensorStats;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --pad} on the BERT-style example model ({@link TinyBert}) fed unpadded Parquet rows of true lengths
 * 5 to 16: the statistics of the embedding output (the embeddings LayerNorm) equal the min/max of the FP32
 * model run by ONNX Runtime on each row alone; with {@code --pad-stats include} they differ (pad positions,
 * id 0 at positions past the row's end, are counted).
 */
class CalibratePaddingBertTest {
  @TempDir Path tmp;

  private static final int ROWS = 12;

  @Test
  void embeddingStatisticsEqualThePerRowOracle() throws Exception {
    SparkSession spark = SharedSpark.session();
    ModelProto m = TinyBert.build(17, 3);
    String embeddings = null;
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getName().startsWith("embeddings.LayerNorm")) {
        embeddings = n.getOutput(0); // the last node of the embedding block: the embedding output
      }
    }
    Path model = write("bert.onnx", m);
    ModelProto.Builder exposed = m.toBuilder();
    exposed.getGraphBuilder().addOutput(Graph.value(embeddings, TensorProto.DataType.FLOAT_VALUE, "batch", "seq",
        TinyBert.WIDTH));
    Path oracleModel = write("exposed.onnx", exposed.build());

    List<Row> rows = new ArrayList<>();
    List<Tokens.Pair> pairs = new ArrayList<>();
    for (int r = 0; r < ROWS; r++) {
      Tokens.Pair p = Tokens.bert(7, r, 16, TinyBert.VOCAB);
      Tokens.Pair cut = new Tokens.Pair(Arrays.copyOf(p.inputIds(), p.length()), Arrays.copyOf(p.attentionMask(),
          p.length()), Arrays.copyOf(p.tokenTypeIds(), p.length()), p.length());
      pairs.add(cut);
      rows.add(RowFactory.create(TokenRows.list(cut.inputIds()), TokenRows.list(cut.attentionMask()), TokenRows.list(cut.tokenTypeIds())));
    }
    assertNotEquals(1, pairs.stream().mapToInt(Tokens.Pair::length).distinct().count(), "lengths vary");
    StructType schema = new StructType();
    for (String in : TinyBert.INPUTS) {
      schema = schema.add(in, DataTypes.createArrayType(DataTypes.LongType, false), false);
    }
    Path data = tmp.resolve("tokens.parquet");
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(data.toString());

    TokenRows.Extremes oracle = TokenRows.oracle(oracleModel, embeddings, pairs);

    TensorStats excluded = calibrate(model, data, "excluded", "exclude").get(embeddings);
    assertEquals(oracle.min(), excluded.min());
    assertEquals(oracle.max(), excluded.max());
    assertEquals(oracle.count(), excluded.count());
    TensorStats included = calibrate(model, data, "included", "include").get(embeddings);
    assertEquals((long) ROWS * 16 * TinyBert.WIDTH, included.count(), "every row padded to the longest, 16");
    assertNotEquals(excluded, included);
  }

  private dev.qcal.stats.StatsSet calibrate(Path model, Path data, String name, String padStats) {
    Path out = tmp.resolve(name);
    Cli c = Cli.run("calibrate", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
        "--pad", "input_ids=0", "--pad", "attention_mask=0", "--pad", "token_type_ids=0", "--pad-stats", padStats);
    assertEquals(0, c.code(), c.err());
    return StatsFiles.read(out.toString(), new Configuration()).stats();
  }

  private Path write(String name, ModelProto m) throws Exception {
    Path p = tmp.resolve(name);
    try (OutputStream out = Files.newOutputStream(p)) {
      m.writeTo(out);
    }
    return p;
  }

}
