package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher;
import dev.qcal.data.DataException;
import dev.qcal.data.ElemType;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Npy;
import dev.qcal.data.NpyFiles;
import dev.qcal.data.Sample;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.OutputGuard;
import dev.qcal.io.QParamsFile;
import dev.qcal.jobs.JobContext.Stage;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.prepare.FixedBatch;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.runtime.SessionCache;
import dev.qcal.stats.OutputComparison;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The evaluate job: runs an FP32 model and its quantized version over the same data on executors,
 * compares every model output batch by batch, reduces the comparisons with {@code treeAggregate} and
 * writes {@code eval.json} atomically.
 */
public final class EvaluateJob {
  public static final String EVAL = "eval.json";

  private EvaluateJob() {}

  /**
   * What to evaluate.
   *
   * @param labels null, or an integer (or whole-number float) {@code .npy} {@code [N]}: the class of the i-th sample of the sorted {@code .npy} data
   * @param sensitivitySamples samples of the per-tensor sensitivity pass (0: no sensitivity)
   * @param pads per padded input, its pad value ({@code --pad NAME=VALUE}); empty: no padding
   */
  public record Options(Path fp32, Path quantized, List<String> data, String labels, String out, boolean overwrite,
      int batchSize, int sensitivitySamples, Map<String, String> pads, DataOptions dataOptions,
      Map<String, long[]> sampleShapes) {
    public Options {
      data = List.copyOf(data);
      pads = pads == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(pads));
      dataOptions = (dataOptions == null ? DataOptions.DEFAULT : dataOptions).withPads(pads);
      sampleShapes = sampleShapes == null ? Map.of() : Map.copyOf(sampleShapes);
    }

    /** Options reading {@code data} with the default data options, padding as {@code pads} says. */
    public Options(Path fp32, Path quantized, List<String> data, String labels, String out, boolean overwrite,
        int batchSize, int sensitivitySamples, Map<String, String> pads) {
      this(fp32, quantized, data, labels, out, overwrite, batchSize, sensitivitySamples, pads, null, null);
    }

    /** Options without padding. */
    public Options(Path fp32, Path quantized, List<String> data, String labels, String out, boolean overwrite,
        int batchSize, int sensitivitySamples) {
      this(fp32, quantized, data, labels, out, overwrite, batchSize, sensitivitySamples, null);
    }

