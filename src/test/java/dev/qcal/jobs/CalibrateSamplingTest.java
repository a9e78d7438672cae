package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.HashOracle;
import dev.qcal.data.Npy;
import dev.qcal.examples.TextLines;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** --max-samples / --sample-fraction with a seed select the same samples whatever the partitioning. */
@ExtendWith(SharedSpark.class)
class CalibrateSamplingTest {
  @TempDir Path tmp;

  private byte[] calibrate(String name, String... extra) throws Exception {
    Path out = tmp.resolve(name);
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--out", out.toString()));
    args.addAll(List.of(extra));
    Cli r = Cli.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return Files.readAllBytes(out.resolve("qparams.json"));
  }

  private long samples(String name) throws Exception {
    return new ObjectMapper().readTree(tmp.resolve(name).resolve("qparams.json").toFile()).get("samples").asLong();
  }

  private JsonNode run(String name) throws Exception {
    return new ObjectMapper().readTree(tmp.resolve(name).resolve("run.json").toFile());
  }

  @Test
  void maxSamplesSelectsTheSameSamplesFor1And8Partitions(SparkSession spark) throws Exception {
    String data = ExampleData.small().resolve("x").toString();
    byte[] p1 = calibrate("p1", "--data", data, "--max-samples", "13", "--seed", "7", "--partitions", "1");
    byte[] p8 = calibrate("p8", "--data", data, "--max-samples", "13", "--seed", "7", "--partitions", "8");
    assertEquals(13, samples("p1"));
    assertEquals(13, samples("p8"));
    assertArrayEquals(p1, p8);
    assertEquals(13, run("p8").get("max_samples").asLong());
    assertSelected("p1", oracleSelected(7, 1.0, 13));
    byte[] otherSeed = calibrate("s8", "--data", data, "--max-samples", "13", "--seed", "8", "--partitions", "8");
    assertEquals(13, samples("s8"));
    assertFalse(Arrays.equals(p1, otherSeed), "another seed selects other samples");
    calibrate("all", "--data", data, "--max-samples", "1000");
    assertEquals(40, samples("all"));
  }

  @Test
  void sampleFractionSelectsTheSameSamplesFor1And8Partitions(SparkSession spark) throws Exception {
    String data = ExampleData.small().resolve("x").toString();
    byte[] p1 = calibrate("f1", "--data", data, "--sample-fraction", "0.5", "--seed", "3", "--partitions", "1");
    byte[] p8 = calibrate("f8", "--data", data, "--sample-fraction", "0.5", "--seed", "3", "--partitions", "8");
    assertArrayEquals(p1, p8);
    long n = samples("f1");
    assertEquals(oracleKept(3, 0.5), n, "the samples whose hash is below 2^63");
    assertEquals(n, samples("f8"));
    byte[] both = calibrate("fm", "--data", data, "--sample-fraction", "0.5", "--seed", "3", "--max-samples",
        Long.toString(n - 4), "--partitions", "3");
    assertEquals(n - 4, samples("fm"));
    assertSelected("fm", oracleSelected(3, 0.5, (int) n - 4));
    assertFalse(Arrays.equals(p1, both));
  }

  @Test
  void parquetSelectionDoesNotDependOnHowFilesAreSplit(SparkSession spark) throws Exception {
    Path parquet = tmp.resolve("lines.parquet");
    ParquetExamples.write(spark, ExampleData.small().resolve("x"), parquet, 3, false);
    String[] common = {"--data", parquet.toString(), "--sample-shape", "x=3,48,192", "--max-samples", "17",
        "--seed", "5"};
    byte[] p1 = calibrate("q1", concat(common, "--partitions", "1"));
    String key = "spark.sql.files.maxPartitionBytes";
    String before = spark.conf().get(key);
    spark.conf().set(key, "65536");
    byte[] split;
    try {
      split = calibrate("q8", concat(common, "--partitions", "8"));
    } finally {
      spark.conf().set(key, before);
    }
    assertEquals(17, samples("q1"));
    assertEquals(17, samples("q8"));
    assertArrayEquals(p1, split);
  }

  /**
   * How many of the 40 samples of {@link ExampleData#small()} a fraction keeps under {@code seed}, by the hash oracle:
   * a sample is named by its file and row, {@code part-00000.npy#0} .. (files of 16, 16 and 8).
   */
  private static long oracleKept(long seed, double fraction) {
    return oracleSelected(seed, fraction, 40).size();
  }

  /**
   * The indices of the samples of {@link ExampleData#small()} that a fraction and a maximum select under {@code seed},
   * by the hash oracle: those the fraction keeps, the {@code max} smallest hashes (unsigned) among them.
   */
  private static List<Integer> oracleSelected(long seed, double fraction, int max) {
    List<Integer> kept = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      if (HashOracle.kept(seed, fraction, id(i))) {
        kept.add(i);
      }
    }
    kept.sort(java.util.Comparator.comparing(i -> HashOracle.hash(seed, id(i))));
    return kept.subList(0, Math.min(max, kept.size()));
  }

  private static String id(int i) {
    return String.format("part-%05d.npy#%d", i / 16, i % 16);
  }

  /**
   * The run's activations (every tensor's range, counts and parameters) are those of a run on only the lines
   * {@code selected}, rendered again and written to a data set of their own.
   */
  private void assertSelected(String name, List<Integer> selected) throws Exception {
    Path only = tmp.resolve("only-" + name).resolve("x");
    Files.createDirectories(only);
    try (Npy.Writer w = Npy.Writer.float32(only.resolve("part-00000.npy"),
        new long[] {selected.size(), 3, TextLines.HEIGHT, TextLines.WIDTH})) {
      for (int i : selected) {
        w.writeRow(TextLines.render(ExampleData.SMALL_SEED, i).chw());
      }
    }
    calibrate("calibrated-only-" + name, "--data", only.toString());
    assertEquals(qparams("calibrated-only-" + name).get("activations"), qparams(name).get("activations"),
        name + " " + selected);
  }

  private JsonNode qparams(String name) throws Exception {
    return new ObjectMapper().readTree(tmp.resolve(name).resolve("qparams.json").toFile());
  }

  static String[] concat(String[] a, String... b) {
    List<String> l = new ArrayList<>(List.of(a));
    l.addAll(List.of(b));
    return l.toArray(new String[0]);
  }
}
