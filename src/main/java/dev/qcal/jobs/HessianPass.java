package dev.qcal.jobs;

import dev.qcal.data.Batcher;
import dev.qcal.data.DataException;
import dev.qcal.data.Padding;
import dev.qcal.data.Sample;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.runtime.SessionCache;
import dev.qcal.stats.HessianSum;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaRDD;

/**
 * GPTQ's data pass: the samples through the observe pass's exposing graph on executors, batched as the
 * observe pass batches them (a padded fixed batch adds its real rows only), each layer input's rows added
 * to its {@link HessianSum}, the sums merged by tree aggregation (exactly: the result does not depend on the
 * partitioning). A value the sums refuse (not finite, or above the bound) fails the run as bad input.
 *
 * @param inputs each layer input with its width K and the bound on its values (the observed max |x|)
 */
record HessianPass(ShippedFiles.Shipped exposing, List<String> inputNames, Map<String, Input> inputs,
    int batchSize, boolean pad, int taskCpus, Padding padding) implements Serializable {

  /** One layer input: its width K and the largest |x| the observe pass saw. */
  record Input(int k, double maxAbs) implements Serializable {}

  HessianPass {
    inputNames = List.copyOf(inputNames);
    inputs = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(inputs));
  }

  /** The Hessians of every input, empty. */
  Sums empty() {
    Map<String, HessianSum> m = new LinkedHashMap<>();
    inputs.forEach((name, in) -> m.put(name, HessianSum.empty(name, in.k(), in.maxAbs())));
    return new Sums(m);
  }

  /** The Hessians of each input, by name; merged in place. */
  record Sums(Map<String, HessianSum> sums) implements Serializable {
    Sums merge(Sums other) {
      other.sums.forEach((name, h) -> sums.get(name).merge(h));
      return this;
    }
  }

  /** The Hessians of one partition. */
  Sums partition(Iterator<Sample> it) {
    Sums sums = empty();
    List<String> tensors = new ArrayList<>(inputs.keySet());
    try (ModelRunner runner = ModelRunner.pooled(exposing.sha256(), SessionCache.get(exposing.sha256(),
        Path.of(SparkFiles.get(exposing.fileName())), taskCpus), inputNames, tensors)) {
      Batcher batcher = new Batcher(inputNames.size(), batchSize, pad, Batcher.DEFAULT_OPEN_BUCKETS, padding);
      ModelRunner.OutputSink sink = (tensor, values, shape) -> {
        try {
          sums.sums().get(tensor).add(values, shape);
        } catch (IllegalArgumentException e) {
          throw new DataException("--weight-algorithm gptq: " + e.getMessage());
        }
      };
      batcher.forEach(it, b -> runner.run(b, ModelRunner.realRows(b, sink)));
    }
    return sums;
  }

  /** The pass over {@code samples}, merged by tree aggregation. */
  Sums run(JavaRDD<Sample> samples) {
    JavaRDD<Sums> perPartition = samples.mapPartitions(it -> List.of(partition(it)).iterator());
    return perPartition.treeAggregate(empty(), Sums::merge, Sums::merge);
  }
}
