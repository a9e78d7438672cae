package dev.qcal.jobs;

import dev.qcal.io.RunReport;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What {@code run.json} says about one {@code calibrate}, {@code quantize} or {@code merge} run, as typed records;
 * {@link #write} is the one place the file's fields are laid out (in this order: what ran, how the data
 * was fed, what was quantized, the statistics and the cluster, the versions, the fallback, the
 * timings), written through {@link RunReport}, which owns the file's name and format header.
 *
 * @param feed how calibrate fed the data (null for quantize, which reads saved statistics)
 * @param statistics what calibrate's statistics hold (null for quantize)
 * @param spark the cluster calibrate ran on (null for quantize)
 * @param fallback the FP32 fallback (null when none was asked for)
 * @param algorithms what ran beyond range setting ({@link Algorithms}), in order; empty when nothing did
 * @param timings the wall times (null until the run is timed, see {@link #timed})
 */
public record RunRecord(Subject subject, Feed feed, Quantization quantization, Statistics statistics, Spark spark,
    Map<String, String> versions, Fallback fallback, List<Algorithms.Applied> algorithms, Timings timings) {

  public RunRecord {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(quantization, "quantization");
    algorithms = algorithms == null ? List.of() : List.copyOf(algorithms);
  }

  /**
   * What ran, on what.
   *
   * @param data the data calibrate read, as {@link DataOptions#describe} says (null for quantize)
   * @param stats the statistics quantize read (one) or merge read (each), in the order given; null for calibrate
   * @param samples the samples the statistics were collected on (merge: their sum)
   */
  public record Subject(String command, String model, String modelSha256, List<String> data, List<StatsInput> stats,
      String out, String method, Ranges ranges, long samples) {
    public Subject {
      if ((data == null) == (stats == null) || stats != null && stats.isEmpty()) {
        throw new IllegalArgumentException("a run reads either data (calibrate) or statistics (quantize, merge)");
      }
      stats = stats == null ? null : List.copyOf(stats);
    }
  }

  /**
   * Statistics a run read: where ({@code --stats} as given) and how many samples they hold. quantize writes the
   * location alone ({@code "stats": "DIR"}), merge a list of both ({@code "stats": [{"path", "samples"}, ...]}).
   */
  public record StatsInput(String path, long samples) {
    private Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("path", path);
      m.put("samples", samples);
      return m;
    }
  }

  /** The range options ({@code range_options}; the report's markers use them). */
  public record Ranges(String method, double percentile, String activationType, boolean symmetricActivations,
      boolean reduceRange, boolean powerOfTwoScales) {
    static Ranges of(RangeOptions s) {
      return new Ranges(s.method(), s.percentile(), s.activationType().id(), s.symmetric(), s.reduceRange(),
          s.powerOfTwoScales());
    }

    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("method", method);
      m.put("percentile", percentile);
      m.put("activation_type", activationType);
      m.put("symmetric_activations", symmetricActivations);
      m.put("reduce_range", reduceRange);
      m.put("power_of_two_scales", powerOfTwoScales);
      return m;
    }
  }

  /**
   * How calibrate fed the data to the observe pass.
   *
   * @param batchSize samples per inference call (1 for whole inputs)
   * @param mode {@code whole} or {@code batched} ({@link WholeInputs#mode})
   * @param reduced whether the activations were reduced in ONNX Runtime ({@link ReducedObserve})
   * @param batchesRerunExposed batches the reduced graph handed to the exposing one (when {@code reduced})
   */
  public record Feed(long batches, int batchSize, String mode, boolean reduced, long batchesRerunExposed,
      int partitions, Selection selection) {
    private void put(Map<String, Object> m) {
      m.put("batches", batches);
      m.put("batch_size", batchSize);
      m.put("feed", mode);
      Map<String, Object> observe = new LinkedHashMap<>();
      observe.put("mode", reduced ? "reduced_in_onnxruntime" : "exposed");
      if (reduced) {
        observe.put("batches_rerun_exposed", batchesRerunExposed);
      }
      m.put("observe", observe);
      m.put("partitions", partitions);
      selection.put(m);
    }
  }

  /**
   * Which samples were read ({@link DataOptions}), and the bad records skipped per source.
   *
   * @param onBadRecord the policy, lower case
   */
  public record Selection(Long maxSamples, double sampleFraction, long seed, String onBadRecord,
      Map<String, Long> skippedRecords) {
    static Selection of(DataOptions d, Map<String, Long> skipped) {
      return new Selection(d.maxSamples(), d.fraction(), d.seed(),
          d.onBadRecord().name().toLowerCase(java.util.Locale.ROOT), skipped == null ? Map.of() : skipped);
    }

    private void put(Map<String, Object> m) {
      m.put("max_samples", maxSamples);
      m.put("sample_fraction", sampleFraction);
      m.put("seed", seed);
      m.put("on_bad_record", onBadRecord);
      m.put("skipped_records", skippedRecords);
    }
  }

  /** What the QDQ rewrite did: tensors calibrated, weights quantized, nodes skipped, notes on weights. */
  public record Quantization(int calibratedTensors, int quantizedWeights, List<String> skipped,
      List<String> weightNotes) {
    static Quantization of(int calibratedTensors, QuantizeStep.Result q) {
      return new Quantization(calibratedTensors, q.rewrite().weightParams().size(), q.rewrite().skipped(),
          q.rewrite().notes());
    }
  }

  /** The merged statistics: non-finite values per tensor and the bytes of their state. */
  public record Statistics(Map<String, Long> nonFiniteValues, long stateBytes) {}

  /** The Spark master and application a calibrate run used. */
  public record Spark(String master, String applicationId) {}

  /**
   * The FP32 fallback ({@link Fp32Fallback}).
   *
   * @param evalData the evaluation data, or null for the calibration data
   * @param steps each evaluation, the first one of the plain quantization
   * @param reason why the target was not met, or null when it was
   * @param sensitivity the ranking the nodes were left in FP32 by ({@link Sensitivity.Result#toJson}), or null
   */
  public record Fallback(Fp32Fallback.Target target, List<String> evalData, String evalLabels, List<Step> steps,
      long evalSamples, List<String> excludedNodes, String reason, Map<String, Object> sensitivity) {
    /** Whether the target was met. */
    public boolean met() {
      return reason == null;
    }

    private Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("target", target.toJson());
      m.put("eval_data", evalData == null ? "calibration data" : evalData);
      m.put("eval_labels", evalLabels);
      m.put("steps", steps.stream().map(Step::toJson).toList());
      m.put("eval_samples", evalSamples);
      m.put("excluded_nodes", excludedNodes);
      m.put("status", met() ? "met" : "not_met");
      m.put("reason", reason);
      m.put("sensitivity", sensitivity);
      return m;
    }
  }

  /**
   * One evaluation of the fallback.
   *
   * @param excludedNodes the nodes this step left in FP32 (besides the earlier steps')
   * @param tensor the ranked tensor whose nodes they are (null for step 0), and its {@code kind}
   */
  public record Step(int step, List<String> excludedNodes, String tensor, String kind, Double top1Agreement,
      Double accuracyDropPoints, Double outputSqnrDb, boolean met) {
    private Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("step", step);
      m.put("excluded_nodes", excludedNodes);
      m.put("tensor", tensor);
      m.put("kind", kind);
      m.put("top1_agreement", top1Agreement);
      m.put("accuracy_drop_points", accuracyDropPoints);
      m.put("output_sqnr_db", outputSqnrDb);
      m.put("met", met);
      return m;
    }
  }

  /**
   * The wall times.
   *
   * @param observeSamplesPerSecond samples over the observe stage's seconds (calibrate; null when it took none)
   * @param stageSeconds each stage's seconds, in the order they ran
   * @param startupSeconds before the job: the JVM's and the Spark session's start (empty when the session
   *     was not started for this run, see {@link SparkSessions#startupSeconds})
   */
  public record Timings(double wallSeconds, Double observeSamplesPerSecond, Map<String, Double> stageSeconds,
      Map<String, Double> startupSeconds) {
    public Timings {
      stageSeconds = Collections.unmodifiableMap(new LinkedHashMap<>(stageSeconds));
      startupSeconds = Collections.unmodifiableMap(new LinkedHashMap<>(startupSeconds));
    }

    public Timings(double wallSeconds, Double observeSamplesPerSecond, Map<String, Double> stageSeconds) {
      this(wallSeconds, observeSamplesPerSecond, stageSeconds, Map.of());
    }
  }

  /** This record with its timings. */
  RunRecord timed(Timings t) {
    return new RunRecord(subject, feed, quantization, statistics, spark, versions, fallback, algorithms, t);
  }

  /** Writes {@code run.json} as {@code file}. */
  void write(Path file) {
    RunReport.write(file, toJson());
  }

  /** The fields of {@code run.json} after its format header, in the file's order. */
  Map<String, Object> toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("command", subject.command());
    m.put("model", subject.model());
    m.put("model_sha256", subject.modelSha256());
    if (subject.data() != null) {
      m.put("data", subject.data());
    } else if (subject.command().equals(QuantizeJob.MERGE)) {
      m.put("stats", subject.stats().stream().map(StatsInput::toJson).toList());
    } else {
      m.put("stats", subject.stats().get(0).path());
    }
    m.put("out", subject.out());
    m.put("method", subject.method());
    m.put("range_options", subject.ranges().toJson());
    m.put("samples", subject.samples());
    if (feed != null) {
      feed.put(m);
    }
    m.put("calibrated_tensors", quantization.calibratedTensors());
    m.put("quantized_weights", quantization.quantizedWeights());
    m.put("skipped", quantization.skipped());
    m.put("weight_notes", quantization.weightNotes());
    if (!algorithms.isEmpty()) {
      m.put("algorithms", Algorithms.toJson(algorithms));
    }
    putCluster(m);
    m.put("versions", versions);
    if (fallback != null) {
      m.put("fallback", fallback.toJson());
    }
    putTimings(m);
    return m;
  }

  private void putCluster(Map<String, Object> m) {
    if (statistics != null) {
      m.put("non_finite_values", statistics.nonFiniteValues());
      m.put("stats_state_bytes", statistics.stateBytes());
    }
    if (spark != null) {
      m.put("spark_master", spark.master());
      m.put("spark_application_id", spark.applicationId());
    }
  }

  private void putTimings(Map<String, Object> m) {
    Objects.requireNonNull(timings, "timings: the run is not timed yet");
    m.put("wall_seconds", timings.wallSeconds());
    if (feed != null) {
      m.put("observe_samples_per_second", timings.observeSamplesPerSecond());
    }
    m.put("stage_seconds", timings.stageSeconds());
    if (!timings.startupSeconds().isEmpty()) {
      m.put("startup_seconds", timings.startupSeconds());
    }
  }
}
