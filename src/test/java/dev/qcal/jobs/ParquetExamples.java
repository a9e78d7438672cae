package dev.qcal.jobs;

import dev.qcal.data.Npy;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The example's .npy samples rewritten as Parquet: one row per sample, in file and row order. */
final class ParquetExamples {
  private ParquetExamples() {}

  static List<float[]> read(Path npyDir) throws Exception {
    List<float[]> rows = new ArrayList<>();
    try (Stream<Path> files = Files.list(npyDir).sorted()) {
      for (Path f : files.toList()) {
        try (InputStream in = Files.newInputStream(f); Npy.Reader r = Npy.open(in, f.toString())) {
          float[] row = new float[r.rowElements()];
          while (r.readRow(row)) {
            rows.add(row.clone());
          }
        }
      }
    }
    return rows;
  }

  /** Column {@code x} as {@code array<float>}, or as {@code binary} little-endian float32. */
  static void write(SparkSession spark, Path npyDir, Path out, int files, boolean binary) throws Exception {
    List<Row> rows = new ArrayList<>();
    for (float[] v : read(npyDir)) {
      if (binary) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        rows.add(RowFactory.create((Object) b.array()));
      } else {
        List<Float> boxed = new ArrayList<>(v.length);
        for (float f : v) {
          boxed.add(f);
        }
        rows.add(RowFactory.create(boxed));
      }
    }
    StructType schema = new StructType().add("x",
        binary ? DataTypes.BinaryType : DataTypes.createArrayType(DataTypes.FloatType, false), false);
    spark.createDataFrame(rows, schema).coalesce(1).repartition(files).write().parquet(out.toString());
  }
}
