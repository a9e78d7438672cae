package dev.qcal.jobs;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.examples.TinyBert;
import dev.qcal.examples.Tokens;
import dev.qcal.testing.SharedSpark;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Token rows for the padding tests: Parquet files and cells, model files, and the per-row ONNX Runtime oracle of one tensor. */
final class TokenRows {
  private TokenRows() {}

  /** The min, max and value count of one tensor over every row run alone. */
  record Extremes(float min, float max, long count) {}

  /**
   * Runs {@code model} (whose outputs include {@code tensor}) on each BERT-style row alone, as given (no
   * padding added), and returns the extremes of {@code tensor} over all rows: what statistics that leave
   * padded positions out must equal.
   */
  static Extremes oracle(Path model, String tensor, List<Tokens.Pair> rows) throws Exception {
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    long count = 0;
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(model.toString())) {
      for (Tokens.Pair p : rows) {
        try (OnnxTensor ids = OnnxTensor.createTensor(env, new long[][] {p.inputIds()});
            OnnxTensor mask = OnnxTensor.createTensor(env, new long[][] {p.attentionMask()});
            OnnxTensor types = OnnxTensor.createTensor(env, new long[][] {p.tokenTypeIds()});
            OrtSession.Result res = s.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
          FloatBuffer f = ((OnnxTensor) res.get(tensor).get()).getFloatBuffer();
          while (f.hasRemaining()) {
            float v = f.get();
            min = Math.min(min, v);
            max = Math.max(max, v);
            count++;
          }
        }
      }
    }
    return new Extremes(min, max, count);
  }

  /** Writes {@code pairs} as Parquet (one file, columns {@link TinyBert#INPUTS} of array<long>) at {@code data}. */
  static Path parquet(Path data, List<Tokens.Pair> pairs) {
    List<Row> rows = new ArrayList<>();
    for (Tokens.Pair p : pairs) {
      rows.add(RowFactory.create(list(p.inputIds()), list(p.attentionMask()), list(p.tokenTypeIds())));
    }
    StructType schema = new StructType();
    for (String in : TinyBert.INPUTS) {
      schema = schema.add(in, DataTypes.createArrayType(DataTypes.LongType, false), false);
    }
    SharedSpark.session().createDataFrame(rows, schema).coalesce(1).write().parquet(data.toString());
    return data;
  }

  /** Writes {@code m} at {@code file}. */
  static Path model(Path file, ModelProto m) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      m.writeTo(out);
    }
    return file;
  }

  /** A Parquet {@code array<long>} cell. */
  static List<Long> list(long[] a) {
    List<Long> l = new ArrayList<>(a.length);
    for (long v : a) {
      l.add(v);
    }
    return l;
  }
}
