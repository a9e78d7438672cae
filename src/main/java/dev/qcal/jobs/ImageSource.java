package dev.qcal.jobs;

import dev.qcal.data.BadRecordException;
import dev.qcal.data.DataException;
import dev.qcal.data.ElemType;
import dev.qcal.data.Elements;
import dev.qcal.data.Entry;
import dev.qcal.data.ImagePipeline;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Sample;
import dev.qcal.data.SampleSelection;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Reads an image folder (Spark's {@code binaryFile} source, recursive; PNG, JPEG, BMP) through the
 * {@code --preprocess} pipeline, one sample per file keyed by its path relative to the folder.
 */
final class ImageSource {
  private ImageSource() {}

  private static final String IMAGE_GLOB = "*.{png,PNG,jpg,JPG,jpeg,JPEG,bmp,BMP}";

  static JavaRDD<Entry> read(SparkSession spark, String path, List<InputSpec> inputs, String preprocess,
      SampleSelection selection) {
    if (inputs.size() != 1) {
      throw new DataException(path + ": an image folder feeds a model with one input; the model has "
          + InputBinding.names(inputs));
    }
    if (preprocess == null) {
      throw new DataException(path + ": an image folder needs --preprocess FILE (the JSON preprocessing pipeline;"
          + " jobs/ppocr-cls-preprocess.json is the example's)");
    }
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    ImagePipeline pipeline = ImagePipeline.parse(readConfig(preprocess, conf), preprocess);
    InputSpec input = inputs.get(0);
    if (!input.type().isFloat()) {
      throw new DataException(path + ": an image folder feeds a float input (the --preprocess pipeline computes"
          + " floats); input '" + input.name() + "' is " + input.type() + ": give its data as .npy or a table");
    }
    String root = DataSources.rootPath(path, conf);
    Dataset<Row> df = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
        .option("pathGlobFilter", IMAGE_GLOB).load(path).select("path", "content");
    return df.javaRDD().map(row -> {
      String file = row.getString(0);
      SampleSelection.Key key = selection.key(DataSources.relative(file, root));
      if (!selection.inFraction(key)) {
        return Entry.good(key, null);
      }
      try {
        Sample s = asType(pipeline.apply((byte[]) row.get(1), file), input);
        input.check(s.shapes()[0], file);
        return Entry.good(key, s);
      } catch (BadRecordException e) {
        return Entry.bad(key, e);
      }
    });
  }

  private static String readConfig(String preprocess, Configuration conf) {
    try {
      Path p = new Path(preprocess);
      try (var in = p.getFileSystem(conf).open(p)) {
        return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new DataException(preprocess + ": cannot read the preprocessing config: " + e.getMessage(), e);
    }
  }

  /** A one-input float32 sample in {@code input}'s float type (float16 and float64 round to nearest). */
  private static Sample asType(Sample s, InputSpec input) {
    if (input.type() == ElemType.FLOAT32) {
      return s;
    }
    float[] f = (float[]) s.values()[0];
    Object typed = input.type().newArray(f.length);
    for (int k = 0; k < f.length; k++) {
      String why = Elements.putDouble(typed, input.type(), k, f[k]);
      if (why != null) {
        throw new BadRecordException(BadRecordException.DOES_NOT_FIT, s.source() + ": input '" + input.name() + "' ("
            + input.type() + "): element " + k + ": " + why);
      }
    }
    return new Sample(new Object[] {typed}, s.shapes(), s.source());
  }
}
