package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.calib.Calibrators;
import dev.qcal.calib.ErrorEstimate;
import dev.qcal.calib.Range;
import dev.qcal.data.DataException;
import dev.qcal.io.InterchangeFiles;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.TensorNames;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.report.ReportWriter;
import dev.qcal.report.RunDirectory;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * From merged statistics to outputs, on the driver and without Spark: choose each activation's
 * range (method, or a per-tensor override), compute its parameters, rewrite the prepared model
 * into QDQ form and write {@code qparams.json}, {@code quantized.onnx} and the interchange files.
 * Shared by {@code calibrate} (after its reduce) and {@code quantize} (from saved statistics), so
 * both give the same bytes for the same statistics and settings.
 */
final class QuantizeStep {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(QuantizeStep.class);

  private QuantizeStep() {}

  /**
   * The rewritten model, every qparams.json entry, each Q/DQ'd activation's range (chosen for the
   * calibrated ones, then those of the derived ones: their source's, or the op's fixed range), and the
   * directory the model's external data locations are relative to (null when it has none).
   */
  record Result(QdqRewriter.Result rewrite, List<QParamsFile.Entry> entries, Map<String, float[]> ranges,
      Path modelDir) {}

  /**
   * Refuses, before any data is read, a planned tensor whose name an output cannot carry
   * ({@link TensorNames#problem}): activations go to every output including calibration.cache and
   * are asked of ONNX Runtime by name ({@link TensorNames#runtimeProblem}), weights and biases go to
   * qparams.json and the report.
   */
  static void checkNames(Path model, CalibrationPlan plan) {
    for (String name : plan.activations()) {
      checkName(model, name, true);
    }
    for (String name : plan.derived().keySet()) {
      checkName(model, name, true);
    }
    for (CalibrationPlan.WeightRef w : plan.weights()) {
      checkName(model, w.initializer(), false);
      if (w.biasInitializer() != null) {
        checkName(model, w.biasInitializer(), false);
      }
    }
  }

  private static void checkName(Path model, String name, boolean activation) {
    String problem = TensorNames.problem(name, activation);
    if (problem == null && activation) {
      problem = TensorNames.runtimeProblem(name);
    }
    if (problem != null) {
      throw new ModelException(model + ": tensor '" + TensorNames.printable(name) + "' " + problem
          + "; rename it in the model");
    }
  }

  /** As below, for a prepared model without external data. */
  static Result run(ModelProto prepared, CalibrationPlan plan, StatsSet stats, RangeOptions s,
      Map<String, TensorOverrides.Override> overrides) {
    return run(prepared, null, plan, stats, s, overrides);
  }

  /** @param modelDir the directory of the prepared model file, where its external data files are */
  static Result run(ModelProto prepared, Path modelDir, CalibrationPlan plan, StatsSet stats, RangeOptions s,
      Map<String, TensorOverrides.Override> overrides) {
    return run(prepared, modelDir, plan, stats, s, overrides, Map.of());
  }

  /** As above, with weights already rounded (GPTQ) by initializer, written as given ({@link QdqRewriter.Rounded}). */
  static Result run(ModelProto prepared, Path modelDir, CalibrationPlan plan, StatsSet stats, RangeOptions s,
      Map<String, TensorOverrides.Override> overrides, Map<String, QdqRewriter.Rounded> rounded) {
    Map<String, QuantParams> params = new LinkedHashMap<>();
    Map<String, float[]> ranges = new LinkedHashMap<>();
    List<QParamsFile.Entry> entries = new ArrayList<>();
    for (QParamsFile.Entry entry : activations(List.copyOf(plan.activations()), stats, s, overrides)) {
      String name = entry.name();
      params.put(name, entry.params());
      ranges.put(name, entry.range().clone());
      entries.add(entry);
    }
    QdqRewriter.Result rewrite = QdqRewriter.rewrite(QdqRewriter.Request.of(prepared, plan, params)
        .withModelDir(modelDir).withWeights(s.weights()).withRounded(rounded));
    derived(plan, rewrite, entries, ranges);
    entries.addAll(WeightEntries.of(prepared, modelDir, rewrite.weightParams(), rewrite.weightSources()));
    return new Result(rewrite, entries, ranges, modelDir);
  }

