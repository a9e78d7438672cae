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
import dev.qcal.io.StatsFiles;
import dev.qcal.jobs.JobContext.Stage;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.prepare.FixedBatch;
import dev.qcal.model.prepare.GraphAugmenter;
import dev.qcal.model.prepare.ModelPreparer;
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
import org.apache.spark.api.java.JavaRDD;
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
    OutputGuard.check(COMMAND, o.out(), o.overwrite(), conf, o.inputs(),
        fallback == null ? List.of() : fallback.inputs(), more);
  }

  /** Runs the job and returns the record also written as {@code run.json}. */
  public static RunRecord run(CalibrateOptions o, SparkSession spark) {
    return run(o, spark, JobProgress.none());
  }

  /** Runs the job, telling {@code progress} which stage runs and how far observing got. */
  public static RunRecord run(CalibrateOptions o, SparkSession spark, JobProgress progress) {
    return run(o, spark, progress, null);
  }

  /**
   * Runs the job; with a {@code fallback} request, the quantized model is evaluated and nodes are left
   * in FP32 until its target is met (see {@link Fp32Fallback}) before anything is written.
   */
  public static RunRecord run(CalibrateOptions o, SparkSession spark, JobProgress progress,
      Fp32Fallback.Request fallback) {
    checkOutput(o, fallback, List.of(), spark.sparkContext().hadoopConfiguration());
    GptqStage.checkOptions(o);
    try (JobContext ctx = JobContext.open(spark, "qcal-", progress)) {
      Preparation prepared = ctx.stage(Stage.PREPARE, "qcal prepare: load, fold, upgrade and verify "
          + o.model().getFileName(), () -> prepare(ctx, o));
      List<Algorithms.Applied> applied = new ArrayList<>();
      SmoothStage.Outcome smoothed = o.algorithms().smoothQuant() ? SmoothStage.run(ctx, o, prepared) : null;
      Preparation p = smoothed == null ? prepared : smoothed.preparation();
      if (smoothed != null) {
        applied.add(smoothed.applied());
      }
      LOG.info("Prepared {}: opset {} -> {}, {} tensors to calibrate", o.model(), p.prepared().sourceOpset(),
          p.prepared().opset(), p.tensors().size());
      Observed observed = observe(ctx, o, p);
      if (smoothed != null) { // what smoothing left for quantization, from the same statistics
        applied.set(0, smoothed.applied().withAfter(p.prepared().model(), observed.stats(), o.ranges()));
      }
      GptqStage.Outcome gptq = o.algorithms().gptq() ? ctx.stage(Stage.HESSIAN, "qcal gptq: layer input Hessians,"
          + " treeAggregate of exact sums; GPTQ on the driver", () -> GptqStage.run(ctx, o, p, observed.stats()))
          : GptqStage.Outcome.NONE;
      if (gptq.applied() != null) {
        applied.add(gptq.applied());
      }
      QuantizeStep.Result chosen = ctx.stage(Stage.CHOOSE_RANGES, "qcal choose ranges: " + o.ranges().method()
          + ", QDQ rewrite", () -> choose(o, p, observed.stats(), p.plan(), gptq));
      BiasCorrection.Outcome bc = o.algorithms().biasCorrection()
          ? BiasCorrection.run(ctx, o, p, observed.stats(), chosen, gptq.rounded()) : null;
      if (bc != null) {
        applied.add(bc.applied());
      }
      QuantizeStep.Result corrected = bc == null ? chosen : bc.result();
      Fp32Fallback.Outcome fb = fallback == null ? null : ctx.stage(Stage.FALLBACK,
          "qcal fallback: evaluate the quantized model",
          () -> fallback(ctx, o, p, observed.stats(), corrected, fallback, gptq, bc));
      RunRecord run = ctx.stage(Stage.WRITE, "qcal write: " + o.out(),
          () -> write(ctx, o, p, observed, fb == null ? corrected : fb.result(), fb, applied));
      progress.stage("done");
      LOG.info("Calibrated {} samples in {} s; outputs in {}", observed.stats().samples(), ctx.wallSeconds(),
          run.subject().out());
      return run;
    }
  }

  /** The data as the observe pass is fed it, and its first sample. */
  record Feeding(DataSources.Opened opened, WholeInputs.Feed feed, Padding padding, int fixedBatch, int batchSize,
      JavaRDD<Sample> samples, Sample first) {
    List<String> inputNames() {
      return feed.inputs().stream().map(InputSpec::name).toList();
    }

    /** The shapes of {@code tensors} when {@code sample} (repeated to the fed rows) runs through {@code session}. */
    Map<String, long[]> shapes(OrtSession session, List<String> tensors, Sample sample, String modelName) {
      return PaddedBatches.shapes(session, inputNames(), sample, tensors, feedRows(feed, fixedBatch), modelName,
          padding);
    }
  }

  /** The graphs the observe pass runs: exposing every activation, reducing in ONNX Runtime (or null). */
  record Observing(ShippedFiles.Shipped exposing, ReducedObserve.Shipped reduced, ValidPositions valid) {}

  /** What the prepare stage hands on: the verified model, its plan, the fed data and the shipped graphs. */
  record Preparation(String sha, ModelPreparer.Prepared prepared, CalibrationPlan plan, List<String> tensors,
      Map<String, TensorOverrides.Override> overrides, Map<String, long[]> verifyShapes, Feeding input,
      Observing observing) {}

  /**
   * Loads, folds, upgrades and verifies the model on the driver, plans and rehearses the rewrite before any
   * data is read, then reads the first sample and ships the graphs the observe pass runs.
   */
  private static Preparation prepare(JobContext ctx, CalibrateOptions o) {
    SparkSession spark = ctx.spark();
    ModelProto original = OnnxModels.load(o.model());
    String modelName = o.model().toString();
    String sha = OnnxModels.sha256(o.model());
    Padding padding = padding(ModelInputs.of(original, modelName), o.dataOptions());
    List<InputSpec> specs = padding.inputs();
    int opset = o.ranges().preparedOpset(TensorOverrides.dtypes(o.ranges().configFile(), ctx.hadoopConf()));
    // read after the rehearsal, or during the transform when the upgrade must learn a rank from one run
    FirstSample first = new FirstSample(() -> DataSources.open(spark, o.data(), specs, o.sampleShapes(),
        o.dataOptions()), o, specs, padding, original, modelName);
    ModelPreparer.Unverified unverified = ModelPreparer.transform(o.model(), ctx.work(), opset, first::verifyShapes);
    CalibrationPlan plan = CalibrationPlan.of(unverified.model(), o.ranges().plan());
    QuantizeStep.checkNames(o.model(), plan);
    List<String> tensors = List.copyOf(plan.activations());
    StatsPreflight.checkAxisNames(o.statsConfig(), tensors);
    PaddedAxes traced = traceAxes(o, padding, unverified.model(), tensors);
    // read before any data, so a bad config fails in seconds
    Map<String, TensorOverrides.Override> overrides =
        TensorOverrides.read(o.ranges().configFile(), ctx.hadoopConf(), tensors);
    // what would fail after the data pass (the Q/DQ rewrite, the writers) fails now, before any data is read
    Rehearsal.run(unverified.model(), unverified.file().getParent(), plan, o.ranges(), o.statsConfig(), overrides,
        modelName);
    Map<String, long[]> verifyShapes = first.verifyShapes();
    Feeding input = first.feeding();
    ModelPreparer.Prepared prepared = unverified.verify(verifyShapes);
    Observing observing = ship(ctx, o, o.statsConfig(), prepared, tensors, input, traced);
    return new Preparation(sha, prepared, plan, tensors, overrides, verifyShapes, input, observing);
  }

  /** Which axes of each activation are padded, by shape inference before any data is read (null: not traced). */
  static PaddedAxes traceAxes(CalibrateOptions o, Padding padding, ModelProto model, List<String> tensors) {
    return padding.any() && !o.dataOptions().padStatsInclude()
        ? PaddedAxes.trace(model, padAxes(padding.inputs()), tensors, padding.masked() ? "--mask" : "--pad",
            "; give --pad-stats include to count padded positions, or leave its node out (--exclude-nodes)")
        : null;
  }

  /**
   * Ships the graph exposing {@code tensors} and, when the pass needs no activation in Java, the one reducing
   * them in ONNX Runtime; checks the memory of statistics as {@code config} says on the shapes of the first
   * sample before the pass.
   */
  static Observing ship(JobContext ctx, CalibrateOptions o, StatsConfig config, ModelPreparer.Prepared prepared,
      List<String> tensors, Feeding input, PaddedAxes traced) {
    ModelProto augmented = GraphAugmenter.exposeOutputs(prepared.model(), tensors);
    // Named by content (with its external data files, if any): executors fetch it once per JVM and a
    // SparkContext never sees one name with two contents.
    ShippedFiles.Shipped shipped = ShippedFiles.shipModel(ctx.jsc(), augmented, prepared.file().getParent(),
        ctx.work(), "qcal-augmented");
    // shapes from one sample (repeated to a fixed batch, whose rows must come first) through the exposing
    // graph (the session local executors reuse): channel axes within the ranks and a state the heaps can
    // hold, before the pass
    OrtSession exposing = SessionCache.get(shipped.sha256(), ctx.work().resolve(shipped.fileName()), ctx.taskCpus());
    String modelName = o.model().toString();
    Map<String, long[]> shapes = input.shapes(exposing, tensors, input.first(), modelName);
    ValidPositions valid = traced == null ? null
        : new ValidPositions(resolve(traced, exposing, input, tensors, modelName));
    StatsPreflight.checkMemory(ctx.spark().sparkContext(), config, StatsPreflight.channels(config, shapes));
    // the reductions would count padded positions: with --pad-stats exclude every batch is exposed
    ReducedObserve.Shipped reduced = valid == null ? shipReduced(ctx, config, prepared, shapes, tensors) : null;
    return new Observing(shipped, reduced, valid);
  }

  /** {@code traced}, the axes shape inference left open resolved from the first sample padded to two lengths. */
  private static PaddedAxes resolve(PaddedAxes traced, OrtSession probe, Feeding input, List<String> tensors,
      String modelName) {
    if (traced.complete()) {
      return traced;
    }
    Padding padding = input.padding();
    Sample a = padding.extended(input.first(), 1);
    Sample b = padding.extended(input.first(), 2);
    return traced.resolve(input.shapes(probe, tensors, a, modelName), padding.trueLengths(a.shapes(), a.source()),
        input.shapes(probe, tensors, b, modelName), padding.trueLengths(b.shapes(), b.source()));
  }

  /** The graph reducing the activations in ONNX Runtime, shipped; null when the pass exposes them all. */
  private static ReducedObserve.Shipped shipReduced(JobContext ctx, StatsConfig config,
      ModelPreparer.Prepared prepared, Map<String, long[]> shapes, List<String> tensors) {
    if (!ReducedObserve.applies(config)
        || !Boolean.parseBoolean(ctx.spark().conf().get(REDUCE_IN_ORT, "true"))) {
      return null;
    }
    List<GraphAugmenter.Reduction> reductions = ReducedObserve.plan(shapes, tensors, config);
    if (reductions == null) {
      return null;
    }
    // same prefix: external data files keep their shipped names and are shipped once
    ShippedFiles.Shipped r = ShippedFiles.shipModel(ctx.jsc(),
        GraphAugmenter.addReductions(prepared.model(), reductions), prepared.file().getParent(), ctx.work(),
        "qcal-augmented");
    return new ReducedObserve.Shipped(r.fileName(), r.sha256(), reductions);
  }

  /** The observe stage: the data through the shipped graphs on executors, statistics merged by tree aggregation. */
  private static Observed observe(JobContext ctx, CalibrateOptions o, Preparation p) {
    Feeding in = p.input();
    JavaRDD<Sample> samples = ctx.faults().slowDown(JobProgress.observing(ctx.progress(), in.samples(), ctx.spark(),
        () -> JobProgress.total(ctx.spark(), o.data(), o.dataOptions(), in.padding().inputs(),
            in.opened().selected(), in.opened().skipped())));
    Observing graphs = p.observing();
    ObservePass pass = new ObservePass(graphs.exposing(), graphs.reduced(), in.inputNames(), p.tensors(),
        in.batchSize(), in.fixedBatch() > 0, ctx.taskCpus(), ctx.faults().failFirstAttemptOf(), o.statsConfig(),
        in.padding(), graphs.valid());
    return ctx.stage(Stage.OBSERVE, "qcal observe and reduce: " + p.tensors().size() + " activations over "
        + samples.getNumPartitions() + " partitions, treeAggregate of exact statistics",
        () -> observe(samples, pass));
  }

  /** The choose stage: ranges from {@code stats} and the Q/DQ rewrite of the nodes {@code plan} quantizes. */
  private static QuantizeStep.Result choose(CalibrateOptions o, Preparation p, StatsSet stats, CalibrationPlan plan,
      GptqStage.Outcome gptq) {
    return QuantizeStep.run(p.prepared().model(), p.prepared().file().getParent(), plan, stats, o.ranges(),
        p.overrides(), gptq.rounded());
  }

  /** The fallback stage: nodes left in FP32, most sensitive first, until {@code request}'s target is met. */
  private static Fp32Fallback.Outcome fallback(JobContext ctx, CalibrateOptions o, Preparation p, StatsSet stats,
      QuantizeStep.Result chosen, Fp32Fallback.Request request, GptqStage.Outcome gptq, BiasCorrection.Outcome bc) {
    ModelProto model = p.prepared().model();
    WholeInputs.Feed feed = p.input().feed();
    return Fp32Fallback.run(ctx.spark(), request, new Fp32Fallback.Candidates(o.model(), model, o.ranges().plan(),
        chosen, plan -> bc != null ? bc.choose(plan) : choose(o, p, stats, CalibrationPlan.of(model, plan), gptq)),
        new Fp32Fallback.CalibrationData(feed.inputs(), feed.samples(), o.data().isEmpty() ? null : o.data()),
        ctx.work());
  }

  /** The write stage: every output (run.json last, with the timings) into {@code --out} atomically; its record. */
  private static RunRecord write(JobContext ctx, CalibrateOptions o, Preparation p, Observed observed,
      QuantizeStep.Result q, Fp32Fallback.Outcome fb, List<Algorithms.Applied> applied) {
    Map<String, String> versions = versions();
    StatsSet stats = observed.stats();
    QParamsFile.Header header = new QParamsFile.Header(o.model().toString(), p.sha(), p.prepared().sourceOpset(),
        p.prepared().opset(), o.ranges().method(), stats.samples(), versions)
        .withAlgorithms(Algorithms.toJson(applied));
    RunRecord run = describe(ctx, o, p, observed, q, versions, fb, applied);
    try (AtomicOutput out = AtomicOutput.begin(o.out(), COMMAND, o.overwrite(), ctx.hadoopConf())) {
      ctx.faults().arm(out);
      QuantizeStep.write(out.dir(), header, q, o.ranges());
      StatsFiles.write(out.dir().resolve(StatsFiles.DIR), stats, p.sha(), p.prepared().opset(), p.verifyShapes(),
          o.algorithms().smoothQuant() ? SmoothStage.NAME : null);
      ctx.stageTimed();
      run = QuantizeStep.writeRunAndReport(ctx, out.dir(), run, stats.samples(), o.ranges().report() ? stats : null);
      out.commit();
    }
    return run;
  }

  /** What {@code run.json} says about the run, before its timings. */
  private static RunRecord describe(JobContext ctx, CalibrateOptions o, Preparation p, Observed observed,
      QuantizeStep.Result q, Map<String, String> versions, Fp32Fallback.Outcome fb, List<Algorithms.Applied> applied) {
    StatsSet stats = observed.stats();
    Feeding in = p.input();
    RunRecord.Subject subject = new RunRecord.Subject(COMMAND, o.model().toString(), p.sha(),
        o.dataOptions().describe(o.data()), null, AtomicOutput.qualified(o.out(), ctx.hadoopConf()),
        o.ranges().method(), RunRecord.Ranges.of(o.ranges()), stats.samples());
    RunRecord.Feed feed = new RunRecord.Feed(stats.batches(), in.feed().whole() ? 1 : in.batchSize(),
        WholeInputs.mode(in.feed().whole()), p.observing().reduced() != null, observed.rerunBatches(),
        in.samples().getNumPartitions(), RunRecord.Selection.of(o.dataOptions(), in.opened().skipped()));
    return new RunRecord(subject, feed, RunRecord.Quantization.of(p.tensors().size(), q),
        new RunRecord.Statistics(nonFinite(stats), StatsFiles.stateBytes(stats)),
        new RunRecord.Spark(ctx.spark().sparkContext().master(), ctx.spark().sparkContext().applicationId()),
        versions, fb == null ? null : fb.record(), applied, null);
  }

  /** Statistics of one observe pass, and how many batches the reduced graph handed to the exposing one. */
  record Observed(StatsSet stats, long rerunBatches) implements java.io.Serializable {
    Observed merge(Observed o) {
      return new Observed(StatsSet.combine(stats, o.stats), rerunBatches + o.rerunBatches);
    }
  }

  /**
   * What an executor task of the observe pass needs: the shipped graphs (exposing every activation, and
   * reducing them in ONNX Runtime or null), the inputs and activations, how samples are batched (with
   * {@code pad}, a fixed batch size, a partial batch is padded; {@code padding}, or null, pads samples;
   * with {@code valid}, only their valid positions are observed), the statistics and the fault hook.
   */
  record ObservePass(ShippedFiles.Shipped exposing, ReducedObserve.Shipped reduced, List<String> inputNames,
      List<String> tensors, int batchSize, boolean pad, int taskCpus, int failFirstAttemptOf, StatsConfig config,
      Padding padding, ValidPositions valid) implements java.io.Serializable {
    ObservePass {
      inputNames = List.copyOf(inputNames);
      tensors = List.copyOf(tensors);
    }

    /** The statistics of one partition, through the reduced graph when there is one. */
    Observed partition(Iterator<Sample> it) throws Exception {
      java.util.function.Supplier<ModelRunner> exposed = () -> ModelRunner.pooled(exposing.sha256(),
          SessionCache.get(exposing.sha256(), Path.of(SparkFiles.get(exposing.fileName())), taskCpus), inputNames,
          tensors);
      Observed partial;
      if (reduced != null) {
        OrtSession session = SessionCache.get(reduced.sha256(), Path.of(SparkFiles.get(reduced.fileName())), taskCpus);
        long[] reruns = new long[1];
        StatsSet s = ReducedObserve.observePartition(it, session, exposed, this, reruns);
        partial = new Observed(s, reruns[0]);
      } else {
        try (ModelRunner runner = exposed.get()) {
          partial = new Observed(observePartition(it, runner, this), 0);
        }
      }
      FaultHooks.failFirstAttempt(failFirstAttemptOf);
      return partial;
    }
  }

  /** The observe pass: {@code samples} through {@code pass}'s graphs on executors, merged by tree aggregation. */
  static Observed observe(JavaRDD<Sample> samples, ObservePass pass) {
    JavaRDD<Observed> perPartition = samples.mapPartitions(it -> List.of(pass.partition(it)).iterator());
    return perPartition.treeAggregate(new Observed(StatsSet.empty(pass.tensors(), pass.config()), 0),
        Observed::merge, Observed::merge);
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

    /** The data as the observe pass is fed it; after {@link #verifyShapes}. */
    Feeding feeding() {
      int batchSize = feed.batchSize(fixedBatch, o.batchSize(), modelName);
      JavaRDD<Sample> samples = o.partitions() == null ? feed.samples() : feed.samples().repartition(o.partitions());
      return new Feeding(opened, feed, padding, fixedBatch, batchSize, samples, sample.get(0));
    }
  }

  /** The rows {@link PaddedBatches#shapes} feeds: the fixed batch, 1, or a whole input. */
  static int feedRows(WholeInputs.Feed feed, int fixedBatch) {
    return feed.whole() ? Batcher.WHOLE : Math.max(1, fixedBatch);
  }

  /**
   * Streams one partition through {@code runner} (exposing every activation), one batch at a time, as
   * {@code pass} batches it: with {@code pad} (a fixed batch size) a partial batch is padded and only its
   * real samples' rows are observed; with {@code valid}, each sample adds only its valid positions.
   */
  static StatsSet observePartition(Iterator<Sample> it, ModelRunner runner, ObservePass pass) {
    StatsSet stats = StatsSet.empty(pass.tensors(), pass.config());
    Batcher batcher = new Batcher(pass.inputNames().size(), pass.batchSize(), pass.pad(),
        Batcher.DEFAULT_OPEN_BUCKETS, pass.padding());
    ModelRunner.OutputSink sink = stats::add;
    ValidPositions valid = pass.valid();
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
}
