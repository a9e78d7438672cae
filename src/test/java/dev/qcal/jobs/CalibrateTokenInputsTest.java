package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A token model with int64 inputs {@code input_ids} and {@code attention_mask} [N, L] calibrates from
 * int64 {@code .npy} files, from a Parquet table of {@code array<long>} columns, from JSON lines and from CSV
 * cells, with equal statistics.
 */
@ExtendWith(SharedSpark.class)
class CalibrateTokenInputsTest {
  static final int VOCAB = 10;
  static final int DIM = 4;
  static final int LEN = 6;
  static final int ROWS = 9;

  @TempDir Path tmp;

  /** The embedding table: row v is token v's vector. */
  static float[] embedding() {
    return TestGraphs.randomFloats(VOCAB * DIM, 11);
  }

  /**
   * emb = Gather(E, input_ids) [N,L,D]; masked = emb * Unsqueeze(Cast(attention_mask, float), 2);
   * out = masked @ W [N,L,3]; emb_out = emb @ W (so the Gather output is a calibrated MatMul input).
   */
  static Path model(Path dir) {
    return model(dir, TensorProto.DataType.INT64_VALUE);
  }

  /** The model with {@code input_ids} of ONNX type {@code idsType} (Gather takes int32 or int64 indices). */
  static Path model(Path dir, int idsType) {
    TensorProto axes = TensorProto.newBuilder().setName("axis2").setDataType(TensorProto.DataType.INT64_VALUE)
        .addDims(1).addInt64Data(2).build();
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("Gather", "embed", List.of("E", "input_ids"), List.of("emb"), TestGraphs.i("axis", 0)),
            TestGraphs.node("Cast", "cast", List.of("attention_mask"), List.of("maskf"),
                TestGraphs.i("to", TensorProto.DataType.FLOAT_VALUE)),
            TestGraphs.node("Unsqueeze", "unsq", List.of("maskf", "axis2"), List.of("mask3")),
            TestGraphs.node("Mul", "mask", List.of("emb", "mask3"), List.of("masked")),
            TestGraphs.node("MatMul", "proj", List.of("masked", "W"), List.of("out")),
            TestGraphs.node("MatMul", "proj_emb", List.of("emb", "W"), List.of("emb_out"))),
        List.of(TestGraphs.typedBatchInput("input_ids", idsType, LEN),
            TestGraphs.typedBatchInput("attention_mask", TensorProto.DataType.INT64_VALUE, LEN)),
        List.of(TestGraphs.floatInfo("out"), TestGraphs.floatInfo("emb_out")),
        List.of(TestGraphs.floatTensor("E", new long[] {VOCAB, DIM}, embedding()),
            TestGraphs.floatTensor("W", new long[] {DIM, 3}, TestGraphs.randomFloats(DIM * 3, 12)), axes));
    Path f = dir.resolve("tokens.onnx");
    OnnxModels.save(m, f);
    return f;
  }

  /** Token ids of the rows: each row uses a few ids of the vocabulary (never 0 and 9, so they must not count). */
  static long[] ids() {
    Random r = new Random(5);
    long[] ids = new long[ROWS * LEN];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 1 + r.nextInt(VOCAB - 2);
    }
    return ids;
  }

  /** Row k has k % LEN + 1 valid positions, the rest masked. */
  static long[] mask() {
    long[] m = new long[ROWS * LEN];
    for (int k = 0; k < ROWS; k++) {
      for (int j = 0; j <= k % LEN; j++) {
        m[k * LEN + j] = 1;
      }
    }
    return m;
  }

  private static JsonNode calibrate(Path model, Path out, String... data) throws Exception {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--out", out.toString(),
        "--batch-size", "4"));
    args.addAll(List.of(data));
    Cli r = Cli.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    return new ObjectMapper().readTree(out.resolve("qparams.json").toFile());
  }

  @Test
  void int64NpyParquetJsonAndCsvGiveTheSameStatistics(SparkSession spark) throws Exception {
    Path model = model(tmp);
    long[] ids = ids();
    long[] mask = mask();
    Files.createDirectories(tmp.resolve("ids"));
    Files.createDirectories(tmp.resolve("mask"));
    Npy.writeInt64(tmp.resolve("ids/0.npy"), ids, new long[] {ROWS, LEN});
    Npy.writeInt64(tmp.resolve("mask/0.npy"), mask, new long[] {ROWS, LEN});
    JsonNode fromNpy = calibrate(model, tmp.resolve("out-npy"),
        "--data", "input_ids=" + tmp.resolve("ids"), "--data", "attention_mask=" + tmp.resolve("mask"));

    List<Row> rows = new ArrayList<>();
    for (int k = 0; k < ROWS; k++) {
      List<Long> i = new ArrayList<>();
      List<Long> m = new ArrayList<>();
      for (int j = 0; j < LEN; j++) {
        i.add(ids[k * LEN + j]);
        m.add(mask[k * LEN + j]);
      }
      rows.add(RowFactory.create(i, m));
    }
    StructType schema = new StructType()
        .add("ids", DataTypes.createArrayType(DataTypes.LongType, false), false)
        .add("mask", DataTypes.createArrayType(DataTypes.LongType, false), false);
    Path table = tmp.resolve("tokens.parquet");
    spark.createDataFrame(rows, schema).repartition(2).write().parquet(table.toString());
    JsonNode fromParquet = calibrate(model, tmp.resolve("out-parquet"), "--data", table.toString(),
        "--input", "input_ids=ids", "--input", "attention_mask=mask");

    // JSON lines ([3, 1, ...] is inferred as array<bigint>) and CSV cells listing the ids
    StringBuilder json = new StringBuilder();
    StringBuilder csv = new StringBuilder("ids,mask\n");
    for (int k = 0; k < ROWS; k++) {
      long[] i = Arrays.copyOfRange(ids, k * LEN, (k + 1) * LEN);
      long[] m = Arrays.copyOfRange(mask, k * LEN, (k + 1) * LEN);
      json.append("{\"ids\": ").append(Arrays.toString(i)).append(", \"mask\": ").append(Arrays.toString(m))
          .append("}\n");
      csv.append('"').append(Arrays.toString(i)).append("\",\"").append(Arrays.toString(m)).append("\"\n");
    }
    Files.writeString(tmp.resolve("tokens.json"), json);
    Files.writeString(tmp.resolve("tokens.csv"), csv);
    JsonNode fromJson = calibrate(model, tmp.resolve("out-json"), "--data", tmp.resolve("tokens.json").toString(),
        "--input", "input_ids=ids", "--input", "attention_mask=mask");
    JsonNode fromCsv = calibrate(model, tmp.resolve("out-csv"), "--data", tmp.resolve("tokens.csv").toString(),
        "--input", "input_ids=ids", "--input", "attention_mask=mask");

    assertEquals(ROWS, fromNpy.get("samples").asLong());
    for (JsonNode other : List.of(fromParquet, fromJson, fromCsv)) {
      assertEquals(fromNpy.get("activations"), other.get("activations"));
      assertEquals(fromNpy.get("weights"), other.get("weights"));
    }
    // neither integer input is a statistics tensor
    assertTrue(!fromNpy.get("activations").has("input_ids") && !fromNpy.get("activations").has("attention_mask"),
        fromNpy.get("activations").toString());

    // by hand: the Gather output holds exactly the embedding rows of the ids used (0 and 9 are not)
    float[] e = embedding();
    float embMin = Float.POSITIVE_INFINITY;
    float embMax = Float.NEGATIVE_INFINITY;
    for (long id : ids) {
      for (int d = 0; d < DIM; d++) {
        embMin = Math.min(embMin, e[(int) id * DIM + d]);
        embMax = Math.max(embMax, e[(int) id * DIM + d]);
      }
    }
    JsonNode emb = fromNpy.get("activations").get("emb");
    assertEquals(embMin, emb.get("min").floatValue());
    assertEquals(embMax, emb.get("max").floatValue());
    assertEquals((long) ROWS * LEN * DIM, emb.get("count").asLong());
    // by hand: the masked embeddings are the embedding rows of the ids at valid positions, and 0 at masked ones
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (int p = 0; p < ids.length; p++) {
      for (int d = 0; d < DIM; d++) {
        float v = mask[p] == 1 ? e[(int) ids[p] * DIM + d] : 0f;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
    JsonNode masked = fromNpy.get("activations").get("masked");
    assertEquals(min, masked.get("min").floatValue());
    assertEquals(max, masked.get("max").floatValue());
    assertEquals((long) ROWS * LEN * DIM, masked.get("count").asLong());
  }

  @Test
  void theQuantizedTokenModelEvaluatesOnInt64Data(SparkSession spark) throws Exception {
    Path model = model(tmp);
    Files.createDirectories(tmp.resolve("ids"));
    Files.createDirectories(tmp.resolve("mask"));
    Npy.writeInt64(tmp.resolve("ids/0.npy"), ids(), new long[] {ROWS, LEN});
    Npy.writeInt64(tmp.resolve("mask/0.npy"), mask(), new long[] {ROWS, LEN});
    String[] data = {"--data", "input_ids=" + tmp.resolve("ids"), "--data", "attention_mask=" + tmp.resolve("mask")};
    calibrate(model, tmp.resolve("cal"), data);
    List<String> args = new ArrayList<>(List.of("evaluate", "--fp32", model.toString(), "--quantized",
        tmp.resolve("cal/quantized.onnx").toString(), "--out", tmp.resolve("eval").toString(), "--batch-size", "4"));
    args.addAll(List.of(data));
    Cli r = Cli.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    JsonNode eval = new ObjectMapper().readTree(tmp.resolve("eval/eval.json").toFile());
    assertEquals(ROWS, eval.get("samples").asLong());
    assertEquals(2, eval.get("outputs").size(), eval.toString());
    // the SQNR of both models run here on the same ids and mask, all rows at once
    Map<String, float[]> in = Map.of("input_ids", floats(ids()), "attention_mask", floats(mask()));
    Map<String, long[]> shapes = Map.of("input_ids", new long[] {ROWS, LEN}, "attention_mask", new long[] {ROWS, LEN});
    Map<String, float[]> ref = Ort.run(model, in, shapes);
    Map<String, float[]> quant = Ort.run(tmp.resolve("cal/quantized.onnx"), in, shapes);
    for (String name : List.of("out", "emb_out")) {
      JsonNode out = eval.get("outputs").get(name);
      assertEquals(sqnrDb(ref.get(name), quant.get(name)), out.get("sqnr_db").asDouble(), 1e-6, name);
      // int8 activations of a 3-wide projection of 4-d embeddings: close to FP32, not equal
      assertTrue(out.get("sqnr_db").asDouble() > 20, out.toString());
    }
  }

  private static float[] floats(long[] v) {
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = v[i];
    }
    return f;
  }

  /** 10 log10(sum ref^2 / sum (quant - ref)^2). */
  private static double sqnrDb(float[] ref, float[] quant) {
    double signal = 0;
    double noise = 0;
    for (int i = 0; i < ref.length; i++) {
      signal += (double) ref[i] * ref[i];
      noise += ((double) quant[i] - ref[i]) * ((double) quant[i] - ref[i]);
    }
    return 10 * Math.log10(signal / noise);
  }
}
