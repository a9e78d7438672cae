package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.examples.TinyBert;
import dev.qcal.examples.Tokens;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code example-data --kind bert}: the NLP example's model and its padded token tables. */
@ExtendWith(SharedSpark.class)
class ExampleDataBertTest {
  @TempDir Path tmp;

  @Test
  void writesModelAndPaddedTokenTables(SparkSession spark) {
    Path out = tmp.resolve("bert");
    Cli r = Cli.run("example-data", "--kind", "bert", "--out", out.toString(), "--count", "40", "--eval-count", "8",
        "--seq-length", "12", "--seed", "5");
    assertEquals(0, r.code(), r.err());
    ModelProto m = OnnxModels.load(out.resolve("model.onnx"));
    assertEquals(TinyBert.INPUTS, m.getGraph().getInputList().stream().map(v -> v.getName()).toList());
    m.getGraph().getInputList().forEach(v -> assertEquals(TensorProto.DataType.INT64_VALUE,
        v.getType().getTensorType().getElemType(), v.getName()));

    Dataset<Row> tokens = spark.read().parquet(out.resolve("tokens.parquet").toString());
    for (String c : TinyBert.INPUTS) {
      // array<long> (Parquet reads every column back as nullable)
      assertEquals(DataTypes.createArrayType(DataTypes.LongType, true), tokens.schema().apply(c).dataType(), c);
    }
    List<Row> rows = tokens.collectAsList();
    assertEquals(40, rows.size());
    assertEquals(8, spark.read().parquet(out.resolve("eval.parquet").toString()).count());
    Set<Integer> lengths = new HashSet<>();
    Set<List<Long>> expected = new HashSet<>();
    for (int k = 0; k < 40; k++) {
      expected.add(longs(Tokens.bert(5, k, 12, TinyBert.VOCAB).inputIds()));
    }
    for (Row row : rows) {
      List<Long> ids = row.getList(0);
      List<Long> mask = row.getList(1);
      List<Long> types = row.getList(2);
      assertEquals(12, ids.size());
      int length = (int) mask.stream().filter(x -> x == 1).count();
      lengths.add(length);
      int seps = 0;
      for (int t = 0; t < 12; t++) {
        assertEquals(t < length ? 1L : 0L, mask.get(t), "mask is a prefix of ones");
        if (t >= length) {
          assertEquals(0L, ids.get(t), "padding id");
          assertEquals(0L, types.get(t), "padding type");
        }
        seps += ids.get(t) == Tokens.SEP ? 1 : 0;
      }
      assertEquals(Tokens.CLS, ids.get(0));
      assertEquals(Tokens.SEP, ids.get(length - 1));
      assertEquals(2, seps, ids.toString());
      assertEquals(1L, types.get(length - 1), "the second sentence has type 1");
      assertTrue(expected.contains(ids), "row is one of the seed's samples");
    }
    assertTrue(lengths.size() > 3, "true lengths vary: " + lengths);

    Cli again = Cli.run("example-data", "--kind", "bert", "--out", out.toString(), "--count", "40", "--eval-count", "8",
        "--seq-length", "12", "--seed", "5");
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().contains("nothing written"), again.out());
  }

  @Test
  void rejectsAnUnknownKind() {
    Cli r = Cli.run("example-data", "--kind", "gpt3", "--out", tmp.resolve("x").toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains("--kind must be lines or bert"), r.errorLine());
  }

  private static List<Long> longs(long[] v) {
    return java.util.Arrays.stream(v).boxed().toList();
  }
}
