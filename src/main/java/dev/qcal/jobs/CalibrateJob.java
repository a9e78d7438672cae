package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher;
import dev.qcal.data.DataException;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Padding;
import dev.qcal.data.Sample;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.OutputGuard;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.RunReport;
import dev.qcal.io.StatsFiles;
import dev.qcal.model.CalibrationPlan;
import dev.qcal.model.FixedBatch;
import dev.qcal.model.GraphAugmenter;
import dev.qcal.model.ModelPreparer;
import dev.qcal.model.OnnxModels;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.runtime.Ort;
import dev.qcal.runtime.SessionCache;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkFiles;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The calibrate job: prepare the model on the driver, stream the data through the augmented model
 * on executors collecting per-tensor statistics, merge them with a tree aggregation, choose ranges
 * and write {@code qparams.json}, {@code quantized.onnx} and {@code run.json} atomically.
 */
public final class CalibrateJob {
  private static final Logger LOG = LoggerFactory.getLogger(CalibrateJob.class);
  public static final String QUANTIZED = "quantized.onnx";
  /**
   * Fault injection for tests: the first attempt of this partition's observe task fails after it
   * has done all its work, so Spark retries it. Results must not change.
   */
  public static final String FAIL_FIRST_ATTEMPT = "spark.qcal.test.failFirstAttemptOfPartition";
  /**
   * Fault injection for tests: the write fails right after this file was copied into the output's
   * temporary sibling (e.g. {@code qparams.json}), as a crash mid-write would.
   */
  public static final String FAIL_WRITE_AFTER = "spark.qcal.test.failWriteAfter";
  /**
   * Fault injection for tests: observe tasks sleep this many milliseconds per sample, so a test can
   * kill an executor JVM while its tasks run. Changes timing only, never a statistic.
   */
  public static final String SLOW_SAMPLE_MILLIS = "spark.qcal.test.slowSampleMillis";
  /**
   * Session setting (the CLI's {@code --reduce-in-ort}): whether a min/max-only pass
   * ({@code --histogram-bins 0}, no per-channel histograms) reduces the activations inside ONNX
   * Runtime ({@link ReducedObserve}); default true. The statistics are the same either way; false
   * exposes every activation to Java, as passes with histograms do.
   */
  public static final String REDUCE_IN_ORT = "qcal.calibrate.reduceInOrt";

  static final String COMMAND = "calibrate";

  private CalibrateJob() {}

  /**
   * Refuses, before anything is read, an {@code --out} that overlaps an input (the run's, the
   * fallback's and {@code more}) or may not be replaced.
   */
  public static void checkOutput(CalibrateOptions o, Fp32Fallback.Request fallback, List<OutputGuard.Input> more,
      org.apache.hadoop.conf.Configuration conf) {
    List<OutputGuard.Input> in = new ArrayList<>(o.inputs());
    if (fallback != null) {
      in.addAll(fallback.inputs());
    }
    in.addAll(more);
    OutputGuard.check(COMMAND, o.out(), o.overwrite(), in, conf);
  }

  /** Runs the job and returns the report also written as {@code run.json}. */
  public static RunReport run(CalibrateOptions o, SparkSession spark) {
    return run(o, spark, JobProgress.none());
  }

  /** Runs the job, telling {@code progress} which stage runs and how far observing got. */
  public static RunReport run(CalibrateOptions o, SparkSession spark, JobProgress progress) {
    return run(o, spark, progress, null);
  }

