package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher;
import dev.qcal.data.Sample;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.prepare.FixedBatch;
import dev.qcal.model.qdq.SingleTensorQdq;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.runtime.SessionCache;
import dev.qcal.stats.OutputComparison;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * Per-tensor sensitivity on Spark: for each quantized tensor of a QDQ model, the model output SQNR and
 * top-1 agreement against the prepared FP32 model when only that tensor is quantize-dequantized
 * ({@link SingleTensorQdq}), on a deterministic sample of the evaluation data, ranked most sensitive
 * first.
 *
 * <p>The sample is the {@code n} samples with the smallest hash of their values ({@link Sample#contentHash}: where
 * they are stored does not matter), found with {@code takeOrdered} and broadcast in that order; tasks are
 * spread over the tensors, and each task builds its variants from the two shipped models, so every
 * figure is computed from the same batches in the same order whatever the partitioning of the data or
 * of the tensors.
 */
final class Sensitivity {
  static final String METRIC = "output_sqnr_db";

  /** FP32 outputs of the sample kept per task for all its variants, at most (floats): 64 MiB. */
  static final long KEEP_REFERENCE_FLOATS = 16L << 20;

  private Sensitivity() {}

  /** One tensor's figures; null SQNR means the outputs did not change (infinite). */
  record Entry(String tensor, String kind, List<String> nodes, Double outputSqnrDb, Double top1Agreement)
      implements Serializable {}

  /** The ranking and the sample size it was measured on. */
  record Result(int samples, List<Entry> ranked) {
    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("samples", samples);
      m.put("metric", METRIC);
      List<Map<String, Object>> tensors = new ArrayList<>();
      for (int i = 0; i < ranked.size(); i++) {
        Entry e = ranked.get(i);
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("rank", i + 1);
        t.put("tensor", e.tensor());
        t.put("kind", e.kind());
        t.put("nodes", e.nodes());
        t.put("output_sqnr_db", e.outputSqnrDb());
        t.put("top1_agreement", e.top1Agreement());
        tensors.add(t);
      }
      m.put("tensors", tensors);
      return m;
    }
  }

  /** Most sensitive first: lowest SQNR (null = infinite last), then lowest agreement, then name. */
  static final Comparator<Entry> RANKING = Comparator
      .comparing((Entry e) -> e.outputSqnrDb() == null ? Double.POSITIVE_INFINITY : e.outputSqnrDb())
      .thenComparing(e -> e.top1Agreement() == null ? 1.0 : e.top1Agreement())
      .thenComparing(Entry::tensor)
      .thenComparing(Entry::kind);

  /** A sample and the hash of its values. */
  record Hashed(long hash, Sample sample) implements Serializable {}

  /** Orders samples by the hash of their values (ties by where they came from). */
  static final class ByHash implements Comparator<Hashed>, Serializable {
    private static final long serialVersionUID = 2L;

    @Override
    public int compare(Hashed a, Hashed b) {
      int c = Long.compareUnsigned(a.hash(), b.hash());
      return c != 0 ? c : a.sample().source().compareTo(b.sample().source());
    }
  }

  /**
   * The deterministic sample: the {@code n} samples with the smallest hash of their values, in hash order. The values
   * decide, not where they are stored: the same data in another folder, on another file system or split into other
   * files gives the same sample, and so the same ranking.
   */
  static List<Sample> sample(JavaRDD<Sample> data, int n) {
    return data.map(s -> new Hashed(s.contentHash(), s)).takeOrdered(n, new ByHash()).stream().map(Hashed::sample)
        .toList();
  }

  /**
   * The two models compared: the prepared FP32 model and the QDQ model made from it, each with the folder
   * its external data locations are relative to (null when it has none).
   */
  record Models(ModelProto prepared, Path preparedDir, ModelProto quantized, Path quantizedDir) {
    /** Models without external data. */
    Models(ModelProto prepared, ModelProto quantized) {
      this(prepared, null, quantized, null);
    }
  }

  /**
   * The sample and how it is fed: the model inputs its tensors bind to, the outputs compared and the
   * samples per inference call ({@link Batcher#WHOLE}: whole inputs, one at a time).
   */
  record Feed(List<Sample> sample, List<String> inputNames, List<String> outputs, int batchSize) {}

  /**
   * How the work is spread: the threads of one ONNX Runtime session ({@code spark.task.cpus}), the tensors
   * over at most {@code count} tasks, and the FP32 outputs kept per task up to {@code keepFloats} floats
   * (else recomputed per variant); the figures depend on neither of the last two.
   */
  record Tasks(int cpus, int count, long keepFloats) {
    /** Twice the default parallelism, keeping up to {@link #KEEP_REFERENCE_FLOATS}. */
    static Tasks of(JavaSparkContext jsc, int cpus) {
      return new Tasks(cpus, jsc.defaultParallelism() * 2, KEEP_REFERENCE_FLOATS);
    }
  }

  /** Measures every quantized tensor of {@code models.quantized()} on {@code feed}'s sample. */
  static Result measure(JavaSparkContext jsc, Path work, Models models, Feed feed, Tasks tasks) {
    ModelProto prepared = models.prepared();
    ModelProto quantized = models.quantized();
    List<Sample> sample = feed.sample();
    int batchSize = feed.batchSize();
    SingleTensorQdq variants = SingleTensorQdq.of(prepared, quantized);
    // a model with a fixed batch dimension is fed exactly that many rows, a partial batch padded; whole
    // inputs (batch size Batcher.WHOLE) one at a time
    int fixed = batchSize == Batcher.WHOLE ? 0 : FixedBatch.of(prepared, "the prepared model");
    int rows = fixed > 0 ? fixed : batchSize;
    List<SingleTensorQdq.Target> targets = variants.targets();
    if (targets.isEmpty() || sample.isEmpty()) {
      return new Result(sample.size(), List.of());
    }
    // models with external data ship their data files too (ShippedFiles.shipModel names them by content
    // and relocates the model's references), and each variant is written next to them on the executor
    // so ONNX Runtime finds its external tensors; the others are opened from memory
    boolean external = ExternalData.uses(prepared) || ExternalData.uses(quantized);
    ShippedFiles.Shipped p = ShippedFiles.shipModel(jsc, prepared, models.preparedDir(), work, "qcal-sens-fp32");
    String quantFile = ShippedFiles.shipModel(jsc, quantized, models.quantizedDir(), work, "qcal-sens-q").fileName();
    Broadcast<List<Sample>> shared = jsc.broadcast(List.copyOf(sample));
    Variants v = new Variants(p.fileName(), p.sha256(), quantFile, external, tasks.cpus(),
        List.copyOf(feed.inputNames()), List.copyOf(feed.outputs()), rows, fixed > 0, tasks.keepFloats());
    List<Integer> indices = new ArrayList<>();
    for (int i = 0; i < targets.size(); i++) {
      indices.add(i);
    }
    int slices = Math.max(1, Math.min(targets.size(), tasks.count()));
    List<Tuple2<Integer, List<OutputComparison>>> measured = jsc.parallelize(indices, slices)
        .mapPartitions(it -> v.measure(it, shared.value()).iterator()).collect();
    shared.destroy();
    return new Result(sample.size(), rank(targets, measured));
  }

  /**
   * What an executor task needs to build and run the single-tensor variants: the shipped models, the
   * inputs and outputs, how the sample is batched and how many FP32 output floats a task keeps.
   */
  private record Variants(String preparedFile, String preparedSha, String quantFile, boolean external,
      int taskCpus, List<String> names, List<String> outs, int rows, boolean pad, long keepFloats)
      implements java.io.Serializable {
    /** The comparisons of each variant in {@code it} against the FP32 model, over {@code sample}. */
    List<Tuple2<Integer, List<OutputComparison>>> measure(Iterator<Integer> it, List<Sample> sample)
        throws Exception {
      List<Tuple2<Integer, List<OutputComparison>>> done = new ArrayList<>();
      if (!it.hasNext()) {
        return done;
      }
      SingleTensorQdq built = SingleTensorQdq.of(OnnxModels.load(Path.of(SparkFiles.get(preparedFile))),
          OnnxModels.load(Path.of(SparkFiles.get(quantFile))));
      OrtSession base = SessionCache.get(preparedSha, Path.of(SparkFiles.get(preparedFile)), taskCpus);
      try (ModelRunner baseRunner = new ModelRunner(base, names, outs)) {
        Task task = new Task(this, baseRunner, sample);
        while (it.hasNext()) {
          int i = it.next();
          done.add(new Tuple2<>(i, task.compare(built.variant(i), i)));
        }
      }
      return done;
    }
  }

  /** One executor task's FP32 side: the FP32 model's runner, the sample and, when small, its FP32 outputs. */
  private static final class Task {
    private final Variants v;
    private final ModelRunner baseRunner;
    private final List<Sample> sample;
    private final List<Map<String, float[]>> reference;

    Task(Variants v, ModelRunner baseRunner, List<Sample> sample) {
      this.v = v;
      this.baseRunner = baseRunner;
      this.sample = sample;
      this.reference = reference();
    }

    /**
     * The FP32 outputs of the sample, kept for all variants of the task when they are small; null when
     * over {@code keepFloats}: they are computed again batch by batch (one batch held at a time).
     */
    private List<Map<String, float[]>> reference() {
      List<Map<String, float[]>> kept = new ArrayList<>();
      long[] floats = {0};
      forEachBatch(b -> {
        if (floats[0] <= v.keepFloats()) {
          Map<String, float[]> ref = copy(baseRunner, b);
          ref.values().forEach(f -> floats[0] += f.length);
          kept.add(ref);
        }
      });
      return floats[0] <= v.keepFloats() ? kept : null;
    }

    private void forEachBatch(java.util.function.Consumer<Batcher.Batch> action) {
      new Batcher(v.names().size(), v.rows(), v.pad()).forEach(sample.iterator(), action);
    }

    /** Variant {@code i} against the FP32 outputs (kept, or recomputed batch by batch). */
    List<OutputComparison> compare(ModelProto variant, int i) throws java.io.IOException {
      List<String> outs = v.outs();
      List<OutputComparison> perOutput = new ArrayList<>();
      outs.forEach(o -> perOutput.add(OutputComparison.empty(o)));
      Path variantFile = v.external() ? Path.of(SparkFiles.get(v.preparedFile())).resolveSibling(
          ".qcal-variant-" + java.util.UUID.randomUUID() + ".onnx") : null;
      if (variantFile != null) {
        OnnxModels.save(variant, variantFile);
      }
      try (OrtSession s = variantFile != null ? SessionCache.openFile(variantFile, v.taskCpus())
              : SessionCache.open(variant.toByteArray(), v.taskCpus());
          ModelRunner runner = new ModelRunner(s, v.names(), outs)) {
        int[] batch = {0};
        forEachBatch(b -> {
          Map<String, float[]> ref = reference != null ? reference.get(batch[0]++) : copy(baseRunner, b);
          runner.run(b, ModelRunner.realRows(b, (tensor, values, shape) ->
              perOutput.get(outs.indexOf(tensor)).add(ref.get(tensor), values.duplicate(), shape, null)));
        });
      } catch (OrtException e) {
        throw new IllegalStateException("cannot close the session of variant " + i + ": " + e.getMessage(), e);
      } finally {
        if (variantFile != null) {
          Files.deleteIfExists(variantFile);
        }
      }
      return perOutput;
    }
  }

  /** Each measured variant's worst SQNR and agreement over the outputs, most sensitive first. */
  private static List<Entry> rank(List<SingleTensorQdq.Target> targets,
      List<Tuple2<Integer, List<OutputComparison>>> measured) {
    List<Entry> entries = new ArrayList<>();
    for (Tuple2<Integer, List<OutputComparison>> m : measured) {
      SingleTensorQdq.Target t = targets.get(m._1());
      Double sqnr = null;
      Double agreement = null;
      for (OutputComparison c : m._2()) {
        Double s = c.sqnrDb();
        if (s != null) {
          sqnr = sqnr == null ? s : Math.min(sqnr, s);
        }
        Double a = c.agreement();
        if (a != null) {
          agreement = agreement == null ? a : Math.min(agreement, a);
        }
      }
      entries.add(new Entry(t.tensor(), t.kind(), t.nodes(), sqnr, agreement));
    }
    entries.sort(RANKING);
    return entries;
  }

  private static Map<String, float[]> copy(ModelRunner runner, Batcher.Batch b) {
    Map<String, float[]> m = new HashMap<>();
    runner.run(b, ModelRunner.realRows(b, (tensor, values, shape) -> {
      float[] v = new float[values.remaining()];
      values.duplicate().get(v);
      m.put(tensor, v);
    }));
    return m;
  }

}
