package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.cli.Main;
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
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Parquet binary (little-endian float32) and nested array<double> columns give the .npy run's qparams.json, byte for byte. */
@ExtendWith(SharedSpark.class)
class CalibrateParquetColumnsTest {
  @TempDir static Path tmp;
  static byte[] fromNpy;

  private static byte[] calibrate(String name, String... extra) throws Exception {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--out", out.toString()));
    args.addAll(List.of(extra));
    Cli r = Cli.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return Files.readAllBytes(out.resolve("qparams.json"));
  }

  @BeforeAll
  static void npy(SparkSession spark) throws Exception {
    fromNpy = calibrate("npy", "--data", ExampleData.small().resolve("x").toString());
  }

  @Test
  void binaryFloat32ColumnGivesTheSameBytesAsNpy(SparkSession spark) throws Exception {
    Path parquet = tmp.resolve("binary.parquet");
    ParquetExamples.write(spark, ExampleData.small().resolve("x"), parquet, 2, true);
    assertArrayEquals(fromNpy, calibrate("binary", "--data", parquet.toString(), "--sample-shape", "x=3,48,192"));
  }

  @Test
  void nestedDoubleArraysGiveTheSameBytesAsNpy(SparkSession spark) throws Exception {
    List<Row> rows = new ArrayList<>();
    for (float[] v : ParquetExamples.read(ExampleData.small().resolve("x"))) {
      List<List<Double>> outer = new ArrayList<>();
      for (int r = 0; r < 3 * 48; r++) {
        List<Double> inner = new ArrayList<>(192);
        for (int c = 0; c < 192; c++) {
          inner.add((double) v[r * 192 + c]);
        }
        outer.add(inner);
      }
      rows.add(RowFactory.create(outer));
    }
    StructType schema = new StructType().add("x",
        DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.DoubleType)));
    Path parquet = tmp.resolve("nested.parquet");
    spark.createDataFrame(rows, schema).write().parquet(parquet.toString());
    assertArrayEquals(fromNpy, calibrate("nested", "--data", parquet.toString(), "--sample-shape", "x=3,48,192"));
  }

  @Test
  void binaryOfAPartialFloatIsABadRecord(SparkSession spark) throws Exception {
    List<Row> rows = List.of(RowFactory.create((Object) new byte[3 * 48 * 192 * 4 - 2]));
    StructType schema = new StructType().add("x", DataTypes.BinaryType);
    Path parquet = tmp.resolve("partial.parquet");
    spark.createDataFrame(rows, schema).write().parquet(parquet.toString());
    Cli r = Cli.run("calibrate", "--model", ExampleData.MODEL.toString(), "--data", parquet.toString(),
        "--sample-shape", "x=3,48,192", "--out", tmp.resolve("partial").toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains("not a whole number of float32 values"), r.errorLine());
    assertTrue(r.errorLine().contains("row 0"), r.errorLine());
  }
}