  /**
   * Runs the job; with a {@code fallback} request, the quantized model is evaluated and nodes are left
   * in FP32 until its target is met (see {@link Fp32Fallback}) before anything is written.
   */
  public static RunReport run(CalibrateOptions o, SparkSession spark, JobProgress progress,
      Fp32Fallback.Request fallback) {
    checkOutput(o, fallback, List.of(), spark.sparkContext().hadoopConfiguration());
    RunReport report = new RunReport();
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    WorkDir workDir = WorkDir.create("qcal-");
    Path work = workDir.path();
    try {
      // prepare: load, fold, upgrade, verify, plan, augment (driver)
      progress.stage("prepare");
      jsc.setJobGroup("qcal-prepare", "qcal prepare: load, fold, upgrade and verify " + o.model().getFileName(), false);
      long t = System.nanoTime();
      ModelProto original = OnnxModels.load(o.model());
      String modelName = o.model().toString();
      String sha = OnnxModels.sha256(o.model());
      Padding padding = padding(ModelInputs.of(original, modelName), o.dataOptions());
      List<InputSpec> specs = padding.inputs();
      int opset = o.ranges().preparedOpset(
          TensorOverrides.dtypes(o.ranges().configFile(), spark.sparkContext().hadoopConfiguration()));
      // read after the rehearsal, or during the transform when the upgrade must learn a rank from one run
      FirstSample first = new FirstSample(() -> DataSources.open(spark, o.data(), specs, o.sampleShapes(),
          o.dataOptions()), o, specs, padding, original, modelName);
      ModelPreparer.Unverified unverified = ModelPreparer.transform(o.model(), work, opset, first::verifyShapes);
      CalibrationPlan plan = CalibrationPlan.of(unverified.model(), o.ranges().plan());
      QuantizeStep.checkNames(o.model(), plan);
      List<String> tensors = List.copyOf(plan.activations());
      StatsPreflight.checkAxisNames(o.statsConfig(), tensors);
      // which axes of each activation are padded, by shape inference before any data is read
      PaddedAxes traced = padding.any() && !o.dataOptions().padStatsInclude()
          ? PaddedAxes.trace(unverified.model(), padAxes(specs), tensors, padding.masked() ? "--mask" : "--pad",
              "; give --pad-stats include to count padded positions, or leave its node out (--exclude-nodes)")
          : null;
      // read before any data, so a bad config fails in seconds
      Map<String, TensorOverrides.Override> overrides =
          TensorOverrides.read(o.ranges().configFile(), spark.sparkContext().hadoopConfiguration(), tensors);
      // what would fail after the data pass (the Q/DQ rewrite, the writers) fails now, before any data is read
      Rehearsal.run(unverified.model(), unverified.file().getParent(), plan, o.ranges(), o.statsConfig(), overrides,
          modelName);
      Map<String, long[]> verifyShapes = first.verifyShapes();
      DataSources.Opened opened = first.opened;
      WholeInputs.Feed feed = first.feed;
      List<InputSpec> inputs = feed.inputs();
      int fixedBatch = first.fixedBatch;
      int batchSize = feed.batchSize(fixedBatch, o.batchSize(), modelName);
      JavaRDD<Sample> samples = feed.samples();
      List<Sample> firstSample = first.sample;
      if (o.partitions() != null) {
        samples = samples.repartition(o.partitions());
      }
      ModelPreparer.Prepared prepared = unverified.verify(verifyShapes);
      ModelProto augmented = GraphAugmenter.exposeOutputs(prepared.model(), tensors);
      // Named by content (with its external data files, if any): executors fetch it once per JVM and a
      // SparkContext never sees one name with two contents.
      ShippedFiles.Shipped shipped = ShippedFiles.shipModel(jsc, augmented, prepared.file().getParent(), work,
          "qcal-augmented");
      String augmentedSha = shipped.sha256();
      int taskCpus = spark.sparkContext().conf().getInt("spark.task.cpus", 1);
      List<String> inputNames = inputs.stream().map(InputSpec::name).toList();
      // shapes from one sample (repeated to a fixed batch, whose rows must come first) through the exposing
      // graph (the session local executors reuse): channel axes within the ranks and a state the heaps can
      // hold, before the pass
      Map<String, long[]> shapes = PaddedBatches.shapes(SessionCache.get(augmentedSha,
          work.resolve(shipped.fileName()), taskCpus), inputNames, firstSample.get(0), tensors, feedRows(feed, fixedBatch),
          modelName, padding);
      ValidPositions valid = null;
      if (traced != null) {
        if (!traced.complete()) {
          // the axes inference left open: from the first sample padded to two lengths, before the data pass
          OrtSession probe = SessionCache.get(augmentedSha, work.resolve(shipped.fileName()), taskCpus);
          Sample a = padding.extended(firstSample.get(0), 1);
          Sample b = padding.extended(firstSample.get(0), 2);
          traced = traced.resolve(
              PaddedBatches.shapes(probe, inputNames, a, tensors, feedRows(feed, fixedBatch), modelName, padding),
              padding.trueLengths(a.shapes(), a.source()),
              PaddedBatches.shapes(probe, inputNames, b, tensors, feedRows(feed, fixedBatch), modelName, padding),
              padding.trueLengths(b.shapes(), b.source()));
        }
        valid = new ValidPositions(traced);
      }
      StatsPreflight.checkMemory(spark.sparkContext(), o.statsConfig(), StatsPreflight.channels(o.statsConfig(), shapes));
      ReducedObserve.Shipped reduced = null;
      // the reductions would count padded positions: with --pad-stats exclude every batch is exposed
      if (valid == null && ReducedObserve.applies(o.statsConfig()) && Boolean.parseBoolean(spark.conf().get(REDUCE_IN_ORT, "true"))) {
        List<GraphAugmenter.Reduction> reductions = ReducedObserve.plan(shapes, tensors, o.statsConfig());
        if (reductions != null) {
          // same prefix: external data files keep their shipped names and are shipped once
          ShippedFiles.Shipped r = ShippedFiles.shipModel(jsc, GraphAugmenter.addReductions(prepared.model(), reductions),
              prepared.file().getParent(), work, "qcal-augmented");
          reduced = new ReducedObserve.Shipped(r.fileName(), r.sha256(), reductions);
        }
      }
      report.stage("prepare", System.nanoTime() - t);
      LOG.info("Prepared {}: opset {} -> {}, {} tensors to calibrate", modelName, prepared.sourceOpset(),
          prepared.opset(), tensors.size());

      // observe + reduce (executors, then driver)
      samples = JobProgress.observing(progress, samples, spark, () -> JobProgress.total(spark, o.data(),
          o.dataOptions(), specs, opened.selected(), opened.skipped()));
      samples = slowDown(samples, spark.sparkContext().conf().getInt(SLOW_SAMPLE_MILLIS, 0));
      t = System.nanoTime();
      jsc.setJobGroup("qcal-observe", "qcal observe and reduce: " + tensors.size()
          + " activations over " + samples.getNumPartitions() + " partitions, treeAggregate of exact statistics", false);
      Observed observed = observe(samples, shipped.fileName(), augmentedSha, reduced,
          inputNames, tensors, batchSize, fixedBatch > 0, taskCpus,
          spark.sparkContext().conf().getInt(FAIL_FIRST_ATTEMPT, -1), o.statsConfig(), padding, valid);
      StatsSet stats = observed.stats();
      report.stage("observe_and_reduce", System.nanoTime() - t);

      // choose ranges + quantize (driver)
      t = System.nanoTime();
      progress.stage("choose ranges");
      jsc.setJobGroup("qcal-choose-ranges", "qcal choose ranges: " + o.ranges().method() + ", QDQ rewrite", false);
      QuantizeStep.Result q = QuantizeStep.run(prepared.model(), prepared.file().getParent(), plan, stats, o.ranges(), overrides);
      report.stage("choose_ranges_and_quantize", System.nanoTime() - t);
      Fp32Fallback.Outcome fb = null;
      if (fallback != null) {
        t = System.nanoTime();
        progress.stage("fallback");
        fb = Fp32Fallback.run(spark, fallback, o.model(), prepared.model(), inputs, feed.samples(),
            o.data().isEmpty() ? null : o.data(), o.ranges().plan(), q,
            p -> QuantizeStep.run(prepared.model(), prepared.file().getParent(), CalibrationPlan.of(prepared.model(), p),
                stats, o.ranges(),
                overrides), work);
        q = fb.result();
        report.stage("fallback", System.nanoTime() - t);
      }

      // write (driver, atomic)
      t = System.nanoTime();
      progress.stage("write");
      jsc.setJobGroup("qcal-write", "qcal write: " + o.out(), false);
      String outLocation = AtomicOutput.qualified(o.out(), spark.sparkContext().hadoopConfiguration());
      Map<String, String> versions = versions();
      QParamsFile.Header header = new QParamsFile.Header(o.model().toString(), sha, prepared.sourceOpset(),
          prepared.opset(), o.ranges().method(), stats.samples(), versions);
      double seconds = (System.nanoTime() - t0) / 1e9;
      report.put("command", "calibrate")
          .put("model", o.model().toString())
          .put("model_sha256", sha)
          .put("data", o.dataOptions().describe(o.data()))
          .put("out", outLocation)
          .put("method", o.ranges().method())
          .put("range_options", QuantizeStep.rangeOptions(o.ranges()))
          .put("samples", stats.samples())
          .put("batches", stats.batches())
          .put("batch_size", feed.whole() ? 1 : batchSize)
          .put("feed", WholeInputs.mode(feed.whole()))
          .put("observe", observeReport(reduced, observed))
          .put("partitions", samples.getNumPartitions())
          .put("max_samples", o.dataOptions().maxSamples())
          .put("sample_fraction", o.dataOptions().fraction())
          .put("seed", o.dataOptions().seed())
          .put("on_bad_record", o.dataOptions().onBadRecord().name().toLowerCase(java.util.Locale.ROOT))
          .put("skipped_records", opened.skipped() == null ? Map.of() : opened.skipped())
          .put("calibrated_tensors", tensors.size())
          .put("quantized_weights", q.rewrite().weightParams().size())
          .put("skipped", q.rewrite().skipped())
          .put("weight_notes", q.rewrite().notes())
          .put("non_finite_values", nonFinite(stats))
          .put("stats_state_bytes", StatsFiles.stateBytes(stats))
          .put("spark_master", spark.sparkContext().master())
          .put("spark_application_id", spark.sparkContext().applicationId())
          .put("versions", versions);
      if (fb != null) {
        report.put("fallback", fb.report());
      }
      try (AtomicOutput out = AtomicOutput.begin(o.out(), COMMAND, o.overwrite(), spark.sparkContext().hadoopConfiguration())) {
        String failAfter = spark.sparkContext().conf().get(FAIL_WRITE_AFTER, null);
        if (failAfter != null) {
          out.onStep(step -> {
            if (step.equals("copied:" + failAfter)) {
              throw new IllegalStateException("qcal: injected failure after writing " + failAfter
                  + " (" + FAIL_WRITE_AFTER + ")");
            }
          });
        }
        QuantizeStep.write(out.dir(), header, q, o.ranges());
        StatsFiles.write(out.dir().resolve(StatsFiles.DIR), stats, sha, prepared.opset(), verifyShapes);
        report.stage("write", System.nanoTime() - t);
        double observe = report.stageSeconds("observe_and_reduce");
        report.put("wall_seconds", (System.nanoTime() - t0) / 1e9)
            .put("observe_samples_per_second", observe > 0 ? stats.samples() / observe : null);
        report.write(out.dir().resolve(RunReport.NAME));
        if (o.ranges().report()) {
          QuantizeStep.writeReport(out.dir(), stats);
        }
        out.commit();
      }
      progress.stage("done");
      LOG.info("Calibrated {} samples in {} s; outputs in {}", stats.samples(), seconds, outLocation);
      return report;
    } finally {
      progress.finished();
      jsc.clearJobGroup();
      workDir.close();
    }
  }

