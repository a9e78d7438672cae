package dev.qcal.cli;

import dev.qcal.examples.TinyBert;
import dev.qcal.examples.Tokens;
import dev.qcal.jobs.SparkSessions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The NLP example of {@code example-data --kind bert}: the BERT-style model and its token tables as Parquet. */
final class BertExample {
  static final String MODEL = "model.onnx";
  static final String TOKENS = "tokens.parquet";
  static final String EVAL = "eval.parquet";
  /** The example model's weights (the data's seed is the user's). */
  static final long MODEL_SEED = 1;
  static final int OPSET = 17;

  private BertExample() {}

  /** Writes {@link #MODEL}, {@code count} rows of seed {@code seed} as {@link #TOKENS}, {@code evalCount} of {@code seed + 1} as {@link #EVAL}. */
  static void write(Path dir, int count, int evalCount, long seed, int seq) throws IOException {
    Files.write(dir.resolve(MODEL), TinyBert.build(OPSET, MODEL_SEED).toByteArray());
    try (SparkSessions.Handle session = SparkSessions.open("qcal example-data", null)) {
      writeTable(session, dir.resolve(TOKENS), count, seed, seq);
      writeTable(session, dir.resolve(EVAL), evalCount, seed + 1, seq);
    }
  }

  private static void writeTable(SparkSessions.Handle session, Path file, int rows, long seed, int seq) {
    StructType schema = new StructType();
    for (String column : TinyBert.INPUTS) {
      schema = schema.add(column, DataTypes.createArrayType(DataTypes.LongType, false), false);
    }
    List<Row> data = new ArrayList<>(rows);
    for (int k = 0; k < rows; k++) {
      Tokens.Pair p = Tokens.bert(seed, k, seq, TinyBert.VOCAB);
      data.add(RowFactory.create(boxed(p.inputIds()), boxed(p.attentionMask()), boxed(p.tokenTypeIds())));
    }
    session.spark().createDataFrame(data, schema).coalesce(1).write().parquet(file.toUri().toString());
  }

  private static List<Long> boxed(long[] v) {
    List<Long> out = new ArrayList<>(v.length);
    for (long x : v) {
      out.add(x);
    }
    return out;
  }
}