  /**
   * The entries of {@code names}, in that order. Each tensor's range and estimate depend on its own statistics
   * alone, so they are computed in parallel (the entropy and MSE searches take tens of milliseconds per tensor);
   * the same entries in any case, and the first tensor in {@code names} that fails is the one reported.
   */
  private static List<QParamsFile.Entry> activations(List<String> names, StatsSet stats, RangeOptions s,
      Map<String, TensorOverrides.Override> overrides) {
    QParamsFile.Entry[] chosen = new QParamsFile.Entry[names.size()];
    RuntimeException[] failed = new RuntimeException[names.size()];
    IntStream.range(0, names.size()).parallel().forEach(i -> {
      String name = names.get(i);
      try {
        chosen[i] = activation(name, observed(name, stats), s, overrides.get(name));
      } catch (RuntimeException e) {
        failed[i] = e;
      }
    });
    for (RuntimeException e : failed) {
      if (e != null) {
        throw e;
      }
    }
    return List.of(chosen);
  }

  /** The statistics of activation {@code name}; refused when there are none, or no finite value. */
  private static TensorStats observed(String name, StatsSet stats) {
    if (!stats.tensors().containsKey(name)) {
      throw new DataException("tensor '" + name + "': the statistics have no entry for it (they list "
          + stats.tensors().size() + " tensors); were they collected with other --op-types or exclusions?");
    }
    TensorStats t = stats.get(name);
    if (t.count() == 0) {
      throw new DataException("tensor '" + name + "': no finite values observed in " + stats.samples()
          + " samples (" + t.nanCount() + " NaN, " + (t.posInfCount() + t.negInfCount()) + " infinite)");
    }
    return t;
  }

  /**
   * The SQNR in dB that quantizing {@code t} in the settings {@code s} is expected to give (qparams.json's
   * {@code sqnr_db} of a calibrated activation without overrides); null without a histogram or a finite value.
   */
  static Double estimatedSqnrDb(String name, TensorStats t, RangeOptions s) {
    return t == null || t.count() == 0 || t.histogram() == null ? null : activation(name, t, s, null).sqnrDb();
  }

  /**
   * The qparams.json entry of a calibrated activation: its range (fixed by {@code o}, else chosen by the
   * method {@code o} or {@code s} names), parameters and, with a histogram, the expected error.
   */
  private static QParamsFile.Entry activation(String name, TensorStats t, RangeOptions s, TensorOverrides.Override o) {
    String method = o != null && o.method() != null ? o.method() : s.method();
    double percentile = o != null && o.percentile() != null ? o.percentile() : s.percentile();
    QuantType type = o != null && o.type() != null ? o.type() : s.activationType();
    boolean symmetric = o != null && o.symmetric() != null ? o.symmetric() : s.symmetric();
    Range range;
    if (o != null && o.range() != null) {
      method = "fixed";
      range = new Range(o.range()[0], o.range()[1]);
    } else {
      try {
        range = Calibrators.of(method, percentile).range(name, t, type, symmetric);
      } catch (IllegalArgumentException e) {
        String m = e.getMessage();
        throw new DataException(m.contains("'" + name + "'") ? m : "tensor '" + name + "': " + m);
      }
    }
    QuantParams p = LinearQuant.forRange(range.min(), range.max(), type, symmetric, s.reduceRange(),
        s.powerOfTwoScales());
    ErrorEstimate est = t.histogram() == null ? null : ErrorEstimate.of(t.histogram(), p);
    return new QParamsFile.Entry(name, "activation", p, new float[] {t.min()}, new float[] {t.max()},
        t.count(), t.nanCount(), t.posInfCount(), t.negInfCount(), method,
        new float[] {range.min(), range.max()}, est == null ? null : est.expectedMse(),
        est == null ? null : est.sqnrDb());
  }