  /** Statistics of one observe pass, and how many batches the reduced graph handed to the exposing one. */
  record Observed(StatsSet stats, long rerunBatches) implements java.io.Serializable {
    Observed merge(Observed o) {
      return new Observed(StatsSet.combine(stats, o.stats), rerunBatches + o.rerunBatches);
    }
  }

  static Observed observe(JavaRDD<Sample> samples, String modelFileName, String modelSha, ReducedObserve.Shipped reduced,
      List<String> inputNames, List<String> tensors, int batchSize, boolean pad, int taskCpus, int failFirstAttemptOf,
      StatsConfig config) {
    return observe(samples, modelFileName, modelSha, reduced, inputNames, tensors, batchSize, pad, taskCpus,
        failFirstAttemptOf, config, null, null);
  }

  /**
   * {@link #observe}, samples padded as {@code padding} says (null: none) and, with {@code valid}, only
   * their valid positions observed.
   */
  static Observed observe(JavaRDD<Sample> samples, String modelFileName, String modelSha, ReducedObserve.Shipped reduced,
      List<String> inputNames, List<String> tensors, int batchSize, boolean pad, int taskCpus, int failFirstAttemptOf,
      StatsConfig config, Padding padding, ValidPositions valid) {
    List<String> names = List.copyOf(inputNames);
    List<String> outs = List.copyOf(tensors);
    JavaRDD<Observed> perPartition = samples.mapPartitions(it -> {
      java.util.function.Supplier<ModelRunner> exposing = () -> ModelRunner.pooled(modelSha,
          SessionCache.get(modelSha, Path.of(SparkFiles.get(modelFileName)), taskCpus), names, outs);
      Observed partial;
      if (reduced != null) {
        OrtSession session = SessionCache.get(reduced.sha256(), Path.of(SparkFiles.get(reduced.fileName())), taskCpus);
        long[] reruns = new long[1];
        StatsSet s = ReducedObserve.observePartition(it, session, reduced.reductions(), exposing, names, outs,
            batchSize, pad, config, reruns, padding);
        partial = new Observed(s, reruns[0]);
      } else {
        try (ModelRunner runner = exposing.get()) {
          partial = new Observed(observePartition(it, runner, names.size(), outs, batchSize, pad, config, padding,
              valid), 0);
        }
      }
      TaskContext task = TaskContext.get();
      if (task.partitionId() == failFirstAttemptOf && task.attemptNumber() == 0) {
        throw new IllegalStateException("qcal: injected failure of the first attempt of partition "
            + failFirstAttemptOf + " (" + FAIL_FIRST_ATTEMPT + ")");
      }
      return List.of(partial).iterator();
    });
    return perPartition.treeAggregate(new Observed(StatsSet.empty(outs, config), 0), Observed::merge, Observed::merge);
  }