    /** What the run reads, by option: both models (and their external data), the data and --labels. */
    public List<OutputGuard.Input> inputs() {
      List<OutputGuard.Input> in = new java.util.ArrayList<>(OutputGuard.Input.model("--fp32", fp32));
      in.addAll(OutputGuard.Input.model("--quantized", quantized));
      in.addAll(OutputGuard.Input.data("--data", data));
      in.addAll(OutputGuard.Input.hadoop("--labels", labels));
      in.addAll(OutputGuard.Input.hadoop("--preprocess", dataOptions.preprocess()));
      return in;
    }
  }

  static final String COMMAND = "evaluate";

  /** Refuses, before anything is read, an {@code --out} that overlaps an input (or {@code more}) or may not be replaced. */
  public static void checkOutput(Options o, List<OutputGuard.Input> more, Configuration conf) {
    OutputGuard.check(COMMAND, o.out(), o.overwrite(), conf, o.inputs(), more);
  }

  /**
   * Per output, the merged comparison; plus the sample count and each model's summed ONNX Runtime run
   * time (timing is reported, it changes no other figure).
   */
  static final class Comparisons implements Serializable {
    final LinkedHashMap<String, OutputComparison> outputs = new LinkedHashMap<>();
    long samples;
    long fp32Nanos;
    long quantNanos;

    static Comparisons empty(List<String> outputs) {
      Comparisons c = new Comparisons();
      outputs.forEach(o -> c.outputs.put(o, OutputComparison.empty(o)));
      return c;
    }

    /** Associative and commutative (see {@link OutputComparison#merge}); {@link #empty} is the identity. */
    Comparisons merge(Comparisons other) {
      if (!outputs.keySet().equals(other.outputs.keySet())) {
        throw new IllegalArgumentException("Cannot merge comparisons of " + outputs.keySet() + " and " + other.outputs.keySet());
      }
      other.outputs.forEach((k, v) -> outputs.get(k).merge(v));
      samples += other.samples;
      fp32Nanos += other.fp32Nanos;
      quantNanos += other.quantNanos;
      return this;
    }

    /** The smallest top-1 agreement over the outputs that have one, or null. */
    Double agreement() {
      return outputs.values().stream().map(OutputComparison::agreement).filter(java.util.Objects::nonNull)
          .min(Double::compare).orElse(null);
    }

    /** The smallest output SQNR in dB; null when every output is unchanged (infinite SQNR). */
    Double sqnrDb() {
      return outputs.values().stream().map(OutputComparison::sqnrDb).filter(java.util.Objects::nonNull)
          .min(Double::compare).orElse(null);
    }

    /** The largest accuracy drop in percentage points (FP32 minus quantized) over labelled outputs, or null. */
    Double accuracyDropPoints() {
      Double drop = null;
      for (OutputComparison c : outputs.values()) {
        Object acc = c.toJson(true).get("accuracy");
        if (acc instanceof Map<?, ?> m && m.get("fp32") instanceof Double f && m.get("quantized") instanceof Double q) {
          double d = 100 * (f - q);
          drop = drop == null ? d : Math.max(drop, d);
        }
      }
      return drop;
    }

    /** One model's throughput: samples over its summed ONNX Runtime run time (all tasks). */
    Map<String, Object> throughput(long nanos) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("inference_seconds", nanos / 1e9);
      m.put("samples_per_second", nanos > 0 ? samples / (nanos / 1e9) : null);
      return m;
    }
  }

  /** Runs the job and returns what {@code eval.json} holds. */
  public static Map<String, Object> run(Options o, SparkSession spark) {
    checkOutput(o, List.of(), spark.sparkContext().hadoopConfiguration());
    try (JobContext ctx = JobContext.open(spark, "qcal-eval-", JobProgress.none())) {
      Loaded m = ctx.stage(Stage.PREPARE, "qcal evaluate: load " + o.fp32().getFileName() + " and "
          + o.quantized().getFileName(), () -> load(ctx, o));
      Comparisons c = ctx.stage(Stage.EVALUATE, "qcal evaluate: both models over "
          + o.dataOptions().describe(o.data()) + ", treeAggregate of comparisons", () -> compare(ctx, o, m));
      double seconds = ctx.seconds(Stage.EVALUATE);
      if (c.samples == 0) {
        throw new DataException(String.join(", ", o.dataOptions().describe(o.data())) + ": no samples");
      }
      Map<String, Object> sensitivity = o.sensitivitySamples() <= 0 ? null : ctx.stage(Stage.SENSITIVITY,
          "qcal sensitivity: each quantized tensor alone, on " + o.sensitivitySamples() + " samples",
          () -> sensitivity(ctx.spark(), ctx.jsc(), ctx.work(), o, m.quant(), m.feed(), m.padding(), m.outputs())
              .toJson());
      Map<String, Object> eval = describe(ctx, o, m, c, sensitivity, seconds);
      return ctx.stage(Stage.WRITE, "qcal write: " + o.out(), () -> write(ctx, o, eval));
    }
  }

  /** Both models loaded (the FP32 one lowered to an IR version ONNX Runtime reads) and shipped, the data opened. */
  private record Loaded(ModelProto fp32, ModelProto quant, dev.qcal.data.Padding padding, List<String> outputs,
      Labels labels, WholeInputs.Feed feed, int fixedBatch, int batchSize, String fp32Sha, String quantSha,
      ShippedFiles.Shipped fp32Shipped, ShippedFiles.Shipped quantShipped) {
    List<String> inputNames() {
      return feed.inputs().stream().map(InputSpec::name).toList();
    }
  }

  /** The prepare stage: both models loaded and shipped, the data opened, the FP32 outputs checked on a sample. */
  private static Loaded load(JobContext ctx, Options o) {
    // a newer IR version than ONNX Runtime reads is run from a lowered copy, as calibrate prepares it
    ModelProto fp32Source = OnnxModels.load(o.fp32());
    ModelProto fp32 = dev.qcal.model.onnx.IrVersions.lowered(o.fp32(), fp32Source);
    ModelProto quant = OnnxModels.load(o.quantized());
    dev.qcal.data.Padding padding = CalibrateJob.padding(ModelInputs.of(fp32, o.fp32().toString()),
        o.dataOptions());
    List<InputSpec> specs = padding.inputs();
    List<String> outputs = fp32.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
    List<String> quantOutputs = quant.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
    if (!quantOutputs.containsAll(outputs)) {
      throw new ModelException(o.quantized() + ": outputs " + quantOutputs + " lack some of the FP32 model's " + outputs);
    }
    Labels labels = o.labels() == null ? null : Labels.read(o.labels(), o.data(), specs, ctx.hadoopConf());
    WholeInputs.Feed feed = WholeInputs.open(ctx.spark(), o.data(), specs, o.sampleShapes(), o.dataOptions(), padding);
    int fixedBatch = feed.fixedBatch(fp32, o.fp32().toString());
    int batchSize = feed.batchSize(fixedBatch, o.batchSize(), o.fp32().toString());
    String fp32Sha = OnnxModels.sha256(o.fp32());
    String quantSha = OnnxModels.sha256(o.quantized());
    ShippedFiles.Shipped fp32Shipped = ShippedFiles.shipFile(ctx.jsc(), ctx.work(), o.fp32(), fp32, fp32Sha,
        fp32 != fp32Source);
    ShippedFiles.Shipped quantShipped = ShippedFiles.shipFile(ctx.jsc(), ctx.work(), o.quantized(), quant, quantSha,
        false);
    Loaded m = new Loaded(fp32, quant, padding, outputs, labels, feed, fixedBatch, batchSize, fp32Sha, quantSha,
        fp32Shipped, quantShipped);
    PaddedBatches.checkOutputs(feed.samples(), SessionCache.get(fp32Shipped.sha256(),
        ctx.work().resolve(fp32Shipped.fileName()), ctx.taskCpus()), m.inputNames(), outputs, fixedBatch,
        o.fp32().toString());
    return m;
  }

  /** The evaluate stage: both models over the data, comparisons merged by tree aggregation. */
  private static Comparisons compare(JobContext ctx, Options o, Loaded m) {
    return compare(m.feed().samples(), new ComparePass(m.fp32Shipped(), m.quantShipped(), m.inputNames(),
        m.outputs(), m.batchSize(), m.fixedBatch() > 0, ctx.taskCpus(), m.labels(), m.padding()));
  }

  /** What {@code eval.json} holds, but for its wall time. */
  private static Map<String, Object> describe(JobContext ctx, Options o, Loaded m, Comparisons c,
      Map<String, Object> sensitivity, double seconds) {
    Map<String, Object> eval = new LinkedHashMap<>();
    eval.put("format", "qcal.eval");
    eval.put("format_version", 1);
    eval.put("fp32", model(o.fp32(), m.fp32Sha(), c, c.fp32Nanos));
    eval.put("quantized", model(o.quantized(), m.quantSha(), c, c.quantNanos));
    eval.put("data", o.dataOptions().describe(o.data()));
    eval.put("labels", o.labels());
    eval.put("samples", c.samples);
    Map<String, Object> perOutput = new LinkedHashMap<>();
    c.outputs.forEach((k, v) -> perOutput.put(k, v.toJson(m.labels() != null)));
    eval.put("outputs", perOutput);
    if (sensitivity != null) {
      eval.put("sensitivity", sensitivity);
    }
    eval.put("evaluate_seconds", seconds);
    eval.put("spark_master", ctx.spark().sparkContext().master());
    eval.put("versions", CalibrateJob.versions());
    return eval;
  }

  /** The write stage: {@code eval.json}, with the wall time, into {@code --out} atomically. */
  private static Map<String, Object> write(JobContext ctx, Options o, Map<String, Object> eval) {
    try (AtomicOutput out = AtomicOutput.begin(o.out(), COMMAND, o.overwrite(), ctx.hadoopConf())) {
      eval.put("wall_seconds", ctx.wallSeconds());
      QParamsFile.writeJson(out.dir().resolve(EVAL), eval);
      out.commit();
    }
    return eval;
  }

  private static Map<String, Object> model(Path file, String sha, Comparisons c, long nanos) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("path", file.toString());
    m.put("sha256", sha);
    try {
      m.put("bytes", Files.size(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    m.putAll(c.throughput(nanos));
    return m;
  }

  /** Prepares the FP32 model as calibrate does (the quantized model was made from that) and ranks tensors. */
  private static Sensitivity.Result sensitivity(SparkSession spark, JavaSparkContext jsc, Path work, Options o,
      ModelProto quant, WholeInputs.Feed feed, dev.qcal.data.Padding padding, List<String> outputs) {
    List<InputSpec> inputs = padding.inputs();
    // samples are batched by shape there: padded to a fixed dimension, not to each other
    List<Sample> sample = Sensitivity.sample(feed.samples(), o.sensitivitySamples()).stream()
        .map(padding::toFixed).toList();
    Map<String, long[]> verifyShapes = new LinkedHashMap<>();
    for (int i = 0; i < inputs.size(); i++) {
      long[] s = sample.get(0).shapes()[i];
      if (feed.whole()) {
        verifyShapes.put(inputs.get(i).name(), s.clone());
        continue;
      }
      long[] b = new long[s.length + 1];
      b[0] = FixedBatch.verifyBatch(FixedBatch.of(quant, o.quantized().toString()));
      System.arraycopy(s, 0, b, 1, s.length);
      verifyShapes.put(inputs.get(i).name(), b);
    }
    Path prepWork = work.resolve("prepare");
    try {
      Files.createDirectories(prepWork);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // prepared to the quantized model's opset (13, or 21 for 16-bit/4-bit types) so its Q/DQ transplant
    int opset = dev.qcal.model.onnx.OnnxModels.opset(quant) >= dev.qcal.model.prepare.ModelPreparer.WIDE_TYPES_OPSET
        ? dev.qcal.model.prepare.ModelPreparer.WIDE_TYPES_OPSET : dev.qcal.model.prepare.ModelPreparer.TARGET_OPSET;
    dev.qcal.model.prepare.ModelPreparer.Prepared prep = dev.qcal.model.prepare.ModelPreparer.prepare(o.fp32(), prepWork, verifyShapes, opset);
    ModelProto prepared = prep.model();
    try {
      dev.qcal.model.qdq.SingleTensorQdq.of(prepared, quant);
    } catch (ModelException e) {
      throw new ModelException(o.quantized() + ": cannot rank its tensors against " + o.fp32() + " (" + e.getMessage()
          + "); was it made from this model by qcal? --sensitivity-samples 0 skips the ranking", e);
    }
    return Sensitivity.measure(jsc, work, new Sensitivity.Models(prepared, prep.file().getParent(), quant,
        dev.qcal.model.onnx.ExternalData.directory(o.quantized())), new Sensitivity.Feed(sample,
        inputs.stream().map(InputSpec::name).toList(), outputs, feed.whole() ? Batcher.WHOLE : o.batchSize()),
        Sensitivity.Tasks.of(jsc, spark.sparkContext().conf().getInt("spark.task.cpus", 1)));
  }


  /**
   * What an executor task of a comparison pass needs: both shipped models, the inputs and the outputs
   * compared, how samples are batched (with {@code pad}, a fixed batch size, a partial batch is padded;
   * samples are padded as {@code padding} says, null: none) and the labels (or null).
   */
  record ComparePass(ShippedFiles.Shipped fp32, ShippedFiles.Shipped quant, List<String> inputNames,
      List<String> outputs, int batchSize, boolean pad, int taskCpus, Labels labels, dev.qcal.data.Padding padding)
      implements java.io.Serializable {
    ComparePass {
      inputNames = List.copyOf(inputNames);
      outputs = List.copyOf(outputs);
    }

    /** The comparisons of one partition. */
    Comparisons partition(Iterator<Sample> it) throws Exception {
      OrtSession ref = SessionCache.get(fp32.sha256(), Path.of(SparkFiles.get(fp32.fileName())), taskCpus);
      OrtSession q = SessionCache.get(quant.sha256(), Path.of(SparkFiles.get(quant.fileName())), taskCpus);
      try (ModelRunner refRunner = ModelRunner.pooled(fp32.sha256(), ref, inputNames, outputs);
          ModelRunner qRunner = ModelRunner.pooled(quant.sha256(), q, inputNames, outputs)) {
        return comparePartition(it, refRunner, qRunner, this);
      }
    }
  }

  /** Both models over {@code samples} on executors, as {@code pass} says, merged by tree aggregation. */
  static Comparisons compare(JavaRDD<Sample> samples, ComparePass pass) {
    JavaRDD<Comparisons> perPartition = samples.mapPartitions(it -> List.of(pass.partition(it)).iterator());
    return perPartition.treeAggregate(Comparisons.empty(pass.outputs()), Comparisons::merge, Comparisons::merge);
  }

  /** One partition through both runners, batched as {@code pass} says. */
  static Comparisons comparePartition(Iterator<Sample> it, ModelRunner ref, ModelRunner quant, ComparePass pass) {
    Comparisons c = Comparisons.empty(pass.outputs());
    Labels labels = pass.labels();
    // labels are matched to samples in arrival order: one shape at a time then, so batches keep that order
    Batcher batcher = new Batcher(pass.inputNames().size(), pass.batchSize(), pass.pad(),
        labels == null ? Batcher.DEFAULT_OPEN_BUCKETS : 1, pass.padding());
    ArrayDeque<Long> pendingLabels = new ArrayDeque<>();
    Iterator<Sample> labelled = dev.qcal.data.Samples.peek(it,
        s -> pendingLabels.add(labels == null ? -1L : labels.of(s.source())));
    batcher.forEach(labelled, b -> compareBatch(b, ref, quant, c, pendingLabels));
    return c;
  }

  private static void compareBatch(Batcher.Batch b, ModelRunner ref, ModelRunner quant, Comparisons c,
      ArrayDeque<Long> pendingLabels) {
    long[] labels = new long[b.size()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = pendingLabels.removeFirst();
    }
    Map<String, float[]> refValues = new HashMap<>();
    long t = System.nanoTime();
    ref.run(b, ModelRunner.realRows(b, (tensor, values, shape) -> {
      float[] copy = new float[values.remaining()];
      values.duplicate().get(copy);
      refValues.put(tensor, copy);
    }));
    long t1 = System.nanoTime();
    Map<String, float[]> quantValues = new HashMap<>();
    Map<String, long[]> shapes = new HashMap<>();
    quant.run(b, ModelRunner.realRows(b, (tensor, values, shape) -> {
      float[] copy = new float[values.remaining()];
      values.duplicate().get(copy);
      quantValues.put(tensor, copy);
      shapes.put(tensor, shape.clone());
    }));
    c.fp32Nanos += t1 - t;
    c.quantNanos += System.nanoTime() - t1;
    quantValues.forEach((tensor, v) -> {
      long[] shape = shapes.get(tensor);
      c.outputs.get(tensor).add(refValues.get(tensor), FloatBuffer.wrap(v), shape,
          shape.length == 2 && shape[0] == labels.length ? labels : null);
    });
    c.samples += b.size();
  }

  /**
   * Class labels of {@code .npy} data: label i belongs to the i-th row of the data's files sorted by
   * name (a file of a sample's rank is one row). Each sample finds its global row from its source
   * ({@code FILE:ROW}) and the per-file offsets computed on the driver from the files' headers.
   */
  static final class Labels implements Serializable {
    private final Map<String, Long> offsets;
    private final long[] labels;

    private Labels(Map<String, Long> offsets, long[] labels) {
      this.offsets = offsets;
      this.labels = labels;
    }

    long of(String source) {
      int colon = source.lastIndexOf(':');
      Long offset = offsets.get(source.substring(0, colon));
      if (offset == null) {
        throw new IllegalStateException("no label offset for " + source);
      }
      return labels[(int) (offset + Long.parseLong(source.substring(colon + 1)))];
    }

    static Labels read(String labelsFile, List<String> data, List<InputSpec> inputs, Configuration conf) {
      if (inputs.size() != 1 || data.size() != 1 || data.get(0).contains("=")) {
        throw new DataException("--labels needs single-input .npy data, one --data PATH");
      }
      LinkedHashMap<String, Long> offsets = new LinkedHashMap<>();
      long total = 0;
      for (String f : NpyFiles.list(data.get(0), conf)) {
        if (!f.endsWith(".npy")) {
          throw new DataException(f + ": --labels needs .npy data");
        }
        long[] shape;
        try (Npy.Reader r = Npy.open(open(f, conf), f)) {
          shape = r.shape();
        } catch (IOException e) {
          throw new DataException(f + ": cannot decode .npy: " + e.getMessage(), e);
        }
        offsets.put(f, total);
        total += dev.qcal.data.NpyFiles.single(shape, inputs.get(0)) ? 1 : shape.length == 0 ? 0 : shape[0];
      }
      long[] labels;
      try (Npy.Reader r = Npy.open(open(labelsFile, conf), labelsFile)) {
        ElemType type = r.type();
        if (r.shape().length != 1 || type == ElemType.BOOL) {
          throw new DataException(labelsFile + ": expected labels [N] of an integer dtype (or float holding whole"
              + " numbers), found " + r.dtype() + " " + java.util.Arrays.toString(r.shape()));
        }
        if (r.rows() != total) {
          throw new DataException(labelsFile + ": holds " + r.rows() + " labels but " + data.get(0) + " holds "
              + total + " samples");
        }
        labels = new long[(int) total];
        double[] one = new double[1];
        for (int i = 0; i < labels.length; i++) {
          if (!type.isFloat()) {
            r.readRow(ElemType.INT64, labels, i); // every integer dtype widens to int64 exactly
            continue;
          }
          r.readRow(ElemType.FLOAT64, one, 0);
          if (one[0] != Math.rint(one[0]) || Math.abs(one[0]) > 0x1p53) {
            throw new DataException(labelsFile + ": label " + i + " is " + one[0] + "; a class label is a whole"
                + " number");
          }
          labels[i] = (long) one[0];
        }
      } catch (IOException e) {
        throw new DataException(labelsFile + ": cannot read labels: " + e.getMessage(), e);
      }
      return new Labels(offsets, labels);
    }

    private static InputStream open(String file, Configuration conf) throws IOException {
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
      if (!p.getFileSystem(conf).exists(p)) {
        throw new DataException("not found: " + file);
      }
      return p.getFileSystem(conf).open(p);
    }
  }
}
