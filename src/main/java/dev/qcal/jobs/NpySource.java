package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.data.Entry;
import dev.qcal.data.HadoopConf;
import dev.qcal.data.InputSpec;
import dev.qcal.data.NpyFiles;
import dev.qcal.data.SampleSelection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/** Reads {@code .npy} files and {@code .npz} archives: one task per group of files read together. */
final class NpySource {
  private NpySource() {}

  /**
   * @param unnamed one {@code --data PATH} feeds every input: only {@code .npz} archives (an array per
   *     input) can do that for a model with several inputs
   */
  static JavaRDD<Entry> read(SparkSession spark, Map<String, String> byInput, boolean unnamed,
      List<InputSpec> inputs, Configuration conf, SampleSelection selection) {
    List<List<String>> files = new ArrayList<>();
    for (InputSpec in : inputs) {
      files.add(NpyFiles.list(byInput.get(in.name()), conf));
    }
    if (unnamed && inputs.size() > 1 && files.get(0).stream().anyMatch(f -> f.endsWith(".npy"))) {
      StringBuilder each = new StringBuilder();
      for (InputSpec in : inputs) {
        each.append(each.length() == 0 ? "" : " ").append("--data ").append(in.name()).append("=PATH");
      }
      throw new DataException("--data " + byInput.values().iterator().next() + ": .npy files hold one array, but the"
          + " model inputs " + InputBinding.quoted(inputs) + " each need theirs: give " + each
          + " (or .npz archives with an array named like each input)");
    }
    List<NpyFiles.Group> groups = NpyFiles.groups(inputs, files);
    HadoopConf hc = new HadoopConf(conf);
    List<InputSpec> specs = List.copyOf(inputs);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    return jsc.parallelize(groups, groups.size()).flatMap(g -> NpyFiles.entries(g, hc.get(), specs, selection));
  }
}