  /** The opened data and its first sample, read once when first asked for. */
  private static final class FirstSample {
    private final java.util.function.Supplier<DataSources.Opened> open;
    private final CalibrateOptions o;
    private final List<InputSpec> inputs;
    private final Padding padding;
    private final ModelProto model;
    private final String modelName;
    private int fixedBatch;
    private WholeInputs.Feed feed;
    private DataSources.Opened opened;
    private List<Sample> sample;
    private Map<String, long[]> verifyShapes;

    FirstSample(java.util.function.Supplier<DataSources.Opened> open, CalibrateOptions o, List<InputSpec> inputs,
        Padding padding, ModelProto model, String modelName) {
      this.open = open;
      this.o = o;
      this.inputs = inputs;
      this.padding = padding;
      this.model = model;
      this.modelName = modelName;
    }

    /**
     * The shapes the preparation is verified on: the first sample's, with the verification batch (whole
     * inputs: as they are). Decides the feed ({@link WholeInputs}).
     */
    Map<String, long[]> verifyShapes() {
      if (verifyShapes != null) {
        return verifyShapes;
      }
      opened = open.get();
      // one sample, read before any repartitioning shuffle, fixes the shapes the preparation is verified on
      List<Sample> raw = opened.samples().take(1);
      if (raw.isEmpty()) {
        throw new DataException(String.join(", ", o.dataOptions().describe(o.data())) + ": no samples"
            + (o.dataOptions().samples() || opened.skipped() != null ? " selected" : ""));
      }
      feed = WholeInputs.decide(inputs, opened.samples(), raw.get(0), padding);
      fixedBatch = feed.fixedBatch(model, modelName);
      sample = List.of(WholeInputs.normalize(raw.get(0), inputs, feed.whole()).get(0));
      verifyShapes = new LinkedHashMap<>();
      for (int i = 0; i < inputs.size(); i++) {
        long[] s = sample.get(0).shapes()[i];
        if (feed.whole()) {
          verifyShapes.put(inputs.get(i).name(), s.clone());
          continue;
        }
        long[] b = new long[s.length + 1];
        b[0] = FixedBatch.verifyBatch(fixedBatch);
        System.arraycopy(s, 0, b, 1, s.length);
        for (int a : inputs.get(i).padAxes()) {
          b[1 + a] = Math.max(b[1 + a], inputs.get(i).dims()[a]); // a padded fixed axis: the model's size
        }
        verifyShapes.put(inputs.get(i).name(), b);
      }
      return verifyShapes;
    }
  }

