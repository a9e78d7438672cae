package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rows of nested arrays carry their own shape: the example model's input [N,3,?,?] has two dynamic
 * dimensions, so flat rows need --sample-shape, nested [3][48][192] rows do not, and give the .npy run's
 * parameters to the byte. Ragged nesting is a bad record naming the row and where it breaks.
 */
@ExtendWith(SharedSpark.class)
class NestedArraysTest {
  @TempDir Path tmp;

  private static final DataType NESTED = DataTypes.createArrayType(
      DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.DoubleType, false), false), false);

  /** Sample {@code v} [3*48*192] as nested lists [3][48][192] (doubles: exact in JSON text). */
  private static List<List<List<Double>>> nest(float[] v) {
    List<List<List<Double>>> c = new ArrayList<>();
    for (int a = 0; a < 3; a++) {
      List<List<Double>> h = new ArrayList<>();
      for (int b = 0; b < 48; b++) {
        List<Double> w = new ArrayList<>();
        for (int k = 0; k < 192; k++) {
          w.add((double) v[(a * 48 + b) * 192 + k]);
        }
        h.add(w);
      }
      c.add(h);
    }
    return c;
  }

  private Cli calibrate(String name, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--out", tmp.resolve(name).toString()));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  @Test
  void nestedRowsNeedNoSampleShape(SparkSession spark) throws Exception {
    Cli npy = calibrate("npy", "--data", ExampleData.small().resolve("x").toString());
    assertEquals(0, npy.code(), npy.err());
    List<Row> rows = new ArrayList<>();
    for (float[] v : ParquetExamples.read(ExampleData.small().resolve("x"))) {
      rows.add(RowFactory.create(nest(v)));
    }
    var df = spark.createDataFrame(rows, new StructType().add("x", NESTED, false));
    Path json = tmp.resolve("nested-json");
    df.repartition(2).write().json(json.toString());
    Path parquet = tmp.resolve("nested-parquet");
    df.repartition(3).write().parquet(parquet.toString());
    byte[] expected = Files.readAllBytes(tmp.resolve("npy/qparams.json"));
    for (String[] c : new String[][] {{"json", json.toString()}, {"parquet", parquet.toString()}}) {
      Cli r = calibrate(c[0], "--data", c[1]);
      assertEquals(0, r.code(), c[0] + ": " + r.err());
      assertArrayEquals(expected, Files.readAllBytes(tmp.resolve(c[0]).resolve("qparams.json")), c[0]);
    }
  }

  @Test
  void raggedNestingIsABadRecord(SparkSession spark) throws Exception {
    float[] v = ParquetExamples.read(ExampleData.small().resolve("x")).get(0);
    List<List<List<Double>>> good = nest(v);
    List<List<List<Double>>> ragged = nest(v);
    ragged.get(1).set(7, ragged.get(1).get(7).subList(0, 191));
    Path json = tmp.resolve("ragged-json");
    spark.createDataFrame(List.of(RowFactory.create(good), RowFactory.create(ragged)),
        new StructType().add("x", NESTED, false)).coalesce(1).write().json(json.toString());
    Cli r = calibrate("ragged", "--data", json.toString());
    r.assertBadInput(tmp.resolve("ragged"), "row 1", "column 'x' is ragged: element [1][7] holds 191 values where"
        + " its first sibling holds 192");
    Cli skipped = calibrate("skipped", "--data", json.toString(), "--on-bad-record", "skip");
    assertEquals(0, skipped.code(), skipped.err());
    String run = Files.readString(tmp.resolve("skipped/run.json"));
    assertTrue(run.contains("\"shape_mismatch\" : 1") || run.contains("\"shape_mismatch\":1"), run);
    assertFalse(Files.exists(tmp.resolve("ragged")));
  }
}
