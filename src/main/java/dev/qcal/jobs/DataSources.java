package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.data.HadoopConf;
import dev.qcal.data.InputSpec;
import dev.qcal.data.NpyFiles;
import dev.qcal.data.Sample;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/** Turns {@code --data} arguments into an RDD of samples bound to the model's inputs. */
final class DataSources {
  private DataSources() {}

  enum Format { NPY, PARQUET }

  static JavaRDD<Sample> open(
      SparkSession spark, List<String> data, List<InputSpec> inputs, Map<String, long[]> sampleShapes) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Map<String, String> byInput = bind(data, inputs);
    String first = byInput.values().iterator().next();
    Format format = detect(first, conf);
    for (String p : byInput.values()) {
      if (detect(p, conf) != format) {
        throw new DataException("all --data paths must have the same format: " + first + " is " + format
            + " but " + p + " is not");
      }
    }
    for (String name : sampleShapes.keySet()) {
      if (inputs.stream().noneMatch(i -> i.name().equals(name))) {
        throw new DataException("--sample-shape names '" + name + "' but the model's inputs are " + names(inputs));
      }
    }
    return switch (format) {
      case NPY -> npy(spark, byInput, inputs, conf);
      case PARQUET -> parquet(spark, byInput, inputs, sampleShapes);
    };
  }

  /** {@code PATH} alone feeds every input; {@code name=PATH} binds one input. */
  static Map<String, String> bind(List<String> data, List<InputSpec> inputs) {
    Map<String, String> byInput = new LinkedHashMap<>();
    if (data.size() == 1 && !isBinding(data.get(0), inputs)) {
      for (InputSpec in : inputs) {
        byInput.put(in.name(), data.get(0));
      }
      return byInput;
    }
    Map<String, String> given = new LinkedHashMap<>();
    for (String d : data) {
      int eq = d.indexOf('=');
      if (eq <= 0 || !isBinding(d, inputs)) {
        throw new DataException("--data '" + d + "': with several --data options each must be name=PATH for one of "
            + names(inputs));
      }
      given.put(d.substring(0, eq), d.substring(eq + 1));
    }
    for (InputSpec in : inputs) {
      String p = given.get(in.name());
      if (p == null) {
        throw new DataException("no --data for model input '" + in.name() + "' (inputs: " + names(inputs) + ")");
      }
      byInput.put(in.name(), p);
    }
    return byInput;
  }

  private static boolean isBinding(String d, List<InputSpec> inputs) {
    int eq = d.indexOf('=');
    return eq > 0 && inputs.stream().anyMatch(i -> i.name().equals(d.substring(0, eq)));
  }

  private static List<String> names(List<InputSpec> inputs) {
    return inputs.stream().map(InputSpec::name).toList();
  }

  static Format detect(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.exists(p)) {
        throw new DataException("data not found: " + path);
      }
      FileStatus st = fs.getFileStatus(p);
      if (st.isFile()) {
        if (path.endsWith(".npy")) {
          return Format.NPY;
        }
        if (path.endsWith(".parquet")) {
          return Format.PARQUET;
        }
      } else {
        boolean npy = false;
        boolean parquet = false;
        for (FileStatus f : fs.listStatus(p)) {
          String n = f.getPath().getName();
          npy |= n.endsWith(".npy");
          parquet |= n.endsWith(".parquet") || (f.isDirectory() && n.contains("="));
        }
        if (npy && !parquet) {
          return Format.NPY;
        }
        if (parquet && !npy) {
          return Format.PARQUET;
        }
      }
      throw new DataException(path + ": cannot tell the data format: expected a .npy file, a directory of .npy"
          + " files, or a Parquet file or directory");
    } catch (IOException e) {
      throw new DataException(path + ": cannot read: " + e.getMessage(), e);
    }
  }

  private static JavaRDD<Sample> npy(
      SparkSession spark, Map<String, String> byInput, List<InputSpec> inputs, Configuration conf) {
    List<List<String>> files = new ArrayList<>();
    for (InputSpec in : inputs) {
      files.add(NpyFiles.list(byInput.get(in.name()), conf));
    }
    List<NpyFiles.Group> groups = NpyFiles.groups(inputs, files);
    HadoopConf hc = new HadoopConf(conf);
    List<InputSpec> specs = List.copyOf(inputs);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    return jsc.parallelize(groups, groups.size()).flatMap(g -> NpyFiles.read(g, hc.get(), specs));
  }

  private static JavaRDD<Sample> parquet(
      SparkSession spark, Map<String, String> byInput, List<InputSpec> inputs, Map<String, long[]> sampleShapes) {
    String path = byInput.values().iterator().next();
    for (String p : byInput.values()) {
      if (!p.equals(path)) {
        throw new DataException("Parquet data feeds every input from one table's columns; got " + path + " and " + p);
      }
    }
    Dataset<Row> df = spark.read().parquet(path);
    List<org.apache.spark.sql.Column> cols = new ArrayList<>();
    for (InputSpec in : inputs) {
      StructField f = field(df, in.name(), path);
      DataType t = f.dataType();
      if (!(t instanceof ArrayType a)
          || !(a.elementType().equals(DataTypes.FloatType) || a.elementType().equals(DataTypes.DoubleType))) {
        throw new DataException(path + ": column '" + in.name() + "' is " + t.simpleString()
            + ", expected array<float> (one flat sample per row)");
      }
      cols.add(functions.col(in.name()).cast(DataTypes.createArrayType(DataTypes.FloatType)));
    }
    cols.add(functions.input_file_name());
    List<InputSpec> specs = List.copyOf(inputs);
    long[][] declared = new long[inputs.size()][];
    for (int i = 0; i < declared.length; i++) {
      declared[i] = sampleShapes.get(inputs.get(i).name());
    }
    return df.select(cols.toArray(new org.apache.spark.sql.Column[0])).javaRDD()
        .map(row -> toSample(row, specs, declared));
  }

  private static StructField field(Dataset<Row> df, String name, String path) {
    for (StructField f : df.schema().fields()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    throw new DataException(path + ": no column named like model input '" + name + "' (columns: "
        + Arrays.toString(df.schema().fieldNames()) + ")");
  }

  private static Sample toSample(Row row, List<InputSpec> specs, long[][] declared) {
    int n = specs.size();
    String source = row.getString(n) + " (a row)";
    float[][] values = new float[n][];
    long[][] shapes = new long[n][];
    for (int i = 0; i < n; i++) {
      if (row.isNullAt(i)) {
        throw new DataException(source + ": column '" + specs.get(i).name() + "' is null");
      }
      List<Object> list = row.getList(i);
      float[] v = new float[list.size()];
      for (int j = 0; j < v.length; j++) {
        Object o = list.get(j);
        if (o == null) {
          throw new DataException(source + ": column '" + specs.get(i).name() + "' has a null at element " + j);
        }
        v[j] = (Float) o;
      }
      values[i] = v;
      shapes[i] = specs.get(i).shapeOfFlat(v.length, declared[i], source);
    }
    return new Sample(values, shapes, source);
  }
}
