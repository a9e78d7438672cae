package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.data.Npy;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
 * Bad data for typed inputs: exit 2, one line naming the file (and row) and the input with what was
 * expected and found, nothing written.
 */
@ExtendWith(SharedSpark.class)
class CalibrateTypedBadInputTest {
  private static final int LEN = CalibrateTokenInputsTest.LEN;

  @TempDir Path tmp;

  private Path out() {
    return tmp.resolve("out");
  }

  private Cli calibrate(Path model, String... data) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--out", out().toString()));
    args.addAll(List.of(data));
    return Cli.run(args.toArray(new String[0]));
  }

  private static void assertOneLine(Cli r) {
    assertEquals(1, r.err().lines().count(), "one line only: " + r.err());
  }

  /** Valid ids and an all-ones mask of {@code rows} rows as int64 files; returns the ids. */
  private long[] write(int rows) throws Exception {
    long[] ids = new long[rows * LEN];
    long[] mask = new long[rows * LEN];
    Arrays.fill(ids, 3);
    Arrays.fill(mask, 1);
    Files.createDirectories(tmp.resolve("ids"));
    Files.createDirectories(tmp.resolve("mask"));
    Npy.writeInt64(tmp.resolve("mask/0.npy"), mask, new long[] {rows, LEN});
    Npy.writeInt64(tmp.resolve("ids/0.npy"), ids, new long[] {rows, LEN});
    return ids;
  }

  @Test
  void anInt64ValueTooBigForAnInt32Input(SparkSession spark) throws Exception {
    Path model = CalibrateTokenInputsTest.model(tmp, TensorProto.DataType.INT32_VALUE);
    long[] ids = write(4);
    ids[2 * LEN + 1] = 1L << 40;
    Path idsFile = tmp.resolve("ids/0.npy");
    Npy.writeInt64(idsFile, ids, new long[] {4, LEN});
    Cli r = calibrate(model, "--data", "input_ids=" + tmp.resolve("ids"), "--data", "attention_mask=" + tmp.resolve("mask"));
    r.assertBadInput(out(), idsFile + ":2: input 'input_ids' (int32, the file holds int64): element 1: 1099511627776"
        + " is outside int32's range");
    assertOneLine(r);
  }

  @Test
  void skipDropsAndCountsValuesThatDoNotFit(SparkSession spark) throws Exception {
    Path model = CalibrateTokenInputsTest.model(tmp, TensorProto.DataType.INT32_VALUE);
    long[] ids = write(5);
    ids[LEN] = -(1L << 33);
    ids[3 * LEN + 5] = 1L << 40;
    Npy.writeInt64(tmp.resolve("ids/0.npy"), ids, new long[] {5, LEN});
    Cli r = calibrate(model, "--data", "input_ids=" + tmp.resolve("ids"), "--data", "attention_mask=" + tmp.resolve("mask"),
        "--on-bad-record", "skip");
    assertEquals(0, r.code(), r.err());
    com.fasterxml.jackson.databind.JsonNode run =
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(out().resolve("run.json").toFile());
    assertEquals(3, run.get("samples").asLong());
    assertEquals("{\"does_not_fit\":2}", run.get("skipped_records").toString());
  }

  @Test
  void floatDataForAnInt64Input(SparkSession spark) throws Exception {
    Path model = CalibrateTokenInputsTest.model(tmp);
    write(2);
    Path idsFile = tmp.resolve("ids/0.npy");
    Npy.writeFloat32(idsFile, new float[2 * LEN], new long[] {2, LEN});
    Cli r = calibrate(model, "--data", "input_ids=" + tmp.resolve("ids"), "--data", "attention_mask=" + tmp.resolve("mask"));
    r.assertBadInput(out(), idsFile.toString(), "input 'input_ids' is int64 but the file holds float32 ('<f4')");
    assertOneLine(r);
  }

  @Test
  void aNonIntegralNumberInACsvCellForAnInt64Input(SparkSession spark) throws Exception {
    Path model = CalibrateTokenInputsTest.model(tmp);
    Path csv = tmp.resolve("tokens.csv");
    Files.writeString(csv, "ids,mask\n\"3 3 3 3 3 3\",\"1 1 1 1 1 1\"\n\"3 3 1.5 3 3 3\",\"1 1 1 1 1 1\"\n");
    Cli r = calibrate(model, "--data", csv.toString(), "--input", "input_ids=ids", "--input", "attention_mask=mask");
    r.assertBadInput(out(), "tokens.csv", "row 1", "column 'ids' for input 'input_ids' (int64): element 2: '1.5' is not"
        + " an integer");
    assertOneLine(r);
  }

  @Test
  void aComplexNpy(SparkSession spark) throws Exception {
    Path model = CalibrateTokenInputsTest.model(tmp);
    write(2);
    Path idsFile = tmp.resolve("ids/0.npy");
    // a header numpy.save writes for complex64 data, and its bytes
    byte[] h = Npy.header("<c8", new long[] {2, LEN});
    byte[] file = new byte[h.length + 2 * LEN * 8];
    System.arraycopy(h, 0, file, 0, h.length);
    Files.write(idsFile, file);
    Cli r = calibrate(model, "--data", "input_ids=" + tmp.resolve("ids"), "--data", "attention_mask=" + tmp.resolve("mask"));
    r.assertBadInput(out(), idsFile.toString(), "found '<c8' (complex64)", "input 'input_ids' int64[N,6]");
    assertOneLine(r);
  }

  private Path table(String name, DataType element, List<Object> idsRow) {
    StructType schema = new StructType()
        .add("ids", DataTypes.createArrayType(element, false), false)
        .add("mask", DataTypes.createArrayType(DataTypes.LongType, false), false);
    List<Long> ones = new ArrayList<>();
    for (int j = 0; j < LEN; j++) {
      ones.add(1L);
    }
    List<Row> rows = List.of(RowFactory.create(idsRow, ones));
    Path t = tmp.resolve(name);
    SparkSession.active().createDataFrame(rows, schema).coalesce(1).write().parquet(t.toString());
    return t;
  }

  @Test
  void anArrayOfStringColumnWithAWordForAnInt64Input(SparkSession spark) throws Exception {
    Path model = CalibrateTokenInputsTest.model(tmp);
    Path t = table("words.parquet", DataTypes.StringType, List.of("3", "3", "3", "hello", "3", "3"));
    Cli r = calibrate(model, "--data", t.toString(), "--input", "input_ids=ids", "--input", "attention_mask=mask");
    r.assertBadInput(out(), t.toString(), "row 0", "column 'ids' for input 'input_ids' (int64) has a non-numeric value"
        + " 'hello' at element 3");
    assertOneLine(r);
  }

  @Test
  void anArrayOfDoubleColumnForAnInt64Input(SparkSession spark) throws Exception {
    Path model = CalibrateTokenInputsTest.model(tmp);
    Path t = table("doubles.parquet", DataTypes.DoubleType, List.of(3.0, 3.0, 3.0, 3.0, 3.0, 3.0));
    Cli r = calibrate(model, "--data", t.toString(), "--input", "input_ids=ids", "--input", "attention_mask=mask");
    r.assertBadInput(out(), t.toString(), "column 'ids' is array<double> but input 'input_ids' is int64");
    assertOneLine(r);
  }
}