  /** The rows {@link PaddedBatches#shapes} feeds: the fixed batch, 1, or a whole input. */
  static int feedRows(WholeInputs.Feed feed, int fixedBatch) {
    return feed.whole() ? Batcher.WHOLE : Math.max(1, fixedBatch);
  }

  private static Map<String, Object> observeReport(ReducedObserve.Shipped reduced, Observed observed) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (reduced == null) {
      m.put("mode", "exposed");
    } else {
      m.put("mode", "reduced_in_onnxruntime");
      m.put("batches_rerun_exposed", observed.rerunBatches());
    }
    return m;
  }

  /**
   * Streams one partition through the model, one batch at a time; with {@code pad} (a fixed batch size)
   * a partial batch is padded and only its real samples' rows are observed.
   */
  static StatsSet observePartition(Iterator<Sample> it, ModelRunner runner, int inputs, List<String> tensors,
      int batchSize, boolean pad, StatsConfig config) {
    return observePartition(it, runner, inputs, tensors, batchSize, pad, config, null, null);
  }

  /**
   * {@link #observePartition}, samples padded as {@code padding} says (null: none); with {@code valid},
   * each sample adds only its valid positions.
   */
  static StatsSet observePartition(Iterator<Sample> it, ModelRunner runner, int inputs, List<String> tensors,
      int batchSize, boolean pad, StatsConfig config, Padding padding, ValidPositions valid) {
    StatsSet stats = StatsSet.empty(tensors, config);
    Batcher batcher = new Batcher(inputs, batchSize, pad, Batcher.DEFAULT_OPEN_BUCKETS, padding);
    ModelRunner.OutputSink sink = stats::add;
    java.util.function.Consumer<Batcher.Batch> observe = b -> {
      runner.run(b, valid != null && b.lengths() != null ? valid.sink(b, stats) : ModelRunner.realRows(b, sink));
      stats.countBatch(b.size());
    };
    batcher.forEach(it, observe);
    return stats;
  }

  /** The inputs marked as {@code --pad} or {@code --mask} says; a bad one is a {@link DataException}. */
  static Padding padding(List<InputSpec> inputs, DataOptions d) {
    try {
      return Padding.of(inputs, d.pads(), d.mask());
    } catch (IllegalArgumentException e) {
      throw new DataException(e.getMessage());
    }
  }

  /** Each padded input's pad axes. */
  static Map<String, int[]> padAxes(List<InputSpec> inputs) {
    Map<String, int[]> m = new LinkedHashMap<>();
    for (InputSpec in : inputs) {
      if (in.padded()) {
        m.put(in.name(), in.padAxes());
      }
    }
    return m;
  }

  private static Map<String, Long> nonFinite(StatsSet stats) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (TensorStats s : stats.tensors().values()) {
      if (s.nonFiniteCount() > 0) {
        m.put(s.tensor(), s.nonFiniteCount());
      }
    }
    return m;
  }

  /** The versions recorded in every output: the same for calibrate and quantize. */
  static Map<String, String> versions() {
    Map<String, String> v = new LinkedHashMap<>();
    v.put("qcal", QcalVersion.get());
    v.put("onnxruntime", Ort.version());
    v.put("spark", org.apache.spark.package$.MODULE$.SPARK_VERSION());
    v.put("java", System.getProperty("java.version"));
    return v;
  }

  /** The {@link #SLOW_SAMPLE_MILLIS} test hook: the same samples, each delayed. */
  private static JavaRDD<Sample> slowDown(JavaRDD<Sample> samples, int millis) {
    return millis <= 0 ? samples : samples.map(s -> {
      Thread.sleep(millis);
      return s;
    });
  }
}
