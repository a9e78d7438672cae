package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.cli.Main;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** --table, --query, ORC and JSON (--format given or inferred) give the .npy run's qparams.json, byte for byte. */
@ExtendWith(SharedSpark.class)
class CalibrateSourcesTest {
  @TempDir static Path tmp;
  static byte[] fromNpy;
  static Dataset<Row> lines;

  private static Cli run(String name, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--out", tmp.resolve(name).toString(), "--sample-shape", "x=3,48,192"));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  private static byte[] calibrate(String name, String... extra) throws Exception {
    Cli r = run(name, extra);
    assertEquals(0, r.code(), r.err());
    return Files.readAllBytes(tmp.resolve(name).resolve("qparams.json"));
  }

  private static long samples(String name) throws Exception {
    return new ObjectMapper().readTree(tmp.resolve(name).resolve("qparams.json").toFile()).get("samples").asLong();
  }

  @BeforeAll
  static void data(SparkSession spark) throws Exception {
    fromNpy = calibrate("npy", "--data", ExampleData.small().resolve("x").toString());
    List<Row> rows = new ArrayList<>();
    for (float[] v : ParquetExamples.read(ExampleData.small().resolve("x"))) {
      List<Double> boxed = new ArrayList<>(v.length);
      for (float f : v) {
        boxed.add((double) f); // exact in JSON text: doubles print and parse back exactly
      }
      rows.add(RowFactory.create(boxed));
    }
    StructType schema = new StructType().add("x", DataTypes.createArrayType(DataTypes.DoubleType, false), false);
    lines = spark.createDataFrame(rows, schema).cache();
  }

  @Test
  void tableAndQueryOfATempView(SparkSession spark) throws Exception {
    lines.repartition(3).createOrReplaceTempView("qcal_lines");
    assertArrayEquals(fromNpy, calibrate("table", "--table", "qcal_lines"));
    assertArrayEquals(fromNpy, calibrate("query", "--query", "SELECT x FROM qcal_lines WHERE size(x) > 0"));
  }

