package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.cli.Main;
import dev.qcal.data.Npy;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --on-bad-record}: under fail each bad-record kind stops the run naming the file and row (exit 2,
 * no output); under skip the run succeeds on the good records and counts the bad ones per reason.
 */
@ExtendWith(SharedSpark.class)
class CalibrateBadRecordTest {
  private static final int ROW_FLOATS = 3 * 48 * 192;
  @TempDir Path tmp;

  private Cli calibrate(String out, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--out", tmp.resolve(out).toString()));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  private void assertFails(Cli r, String out, String... fragments) {
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    String line = r.errorLine();
    for (String f : fragments) {
      assertTrue(line.contains(f), "'" + line + "' should contain '" + f + "'");
    }
    assertFalse(Files.exists(tmp.resolve(out)), "nothing written");
  }

  private JsonNode assertSkips(Cli r, String out, long samples, Map<String, Long> skipped) throws Exception {
    assertEquals(0, r.code(), r.err());
    JsonNode run = new ObjectMapper().readTree(tmp.resolve(out).resolve("run.json").toFile());
    assertEquals(samples, run.get("samples").asLong());
    assertEquals(skipped.size(), run.get("skipped_records").size(), run.toString());
    skipped.forEach((k, v) -> assertEquals(v, run.get("skipped_records").get(k).asLong(), k));
    return run;
  }

  /** The small example's .npy files plus {@code extra}. */
  private Path npyDirWith(String name) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(name));
    try (Stream<Path> s = Files.list(ExampleData.small().resolve("x"))) {
      for (Path f : s.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    return dir;
  }

  @Test
  void undecodableNpy() throws Exception {
    Path dir = npyDirWith("undecodable");
    Files.writeString(dir.resolve("zz-bad.npy"), "not an npy file at all");
    assertFails(calibrate("f", "--data", dir.toString()), "f", "zz-bad.npy");
    assertSkips(calibrate("s", "--data", dir.toString(), "--on-bad-record", "skip"), "s", 40,
        Map.of("undecodable", 1L));
  }

  @Test
  void truncatedNpy() throws Exception {
    Path dir = npyDirWith("truncated");
    Path cut = dir.resolve("zz-cut.npy");
    Files.copy(ExampleData.small().resolve("x").resolve(firstFile()), cut);
    long header;
    try (Npy.Reader r = Npy.open(cut)) {
      assertEquals(16, r.rows());
      header = Files.size(cut) - 16L * ROW_FLOATS * 4;
    }
    try (FileChannel ch = FileChannel.open(cut, StandardOpenOption.WRITE)) {
      ch.truncate(header + 5L * ROW_FLOATS * 4 + 100); // rows 0-4 whole, row 5 cut short
    }
    assertFails(calibrate("f", "--data", dir.toString()), "f", "zz-cut.npy", "row 5");
    assertSkips(calibrate("s", "--data", dir.toString(), "--on-bad-record", "skip"), "s", 45,
        Map.of("truncated", 11L));
    // with --max-samples the first pass meets the bad rows: fail stops there, skip counts them all
    assertFails(calibrate("fm", "--data", dir.toString(), "--max-samples", "20"), "fm", "zz-cut.npy", "row 5");
    assertSkips(calibrate("sm", "--data", dir.toString(), "--max-samples", "20", "--on-bad-record", "skip",
        "--partitions", "4"), "sm", 20, Map.of("truncated", 11L));
  }

  @Test
  void npyShapeThatDoesNotFit() throws Exception {
    Path dir = npyDirWith("shape");
    Npy.writeFloat32(dir.resolve("zz-shape.npy"), new float[2 * 48 * 192], new long[] {2, 1, 48, 192});
    assertFails(calibrate("f", "--data", dir.toString()), "f", "zz-shape.npy", "does not fit");
    assertSkips(calibrate("s", "--data", dir.toString(), "--on-bad-record", "skip"), "s", 40,
        Map.of("shape_mismatch", 2L));
  }

  private String firstFile() throws Exception {
    try (Stream<Path> s = Files.list(ExampleData.small().resolve("x"))) {
      return s.map(p -> p.getFileName().toString()).sorted().findFirst().orElseThrow();
    }
  }

  /** 8 good rows as numeric strings, then one bad row. */
  private Path parquetWith(SparkSession spark, String name, List<String> bad) throws Exception {
    List<Row> rows = new ArrayList<>();
    List<float[]> good = ParquetExamples.read(ExampleData.small().resolve("x"));
    for (int i = 0; i < 8; i++) {
      List<String> v = new ArrayList<>(ROW_FLOATS);
      for (float f : good.get(i)) {
        v.add(Float.toString(f));
      }
      rows.add(RowFactory.create(v));
    }
    rows.add(RowFactory.create(bad));
    StructType schema = new StructType().add("x", DataTypes.createArrayType(DataTypes.StringType, true), true);
    Path p = tmp.resolve(name);
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(p.toString());
    return p;
  }

  private void parquetKind(SparkSession spark, List<String> bad, String reason, String fragment) throws Exception {
    Path p = parquetWith(spark, reason, bad);
    String[] data = {"--data", p.toString(), "--sample-shape", "x=3,48,192"};
    assertFails(calibrate("f-" + reason, data), "f-" + reason, ".parquet row 8", fragment);
    assertSkips(calibrate("s-" + reason, CalibrateSamplingTest.concat(data, "--on-bad-record", "skip")),
        "s-" + reason, 8, Map.of(reason, 1L));
  }

  private static List<String> zeros(int n) {
    List<String> v = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      v.add("0");
    }
    return v;
  }

  @Test
  void parquetWrongElementCount(SparkSession spark) throws Exception {
    parquetKind(spark, zeros(ROW_FLOATS - 3), "wrong_element_count", "values do not fit");
  }

  @Test
  void parquetNonNumericValue(SparkSession spark) throws Exception {
    List<String> v = zeros(ROW_FLOATS);
    v.set(7, "seven");
    parquetKind(spark, v, "non_numeric", "non-numeric value 'seven' at element 7");
  }

  @Test
  void parquetNullValue(SparkSession spark) throws Exception {
    List<String> v = zeros(ROW_FLOATS);
    v.set(3, null);
    parquetKind(spark, v, "null_value", "null at element 3");
  }

  @Test
  void parquetNullRow(SparkSession spark) throws Exception {
    Path p = parquetWith(spark, "nullrow", null);
    assertSkips(calibrate("s", "--data", p.toString(), "--sample-shape", "x=3,48,192", "--on-bad-record", "skip"),
        "s", 8, Map.of("null_value", 1L));
  }
}
