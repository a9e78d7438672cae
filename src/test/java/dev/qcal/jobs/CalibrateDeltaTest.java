package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.data.DataException;
import dev.qcal.data.SourceFormat;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --format delta} (also inferred from {@code _delta_log}) and {@code --table} on a Delta
 * table give the {@code .npy} run's qparams.json, byte for byte. Delta needs its session extension,
 * so the test runs on a session qcal itself configures ({@link SparkSessions#open}), not the shared one.
 */
class CalibrateDeltaTest {
  @TempDir Path tmp;

  private byte[] calibrate(String name, String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--out", tmp.resolve(name).toString(), "--sample-shape", "x=3,48,192"));
    args.addAll(List.of(extra));
    Cli r = Cli.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return Files.readAllBytes(tmp.resolve(name).resolve("qparams.json"));
  }

  @Test
  void deltaTableGivesTheNpyBytes() throws Exception {
    SharedSpark.stop();
    try (SparkSessions.Handle h = SparkSessions.open("qcal-delta-test", "local[2]")) {
      SparkSession spark = h.spark();
      assertEquals(DataSources.DELTA_EXTENSION, spark.conf().get("spark.sql.extensions"),
          "qcal configures Delta's extension when Delta is on the classpath");
      byte[] fromNpy = calibrate("npy", "--data", ExampleData.small().resolve("x").toString());
      Path table = tmp.resolve("lines-delta");
      Path parquet = tmp.resolve("lines.parquet"); // array<float> column x, as the Parquet tests write it
      ParquetExamples.write(spark, ExampleData.small().resolve("x"), parquet, 3, false);
      spark.read().parquet(parquet.toString()).write().format("delta").save(table.toString());
      assertTrue(Files.isDirectory(table.resolve("_delta_log")));
      assertArrayEquals(fromNpy, calibrate("delta", "--data", table.toString(), "--format", "delta"));
      assertEquals(SourceFormat.DELTA, SourceFormat.detect(table.toString(),
          spark.sparkContext().hadoopConfiguration()), "a _delta_log folder makes a Delta table, not Parquet files");
      spark.sql("CREATE TABLE qcal_delta_lines USING delta LOCATION '" + table.toUri() + "'");
      try {
        assertArrayEquals(fromNpy, calibrate("delta-table", "--table", "qcal_delta_lines"));
      } finally {
        spark.sql("DROP TABLE qcal_delta_lines");
      }
      Cli notDelta = Cli.run("calibrate", "--model", ExampleData.MODEL.toString(), "--out",
          tmp.resolve("bad").toString(), "--data", parquet.toString(), "--format", "delta");
      assertEquals(2, notDelta.code(), notDelta.err());
      assertTrue(notDelta.errorLine().contains(parquet + ": cannot read as a Delta table"), notDelta.errorLine());
      assertTrue(Files.notExists(tmp.resolve("bad")));
    } finally {
      SparkSession.clearActiveSession();
      SparkSession.clearDefaultSession();
    }
  }

  @Test
  void withoutDeltaOnTheClasspathTheErrorSaysWhatToAdd() {
    ClassLoader noDelta = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader());
    DataException e = assertThrows(DataException.class, () -> DataSources.requireDelta(noDelta, "/data/t"));
    assertEquals("/data/t: --format delta needs io.delta:delta-spark_2.13 on the classpath (spark-submit --packages"
        + " io.delta:delta-spark_2.13:4.4.0; for scripts/qcal, its jars in QCAL_EXTRA_CLASSPATH)", e.getMessage());
    SparkConf conf = new SparkConf(false);
    SparkSessions.withDelta(conf, noDelta);
    assertTrue(!conf.contains("spark.sql.extensions"), "no Delta, no extension");
    SparkSessions.withDelta(conf, CalibrateDeltaTest.class.getClassLoader());
    assertEquals(DataSources.DELTA_CATALOG, conf.get("spark.sql.catalog.spark_catalog"));
    SparkConf mine = new SparkConf(false).set("spark.sql.extensions", "my.Extension");
    SparkSessions.withDelta(mine, CalibrateDeltaTest.class.getClassLoader());
    assertEquals("my.Extension", mine.get("spark.sql.extensions"), "the user's settings are kept");
    assertTrue(!mine.contains("spark.sql.catalog.spark_catalog"));
  }
}