  /**
   * Adds the entries and ranges of the activations the rewrite Q/DQ'd without calibrating them: the op's
   * fixed range, or their source's (followed through chains of pass-through ops to the calibrated tensor).
   */
  private static void derived(CalibrationPlan plan, QdqRewriter.Result rewrite, List<QParamsFile.Entry> entries,
      Map<String, float[]> ranges) {
    for (Map.Entry<String, QuantParams> e : rewrite.derivedParams().entrySet()) {
      CalibrationPlan.Derived d = plan.derived().get(e.getKey());
      if (d.fixed()) {
        entries.add(QParamsFile.Entry.derived(e.getKey(), e.getValue(), "op_defined", null, new float[] {d.min(), d.max()}));
        ranges.put(e.getKey(), new float[] {d.min(), d.max()});
        continue;
      }
      String from = d.source(); // follow chains of pass-through ops to the calibrated tensor
      while (plan.derived().containsKey(from) && !plan.derived().get(from).fixed()) {
        from = plan.derived().get(from).source();
      }
      CalibrationPlan.Derived root = plan.derived().get(from);
      float[] range = root != null ? new float[] {root.min(), root.max()} : ranges.get(from);
      entries.add(QParamsFile.Entry.derived(e.getKey(), e.getValue(), "shared", from, range));
      ranges.put(e.getKey(), range);
    }
  }

  /**
   * Writes every output of the step into {@code dir}; {@code quantized.onnx} comes with
   * {@code quantized.onnx.data} when the model has external data or is over the protobuf limit.
   */
  static void write(Path dir, QParamsFile.Header header, Result r, RangeOptions s) {
    QParamsFile.write(dir.resolve(QParamsFile.NAME), header, r.entries());
    InterchangeFiles.writeTensorRtCache(dir.resolve(InterchangeFiles.TENSORRT_CACHE), s.tensorRtVersion(), r.ranges());
    InterchangeFiles.writeOrtTable(dir.resolve(InterchangeFiles.ORT_TABLE), r.ranges());
    OnnxModels.save(OnnxModels.withMetadata(r.rewrite().model(), provenance(header, s)), r.modelDir(),
        dir.resolve(CalibrateJob.QUANTIZED));
  }

  /**
   * Writes {@code report.html} into {@code dir} from the qparams.json and run.json already there and
   * the statistics the ranges were chosen from; called last, just before the output is committed.
   */
  /**
   * Writes {@code run.json} into {@code dir} with the timings so far and then, when {@code reportStats} is
   * given, {@code report.html} from the run's files and those statistics. The report renders run.json, so its
   * own time is not in it (a later {@code qcal report} of the output gives the same bytes); it is logged.
   *
   * @param samples the samples observed (calibrate), null for a run that observed none
   */
  static RunRecord writeRunAndReport(JobContext ctx, Path dir, RunRecord run, Long samples, StatsSet reportStats) {
    RunRecord timed = run.timed(ctx.timings(samples));
    timed.write(dir.resolve(dev.qcal.io.RunReport.NAME));
    if (reportStats != null) {
      writeReport(dir, reportStats);
    }
    return timed;
  }

  static void writeReport(Path dir, StatsSet stats) {
    long t = System.nanoTime();
    Path file = dir.resolve(ReportWriter.NAME);
    ReportWriter.write(file, RunDirectory.ofLocalRun(dir, stats));
    LOG.info("Wrote {} ({} bytes) in {} s", ReportWriter.NAME, file.toFile().length(), (System.nanoTime() - t) / 1e9);
  }

  /** What the quantized model records about how it was made (its {@code metadata_props}). */
  static Map<String, String> provenance(QParamsFile.Header header, RangeOptions s) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("qcal.version", QcalVersion.get());
    m.put("qcal.method", header.method());
    m.put("qcal.model_sha256", header.modelSha256());
    m.put("qcal.samples", Long.toString(header.samples()));
    m.put("qcal.op_types", String.join(",", s.plan().quantizedOpTypes()));
    m.put("qcal.activation_type", s.activationType().id());
    m.put("qcal.weight_type", s.weightType().id());
    m.put("qcal.per_channel", Boolean.toString(s.weights().perChannel()));
    m.put("qcal.weight_block_size", Integer.toString(s.weights().blockSize()));
    if (!header.algorithms().isEmpty()) {
      m.put("qcal.algorithms", String.join(",", header.algorithms().keySet()));
    }
    return m;
  }
}