  @Test
  void inputBoundToAnotherColumn(SparkSession spark) throws Exception {
    lines.withColumnRenamed("x", "pixels").createOrReplaceTempView("qcal_pixels");
    assertArrayEquals(fromNpy, calibrate("bound", "--table", "qcal_pixels", "--input", "x=pixels"));
    Cli r = run("unbound", "--table", "qcal_pixels");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains("--input x=COLUMN"), r.errorLine());
  }

  @Test
  void maxSamplesOverAQueryIgnoresPartitioning(SparkSession spark) throws Exception {
    lines.repartition(1).createOrReplaceTempView("qcal_lines_1");
    lines.repartition(8).createOrReplaceTempView("qcal_lines_8");
    byte[] one = calibrate("q1", "--query", "SELECT x FROM qcal_lines_1", "--max-samples", "13", "--seed", "7",
        "--partitions", "1");
    byte[] eight = calibrate("q8", "--query", "SELECT x FROM qcal_lines_8", "--max-samples", "13", "--seed", "7",
        "--partitions", "8");
    assertEquals(13, samples("q1"));
    assertEquals(13, samples("q8"));
    assertArrayEquals(one, eight);
  }

  /**
   * Copies of rows straddle the cut-off of --max-samples over a query whose row order changes with
   * the partitioning and from one pass to the next (a random sort within partitions): exactly N
   * samples, and the same statistics for 1 and 8 partitions.
   */
  @Test
  void maxSamplesTakesExactlyNWhenCopiesStraddleTheCutoff(SparkSession spark) throws Exception {
    spark.udf().register("qcal_noise_nd", org.apache.spark.sql.functions.udf(
        (org.apache.spark.sql.api.java.UDF0<Double>) Math::random, DataTypes.DoubleType).asNondeterministic());
    // every line three times (copy 0, 1, 2), the copies spread over partitions by copy number
    Dataset<Row> copies = lines.crossJoin(spark.range(3).withColumnRenamed("id", "copy"));
    copies.repartition(1).createOrReplaceTempView("qcal_copies_1");
    copies.repartition(8, org.apache.spark.sql.functions.col("copy")).createOrReplaceTempView("qcal_copies_8");
    assertTrue(spark.sql("SELECT count(DISTINCT p) FROM (SELECT spark_partition_id() AS p FROM qcal_copies_8)").first().getLong(0) > 1,
        "copies of a row lie in several partitions");
    // 3 copies of each of 40 lines: 13 = 4 * 3 + 1 takes one of the three copies of the 5th smallest row
    String[] common = {"--max-samples", "13", "--seed", "7"};
    byte[] one = calibrate("dup1", CalibrateSamplingTest.concat(common, "--query",
        "SELECT x FROM qcal_copies_1 SORT BY qcal_noise_nd()", "--partitions", "1"));
    byte[] eight = calibrate("dup8", CalibrateSamplingTest.concat(common, "--query",
        "SELECT x FROM qcal_copies_8 SORT BY qcal_noise_nd()", "--partitions", "8"));
    assertEquals(13, samples("dup1"));
    assertEquals(13, samples("dup8"));
    assertEquals(13, new ObjectMapper().readTree(tmp.resolve("dup8").resolve("run.json").toFile()).get("samples")
        .asLong());
    assertArrayEquals(one, eight);
    lines.createOrReplaceTempView("qcal_lines_d");
    // the same rows once each: 13 samples are then 13 different rows, so other statistics
    byte[] distinct = calibrate("dup-distinct", CalibrateSamplingTest.concat(common, "--query", "SELECT x FROM qcal_lines_d"));
    assertEquals(13, samples("dup-distinct"));
    assertTrue(!java.util.Arrays.equals(one, distinct), "copies were counted as samples");
  }

  @Test
  void orcWithFormatGivenOrInferred(SparkSession spark) throws Exception {
    Path orc = tmp.resolve("lines-orc");
    lines.repartition(2).write().orc(orc.toString());
    assertArrayEquals(fromNpy, calibrate("orc", "--data", orc.toString(), "--format", "orc"));
    assertArrayEquals(fromNpy, calibrate("orc-inferred", "--data", orc.toString()));
  }

  @Test
  void jsonInferred(SparkSession spark) throws Exception {
    Path json = tmp.resolve("lines-json");
    lines.repartition(2).write().json(json.toString());
    assertArrayEquals(fromNpy, calibrate("json", "--data", json.toString()));
  }

  @Test
  void csvCellsListingNumbers(SparkSession spark) throws Exception {
    List<Row> rows = new ArrayList<>();
    for (float[] v : ParquetExamples.read(ExampleData.small().resolve("x"))) {
      StringBuilder b = new StringBuilder();
      for (float f : v) {
        b.append(b.length() == 0 ? "" : " ").append(f);
      }
      rows.add(RowFactory.create(b.toString()));
    }
    Path csv = tmp.resolve("lines-csv");
    spark.createDataFrame(rows, new StructType().add("x", DataTypes.StringType)).repartition(2).write()
        .option("header", "true").csv(csv.toString());
    assertArrayEquals(fromNpy, calibrate("csv", "--data", csv.toString()));
  }

  @Test
  void singleSampleNpyFiles(SparkSession spark) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("single-npy"));
    List<float[]> samples = ParquetExamples.read(ExampleData.small().resolve("x"));
    for (int i = 0; i < samples.size(); i++) {
      dev.qcal.data.Npy.writeFloat32(dir.resolve(String.format("s-%03d.npy", i)), samples.get(i),
          new long[] {3, 48, 192});
    }
    assertArrayEquals(fromNpy, calibrate("single", "--data", dir.toString()));
  }

  @Test
  void npzArchives(SparkSession spark) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("npz-data"));
    try (var files = Files.list(ExampleData.small().resolve("x"))) {
      for (Path f : files.toList()) {
        String name = f.getFileName().toString().replace(".npy", ".npz");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(dir.resolve(name)))) {
          zip.putNextEntry(new java.util.zip.ZipEntry("other.npy")); // skipped: not the input's name
          zip.write(new byte[] {1, 2, 3});
          zip.closeEntry();
          zip.putNextEntry(new java.util.zip.ZipEntry("x.npy"));
          zip.write(Files.readAllBytes(f));
          zip.closeEntry();
        }
      }
    }
    assertArrayEquals(fromNpy, calibrate("npz", "--data", dir.toString()));
  }

  @Test
  void garbageFileAmongParquetFilesIsNamed(SparkSession spark) throws Exception {
    Path dir = tmp.resolve("parquet-with-garbage");
    ParquetExamples.write(spark, ExampleData.small().resolve("x"), dir, 2, false);
    byte[] garbage = new byte[4096];
    new java.util.Random(7).nextBytes(garbage);
    Files.write(dir.resolve("zzz.parquet"), garbage);
    Cli r = run("parquet-garbage", "--data", dir.toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains(dir.resolve("zzz.parquet") + ": not a Parquet file"), r.errorLine());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(Files.notExists(tmp.resolve("parquet-garbage")));
  }

  @Test
  void oneSourceOnly() {
    Cli r = run("both", "--data", ExampleData.small().resolve("x").toString(), "--table", "t");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains("exactly one of --data, --table and --query"), r.errorLine());
    Cli q = run("bad-query", "--query", "SELEKT nothing");
    assertEquals(Main.BAD_INPUT, q.code(), q.err());
    assertTrue(q.errorLine().contains("query:SELEKT nothing"), q.errorLine());
  }
}
