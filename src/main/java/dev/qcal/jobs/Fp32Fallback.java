package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.data.DataException;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Sample;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.PlanOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Automatic FP32 fallback for {@code calibrate} and {@code quantize}: evaluates the quantized model
 * against the FP32 model on Spark; while the target is not met, leaves the nodes of the most sensitive
 * remaining tensor (per-tensor ranking of {@link Sensitivity}, measured once on the first quantized
 * model) in FP32 through the plan's node exclusions, re-quantizes from the same statistics (no new
 * calibration pass) and evaluates again, until the target is met or no ranked tensor is left.
 */
public final class Fp32Fallback {
  private static final Logger LOG = LoggerFactory.getLogger(Fp32Fallback.class);

  private Fp32Fallback() {}

  /**
   * What the quantized model must achieve against the FP32 model; null parts are not checked.
   *
   * @param agreement lowest top-1 agreement, in [0, 1]
   * @param maxAccuracyDrop largest top-1 accuracy drop in percentage points (needs labels)
   * @param minSqnrDb lowest output SQNR in dB
   */
  public record Target(Double agreement, Double maxAccuracyDrop, Double minSqnrDb) {
    public boolean any() {
      return agreement != null || maxAccuracyDrop != null || minSqnrDb != null;
    }

    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("top1_agreement", agreement);
      m.put("max_accuracy_drop_points", maxAccuracyDrop);
      m.put("min_output_sqnr_db", minSqnrDb);
      return m;
    }
  }

  /**
   * A fallback request.
   *
   * @param evalData evaluation data paths ({@code --data} syntax), or null for the calibration data
   * @param evalLabels int64 {@code .npy} labels of the evaluation data, or null
   * @param sensitivitySamples samples of the sensitivity pass (>= 1)
   * @param batchSize samples per inference call
   * @param evalOptions how {@code evalData} is read (format, input columns, preprocessing, bad records)
   * @param evalSampleShapes per input, the sample shape of flat evaluation data
   */
  public record Request(Target target, List<String> evalData, String evalLabels, int sensitivitySamples,
      int batchSize, DataOptions evalOptions, Map<String, long[]> evalSampleShapes) {
    public Request {
      evalOptions = evalOptions == null ? DataOptions.DEFAULT : evalOptions;
      evalSampleShapes = evalSampleShapes == null ? Map.of() : Map.copyOf(evalSampleShapes);
    }

    /** A request reading {@code evalData} with the default options. */
    public Request(Target target, List<String> evalData, String evalLabels, int sensitivitySamples, int batchSize) {
      this(target, evalData, evalLabels, sensitivitySamples, batchSize, null, null);
    }

    /** What the fallback reads besides the run's own inputs: --eval-data and --eval-labels. */
    public List<dev.qcal.io.OutputGuard.Input> inputs() {
      List<dev.qcal.io.OutputGuard.Input> in = new java.util.ArrayList<>(
          dev.qcal.io.OutputGuard.Input.data("--eval-data", evalData));
      in.addAll(dev.qcal.io.OutputGuard.Input.hadoop("--eval-labels", evalLabels));
      if (evalData != null) {
        in.addAll(dev.qcal.io.OutputGuard.Input.hadoop("--preprocess", evalOptions.preprocess()));
      }
      return in;
    }
  }

  /** The final quantization, the plan options it was made with, and what goes into run.json. */
  record Outcome(QuantizeStep.Result result, PlanOptions plan, boolean met, String reason,
      RunRecord.Fallback record) {}

  /**
   * What the fallback evaluates and varies.
   *
   * @param fp32 the FP32 model file the candidates are compared with
   * @param prepared the prepared model the plans are made on
   * @param initial the quantization made with {@code basePlan}
   * @param requantize the quantization step for other plan options, from the same statistics
   */
  record Candidates(Path fp32, ModelProto prepared, PlanOptions basePlan, QuantizeStep.Result initial,
      Function<PlanOptions, QuantizeStep.Result> requantize) {}

  /**
   * The data the run calibrated on, evaluated when the request names no evaluation data.
   *
   * @param inputs the model's inputs
   * @param samples the calibration samples, or null (quantize: none)
   * @param paths the calibration data paths (for labels), or null
   */
  record CalibrationData(List<InputSpec> inputs, JavaRDD<Sample> samples, List<String> paths) {}

  /** Runs the loop, with a scratch directory {@code work}. */
  static Outcome run(SparkSession spark, Request r, Candidates q, CalibrationData data, Path work) {
    Target target = r.target();
    Evaluation ev = evaluation(spark, r, q.fp32(), data, work);
    ev.describe("qcal fallback: evaluate the quantized model");
    EvaluateJob.Comparisons c = ev.compare(q.initial());
    checkMeasurable(c, target, q.fp32(), ev.outputs());
    Steps steps = new Steps(r, c.samples);
    steps.add(List.of(), null, c);
    if (met(c, target)) {
      return steps.outcome(q.initial(), q.basePlan(), new ArrayList<>(), null, null);
    }
    return leaveInFp32(ev, r, q, steps, c);
  }

  /** The evaluations of one fallback run, in order, and the outcome they lead to. */
  private static final class Steps {
    private final Request request;
    private final long evalSamples;
    private final List<RunRecord.Step> done = new ArrayList<>();

    Steps(Request request, long evalSamples) {
      this.request = request;
      this.evalSamples = evalSamples;
    }

    int size() {
      return done.size();
    }

    /** Records and logs the next evaluation, {@code nodes} newly in FP32 for ranked {@code e} (null: none). */
    void add(List<String> nodes, Sensitivity.Entry e, EvaluateJob.Comparisons c) {
      Target t = request.target();
      done.add(new RunRecord.Step(done.size(), nodes, e == null ? null : e.tensor(), e == null ? null : e.kind(),
          c.agreement(), c.accuracyDropPoints(), c.sqnrDb(), met(c, t)));
      log(done.size() - 1, nodes, c, t);
    }

    /** The outcome: {@code result}, made with {@code plan}, {@code excluded} in FP32; met when no {@code reason}. */
    Outcome outcome(QuantizeStep.Result result, PlanOptions plan, List<String> excluded, String reason,
        Sensitivity.Result sensitivity) {
      RunRecord.Fallback record = new RunRecord.Fallback(request.target(), request.evalData(), request.evalLabels(),
          List.copyOf(done), evalSamples, excluded, reason, sensitivity == null ? null : sensitivity.toJson());
      return new Outcome(result, plan, reason == null, reason, record);
    }
  }

  /** What every evaluation of the loop shares: the evaluation data and the FP32 model, shipped once. */
  private record Evaluation(JavaSparkContext jsc, Path work, WholeInputs.Feed feed, List<String> names,
      List<String> outputs, ShippedFiles.Shipped fp32, int batchSize, boolean pad, int taskCpus,
      EvaluateJob.Labels labels) {
    /** Both models over the evaluation data. */
    EvaluateJob.Comparisons compare(QuantizeStep.Result q) {
      ShippedFiles.Shipped qs = ShippedFiles.shipModel(jsc, q.rewrite().model(), q.modelDir(), work, "qcal-fb-q");
      return EvaluateJob.compare(feed.samples(), new EvaluateJob.ComparePass(fp32, qs, names, outputs, batchSize, pad,
          taskCpus, labels, null));
    }

    void describe(String description) {
      JobContext.describe(jsc, JobContext.Stage.FALLBACK, description);
    }
  }

  /** Opens the evaluation data and its labels, and ships the FP32 model. */
  private static Evaluation evaluation(SparkSession spark, Request r, Path fp32, CalibrationData data, Path work) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<InputSpec> inputs = data.inputs();
    // evaluation data of its own is read as calibration data is: whole inputs or rows, as its first sample says
    WholeInputs.Feed feed = r.evalData() == null
        ? new WholeInputs.Feed(inputs, data.samples(), inputs.stream().anyMatch(InputSpec::whole))
        : WholeInputs.open(spark, r.evalData(), inputs, r.evalSampleShapes(), r.evalOptions(), null);
    List<String> dataPaths = r.evalData() == null ? data.paths() : r.evalData();
    EvaluateJob.Labels labels = null;
    if (r.evalLabels() != null) {
      if (dataPaths == null) {
        throw new DataException("--eval-labels needs .npy evaluation data (--eval-data PATH)");
      }
      labels = EvaluateJob.Labels.read(r.evalLabels(), dataPaths, inputs, spark.sparkContext().hadoopConfiguration());
    }
    ModelProto original = OnnxModels.load(fp32);
    List<String> outputs = original.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
    List<String> names = inputs.stream().map(InputSpec::name).toList();
    int taskCpus = spark.sparkContext().conf().getInt("spark.task.cpus", 1);
    int fixedBatch = feed.fixedBatch(original, fp32.toString());
    int batchSize = feed.whole() ? dev.qcal.data.Batcher.WHOLE : fixedBatch > 0 ? fixedBatch : r.batchSize();
    // shipped with its external data files, if any (named by content, so the SHA-256 covers the weights)
    ShippedFiles.Shipped fp32Shipped =
        ShippedFiles.shipModel(jsc, original, dev.qcal.model.onnx.ExternalData.directory(fp32), work, "qcal-fb-fp32");
    PaddedBatches.checkOutputs(feed.samples(), dev.qcal.runtime.SessionCache.get(fp32Shipped.sha256(),
        work.resolve(fp32Shipped.fileName()), taskCpus), names, outputs, fixedBatch, fp32.toString());
    return new Evaluation(jsc, work, feed, names, outputs, fp32Shipped, batchSize, fixedBatch > 0, taskCpus, labels);
  }

  /** Refuses a first evaluation that cannot tell whether the target is met. */
  private static void checkMeasurable(EvaluateJob.Comparisons c, Target target, Path fp32, List<String> outputs) {
    if (c.samples == 0) {
      throw new DataException("fallback: the evaluation data holds no samples");
    }
    if (target.agreement() != null && c.agreement() == null) {
      throw new DataException("--target-agreement: no output of " + fp32 + " is a 2-D [N, classes] tensor " + outputs);
    }
    if (target.maxAccuracyDrop() != null && c.accuracyDropPoints() == null) {
      throw new DataException("--max-accuracy-drop: no labelled 2-D [N, classes] output of " + fp32 + " " + outputs);
    }
  }

  /**
   * Ranks the quantized tensors by sensitivity and leaves their nodes in FP32, most sensitive first, until
   * the target is met or none is left; each step is evaluated and added to {@code steps}.
   */
  private static Outcome leaveInFp32(Evaluation ev, Request r, Candidates q, Steps steps,
      EvaluateJob.Comparisons first) {
    Target target = r.target();
    ModelProto prepared = q.prepared();
    PlanOptions basePlan = q.basePlan();
    QuantizeStep.Result initial = q.initial();
    ev.describe("qcal fallback: sensitivity of each quantized tensor");
    Sensitivity.Result sensitivity = Sensitivity.measure(ev.jsc(), ev.work(),
        new Sensitivity.Models(prepared, initial.modelDir(), initial.rewrite().model(), initial.modelDir()),
        new Sensitivity.Feed(Sensitivity.sample(ev.feed().samples(), r.sensitivitySamples()), ev.names(),
            ev.outputs(), ev.feed().whole() ? dev.qcal.data.Batcher.WHOLE : r.batchSize()),
        Sensitivity.Tasks.of(ev.jsc(), ev.taskCpus()));
    List<String> excluded = new ArrayList<>();
    QuantizeStep.Result current = initial;
    PlanOptions plan = basePlan;
    EvaluateJob.Comparisons c = first;
    for (Sensitivity.Entry e : sensitivity.ranked()) {
      Set<String> owners = new LinkedHashSet<>(CalibrationPlan.of(prepared, plan).owners(e.tensor()));
      owners.removeAll(excluded);
      if (owners.isEmpty()) {
        continue; // already in FP32 through an earlier step
      }
      excluded.addAll(owners);
      List<String> patterns = new ArrayList<>(basePlan.excludeNodes());
      patterns.addAll(excluded);
      plan = new PlanOptions(basePlan.opTypes(), patterns, basePlan.excludeOpTypes(), basePlan.excludeDepthwise());
      current = q.requantize().apply(plan);
      ev.describe("qcal fallback: evaluate with " + excluded.size() + " nodes in FP32");
      c = ev.compare(current);
      steps.add(List.copyOf(owners), e, c);
      if (met(c, target)) {
        break;
      }
    }
    String reason = met(c, target) ? null : sensitivity.ranked().isEmpty()
        ? "the model has no quantized tensor to leave in FP32"
        : "every ranked tensor's nodes are in FP32 (" + excluded.size() + " nodes) and " + missed(c, target);
    return steps.outcome(current, plan, excluded, reason, sensitivity);
  }

  static boolean met(EvaluateJob.Comparisons c, Target t) {
    return missed(c, t) == null;
  }

  /** What the figures miss of the target, or null when they meet it. */
  static String missed(EvaluateJob.Comparisons c, Target t) {
    List<String> m = new ArrayList<>();
    Double agreement = c.agreement();
    if (t.agreement() != null && (agreement == null || agreement < t.agreement())) {
      m.add(String.format(Locale.ROOT, "top-1 agreement %.4f < %.4f", agreement, t.agreement()));
    }
    Double drop = c.accuracyDropPoints();
    if (t.maxAccuracyDrop() != null && (drop == null || drop > t.maxAccuracyDrop())) {
      m.add(String.format(Locale.ROOT, "accuracy drop %.2f > %.2f points", drop, t.maxAccuracyDrop()));
    }
    Double sqnr = c.sqnrDb();
    if (t.minSqnrDb() != null && sqnr != null && sqnr < t.minSqnrDb()) {
      m.add(String.format(Locale.ROOT, "output SQNR %.2f dB < %.2f dB", sqnr, t.minSqnrDb()));
    }
    return m.isEmpty() ? null : String.join(", ", m);
  }

  /**
   * The step at debug level, with what missed the target: the command prints each step once on stderr
   * ({@code qcal: fallback step N: ...}, from run.json's record); at info it was told twice.
   */
  private static void log(int step, List<String> nodes, EvaluateJob.Comparisons c, Target t) {
    if (!LOG.isDebugEnabled()) {
      return;
    }
    String missed = missed(c, t);
    LOG.debug("fallback step {}{}: top-1 agreement {}, accuracy drop {} points, output SQNR {} dB: {}", step,
        nodes.isEmpty() ? "" : " (FP32: " + String.join(", ", nodes) + ")", c.agreement(), c.accuracyDropPoints(),
        c.sqnrDb(), missed == null ? "target met" : missed);
  }
}
