package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Partitioning, batch size and data format change no statistic and no parameter. */
@ExtendWith(SharedSpark.class)
class CalibrateInvarianceTest {
  @TempDir Path tmp;

  private JsonNode calibrate(String name, String... extra) throws Exception {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--out", out.toString()));
    args.addAll(List.of(extra));
    Cli r = Cli.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
  }

  @Test
  void partitionsAndBatchSizeDoNotChangeAnyByte(SparkSession spark) throws Exception {
    String data = ExampleData.small().resolve("x").toString();
    JsonNode first = calibrate("p1-b16", "--data", data, "--partitions", "1", "--batch-size", "16");
    assertEquals(40, first.get("samples").asLong());
    byte[] reference = Files.readAllBytes(tmp.resolve("p1-b16/qparams.json"));
    byte[] referenceStats = Files.readAllBytes(tmp.resolve("p1-b16/stats/stats.bin"));
    byte[] referenceManifest = Files.readAllBytes(tmp.resolve("p1-b16/stats/stats.json"));
    for (String p : new String[] {"1", "3", "16"}) {
      for (String b : new String[] {"1", "16"}) {
        String name = "p" + p + "-b" + b;
        if (!name.equals("p1-b16")) {
          calibrate(name, "--data", data, "--partitions", p, "--batch-size", b);
          org.junit.jupiter.api.Assertions.assertArrayEquals(reference,
              Files.readAllBytes(tmp.resolve(name).resolve("qparams.json")), name);
          org.junit.jupiter.api.Assertions.assertArrayEquals(referenceStats,
              Files.readAllBytes(tmp.resolve(name).resolve("stats/stats.bin")), name);
          org.junit.jupiter.api.Assertions.assertArrayEquals(referenceManifest,
              Files.readAllBytes(tmp.resolve(name).resolve("stats/stats.json")), name);
        }
      }
    }
  }

  @Test
  void parquetArraysGiveTheSameParametersAsNpy(SparkSession spark) throws Exception {
    List<Row> rows = new ArrayList<>();
    try (Stream<Path> files = Files.list(ExampleData.small().resolve("x")).sorted()) {
      for (Path f : files.toList()) {
        try (InputStream in = Files.newInputStream(f); Npy.Reader r = Npy.open(in, f.toString())) {
          float[] row = new float[r.rowElements()];
          while (r.readRow(row)) {
            List<Float> boxed = new ArrayList<>(row.length);
            for (float v : row) {
              boxed.add(v);
            }
            rows.add(RowFactory.create(boxed));
          }
        }
      }
    }
    StructType schema = new StructType().add("x", DataTypes.createArrayType(DataTypes.FloatType, false), false);
    Path parquet = tmp.resolve("lines.parquet");
    spark.createDataFrame(rows, schema).repartition(2).write().parquet(parquet.toString());
    JsonNode fromNpy = calibrate("npy", "--data", ExampleData.small().resolve("x").toString());
    JsonNode fromParquet = calibrate("parquet", "--data", parquet.toString(), "--sample-shape", "x=3,48,192");
    assertEquals(40, fromParquet.get("samples").asLong());
    assertEquals(fromNpy.get("activations"), fromParquet.get("activations"));
  }

  @Test
  void parquetWithoutASampleShapeNamesTheOption(SparkSession spark) throws Exception {
    Path parquet = tmp.resolve("tiny.parquet");
    StructType schema = new StructType().add("x", DataTypes.createArrayType(DataTypes.FloatType, false), false);
    List<Float> v = new ArrayList<>();
    for (int i = 0; i < 3 * 48 * 10; i++) {
      v.add(0f);
    }
    spark.createDataFrame(List.of(RowFactory.create(v)), schema).write().parquet(parquet.toString());
    Cli r = Cli.run("calibrate", "--model", ExampleData.MODEL.toString(), "--data", parquet.toString(),
        "--out", tmp.resolve("o").toString());
    assertEquals(2, r.code(), r.err());
    org.junit.jupiter.api.Assertions.assertTrue(r.errorLine().contains("--sample-shape"), r.errorLine());
    org.junit.jupiter.api.Assertions.assertFalse(Files.exists(tmp.resolve("o")));
  }
}
