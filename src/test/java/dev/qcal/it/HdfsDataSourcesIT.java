package dev.qcal.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.examples.TextLinePngs;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Calibration data on HDFS (an in-process MiniDFSCluster): the example's lines written there as .npy,
 * Parquet and PNG files, calibrated from {@code hdfs://} URIs with outputs written back to HDFS, give
 * the local .npy run's qparams.json byte for byte; --max-samples works on HDFS data.
 */
class HdfsDataSourcesIT {
  private static MiniDFSCluster dfs;
  @TempDir static Path tmp;

  @BeforeAll
  static void startHdfs() throws IOException {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, Files.createTempDirectory("qcal-minidfs-data-").toString());
    conf.setInt("dfs.replication", 1);
    dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    dfs.waitActive();
  }

  @AfterAll
  static void stopHdfs() {
    if (dfs != null) {
      dfs.shutdown(true);
    }
  }

  private static String uri(String path) {
    return dfs.getURI().toString() + path;
  }

  private static void put(Path local, String dir) throws IOException {
    dfs.getFileSystem().copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(local.toUri()),
        new org.apache.hadoop.fs.Path(uri(dir)));
  }

  private static byte[] bytes(String file) throws IOException {
    try (var in = dfs.getFileSystem().open(new org.apache.hadoop.fs.Path(file))) {
      return in.readAllBytes();
    }
  }

  private static byte[] calibrate(String out, String... more) throws IOException {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(), "--out", out));
    args.addAll(List.of(more));
    Cli r = Cli.run(args.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    return out.startsWith("hdfs:") ? bytes(out + "/qparams.json") : Files.readAllBytes(Path.of(out, "qparams.json"));
  }

  @Test
  void npyParquetAndPngOnHdfsGiveTheLocalNpyBytes() throws Exception {
    SparkSession spark = SharedSpark.session();
    Path npy = ExampleData.small().resolve("x");
    byte[] local = calibrate(tmp.resolve("local").toString(), "--data", npy.toString());

    put(npy, "/data/npy");
    assertArrayEquals(local, calibrate(uri("/out/npy"), "--data", uri("/data/npy")));

    List<Row> rows = new ArrayList<>();
    try (Stream<Path> files = Files.list(npy).sorted()) {
      for (Path f : files.toList()) {
        try (dev.qcal.data.Npy.Reader r = dev.qcal.data.Npy.open(f)) {
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
    spark.createDataFrame(rows, schema).repartition(3).write().parquet(uri("/data/lines.parquet"));
    assertArrayEquals(local, calibrate(uri("/out/parquet"), "--data", uri("/data/lines.parquet"),
        "--sample-shape", "x=3,48,192"));
    byte[] sampled = calibrate(uri("/out/parquet-max"), "--data", uri("/data/lines.parquet"),
        "--sample-shape", "x=3,48,192", "--max-samples", "13", "--partitions", "8");
    assertEquals(13, new ObjectMapper().readTree(sampled).get("samples").asLong());

    Path pngs = tmp.resolve("pngs");
    TextLinePngs.write(pngs, 11, 40);
    put(pngs, "/data/pngs");
    assertArrayEquals(local, calibrate(uri("/out/png"), "--data", uri("/data/pngs"),
        "--preprocess", "jobs/ppocr-cls-preprocess.json"));
  }
}
