package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.data.BadRecords;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Npy;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The progress line's total: exact from .npy/.npz headers and Parquet footers, else an estimate or unknown. */
@ExtendWith(SharedSpark.class)
class JobProgressTest {
  private static final List<InputSpec> X = List.of(new InputSpec("x", new long[] {2, 3}));
  @TempDir Path tmp;

  private static void npz(Path file, String name, long[] shape, boolean compressed) throws Exception {
    Path npy = Files.createTempFile(file.getParent(), "entry", ".tmp");
    Npy.writeFloat32(npy, new float[(int) dev.qcal.data.Sample.elements(shape)], shape);
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
      zip.setLevel(compressed ? 9 : 0);
      zip.putNextEntry(new ZipEntry("other.npy")); // not an input: skipped
      zip.write(new byte[100]);
      zip.closeEntry();
      zip.putNextEntry(new ZipEntry(name));
      zip.write(Files.readAllBytes(npy));
      zip.closeEntry();
    }
    Files.delete(npy);
  }

  @Test
  void exactForMixedBatchAndSingleSampleNpyAndNpz(SparkSession spark) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("mixed"));
    Npy.writeFloat32(dir.resolve("a-batch.npy"), new float[5 * 6], new long[] {5, 2, 3});
    Npy.writeFloat32(dir.resolve("b-single.npy"), new float[6], new long[] {2, 3}); // rows() says 2: one sample
    Npy.writeFloat32(dir.resolve("c-single.npy"), new float[6], new long[] {2, 3});
    npz(dir.resolve("d-batch.npz"), "x.npy", new long[] {4, 2, 3}, true);
    npz(dir.resolve("e-single.npz"), "arr_0.npy", new long[] {2, 3}, false);
    List<String> data = List.of(dir.toString());
    assertEquals(new JobProgress.Total(5 + 1 + 1 + 4 + 1, false), JobProgress.totalSamples(spark, data, X));
    // a multi-input binding counts by the named input's rank: y's single samples are [5, 3, 2]-shaped
    Path ys = Files.createDirectories(tmp.resolve("ys"));
    Npy.writeFloat32(ys.resolve("y0.npy"), new float[30], new long[] {5, 3, 2});
    List<InputSpec> xy = List.of(X.get(0), new InputSpec("y", new long[] {5, 3, 2}));
    assertEquals(new JobProgress.Total(1, false), JobProgress.totalSamples(spark, List.of("y=" + ys), xy));
    // the run reads exactly that many
    assertEquals(12, DataSources.open(spark, data, X, Map.of()).count());

    DataOptions half = new DataOptions(null, 0.5, 3, BadRecords.Policy.FAIL);
    assertEquals(new JobProgress.Total(6, true), JobProgress.total(spark, data, half, X, null, null));
    DataOptions skip = new DataOptions(null, 1.0, 0, BadRecords.Policy.SKIP);
    assertEquals(new JobProgress.Total(10, true), JobProgress.total(spark, data, skip, X, null, Map.of("undecodable", 2L)));
    DataOptions max = new DataOptions(7L, 1.0, 0, BadRecords.Policy.FAIL);
    assertEquals(new JobProgress.Total(7, false), JobProgress.total(spark, data, max, X, 7L, null));
    DataOptions table = new DataOptions(null, 1.0, 0, BadRecords.Policy.FAIL, null, "db.t", null, null, null);
    assertEquals(-1, JobProgress.total(spark, List.of(), table, X, null, null).samples());
  }

  @Test
  void anUnreadableHeaderMakesAnEstimate(SparkSession spark) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("broken"));
    Npy.writeFloat32(dir.resolve("a.npy"), new float[3 * 6], new long[] {3, 2, 3});
    Files.write(dir.resolve("b.npy"), new byte[] {1, 2, 3});
    assertEquals(new JobProgress.Total(3, true), JobProgress.totalSamples(spark, List.of(dir.toString()), X));
  }

  @Test
  void manyFilesAreEstimatedFromEvenlySpacedHeaders(SparkSession spark) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("many"));
    int files = JobProgress.HEADER_LIMIT * 3 / 2;
    for (int i = 0; i < files; i++) { // alternately a batch of 3 and one sample: 2 per file on average
      Path f = dir.resolve(String.format("f-%05d.npy", i));
      if (i % 2 == 0) {
        Npy.writeFloat32(f, new float[3 * 6], new long[] {3, 2, 3});
      } else {
        Npy.writeFloat32(f, new float[6], new long[] {2, 3});
      }
    }
    JobProgress.Total t = JobProgress.totalSamples(spark, List.of(dir.toString()), X);
    assertTrue(t.estimated());
    assertTrue(Math.abs(t.samples() - 2L * files) <= files / 50, "about " + 2 * files + ": " + t.samples());
  }

  @Test
  void parquetFromItsFooters(SparkSession spark) throws Exception {
    Path parquet = tmp.resolve("lines.parquet");
    ParquetExamples.write(spark, ExampleData.small().resolve("x"), parquet, 3, false);
    assertEquals(new JobProgress.Total(40, false),
        JobProgress.totalSamples(spark, List.of(parquet.toString()), List.of(new InputSpec("x", new long[] {3, 48, -1}))));
  }
}
