package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.OutputGuard;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.RunReport;
import dev.qcal.io.StatsFiles;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.prepare.ModelPreparer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code quantize}: ranges, parameters and the QDQ model from statistics saved by an earlier
 * {@code calibrate}, without running the model over the data and without Spark. For the same
 * statistics and options its {@code qparams.json} and {@code quantized.onnx} equal calibrate's.
 */
public final class QuantizeJob {
  private static final Logger LOG = LoggerFactory.getLogger(QuantizeJob.class);

  static final String COMMAND = "quantize";

  private QuantizeJob() {}

  /** @param stats a {@code stats/} directory or an output directory holding one */
  public record Options(Path model, String stats, String out, boolean overwrite, RangeOptions ranges) {
    /** What the run reads, by option: the model (and its external data), --stats and --config. */
    public List<OutputGuard.Input> inputs() {
      List<OutputGuard.Input> in = new ArrayList<>(OutputGuard.Input.model("--model", model));
      in.addAll(OutputGuard.Input.hadoop("--stats", stats));
      in.addAll(OutputGuard.Input.hadoop("--config", ranges.configFile()));
      return in;
    }
  }

  /**
   * Refuses, before anything is read, an {@code --out} that overlaps an input (with the fallback's and
   * {@code more}) or may not be replaced.
   */
  public static void checkOutput(Options o, Fp32Fallback.Request fallback, List<OutputGuard.Input> more,
      Configuration conf) {
    List<OutputGuard.Input> in = new ArrayList<>(o.inputs());
    if (fallback != null) {
      in.addAll(fallback.inputs());
    }
    in.addAll(more);
    OutputGuard.check(COMMAND, o.out(), o.overwrite(), in, conf);
  }

  public static RunReport run(Options o, Configuration conf) {
    return run(o, conf, null, null);
  }

  /**
   * Runs the step; with a {@code fallback} request, the quantized model is evaluated on {@code spark}
   * and nodes are left in FP32 until its target is met (see {@link Fp32Fallback}) before anything is
   * written.
   */
  public static RunReport run(Options o, Configuration conf, SparkSession spark, Fp32Fallback.Request fallback) {
    long t0 = System.nanoTime();
    checkOutput(o, fallback, List.of(), conf);
    RunReport report = new RunReport();
    long t = System.nanoTime();
    StatsFiles.Loaded loaded = StatsFiles.read(o.stats(), conf);
    String sha = OnnxModels.sha256(o.model());
    if (!sha.equals(loaded.manifest().modelSha256())) {
      throw new DataException(o.stats() + ": statistics were collected for the model with SHA-256 "
          + loaded.manifest().modelSha256() + ", not for " + o.model() + " (SHA-256 " + sha + ")");
    }
    report.stage("read_stats", System.nanoTime() - t);
    try (WorkDir workDir = WorkDir.create("qcal-quantize-")) {
      Path work = workDir.path();
      t = System.nanoTime();
      // the opset the options need, whatever opset the statistics were collected at: tensor names are the same
      int opset = o.ranges().preparedOpset(TensorOverrides.dtypes(o.ranges().configFile(), conf));
      ModelPreparer.Prepared prepared =
          ModelPreparer.prepare(o.model(), work, loaded.manifest().inputShapes(), opset);
      CalibrationPlan plan = CalibrationPlan.of(prepared.model(), o.ranges().plan());
      QuantizeStep.checkNames(o.model(), plan);
      Map<String, TensorOverrides.Override> overrides =
          TensorOverrides.read(o.ranges().configFile(), conf, plan.activations());
      report.stage("prepare", System.nanoTime() - t);
      t = System.nanoTime();
      QuantizeStep.Result q = QuantizeStep.run(prepared.model(), prepared.file().getParent(), plan, loaded.stats(), o.ranges(), overrides);
      report.stage("choose_ranges_and_quantize", System.nanoTime() - t);
      Fp32Fallback.Outcome fb = null;
      if (fallback != null) {
        t = System.nanoTime();
        fb = Fp32Fallback.run(spark, fallback, o.model(), prepared.model(),
            ModelInputs.of(OnnxModels.load(o.model()), o.model().toString()), null, null, o.ranges().plan(), q,
            p -> QuantizeStep.run(prepared.model(), prepared.file().getParent(), CalibrationPlan.of(prepared.model(), p),
                loaded.stats(),
                o.ranges(), overrides), work);
        q = fb.result();
        report.stage("fallback", System.nanoTime() - t);
      }
      t = System.nanoTime();
      Map<String, String> versions = CalibrateJob.versions();
      QParamsFile.Header header = new QParamsFile.Header(o.model().toString(), sha, prepared.sourceOpset(),
          prepared.opset(), o.ranges().method(), loaded.stats().samples(), versions);
      report.put("command", "quantize")
          .put("model", o.model().toString())
          .put("model_sha256", sha)
          .put("stats", o.stats())
          .put("out", AtomicOutput.qualified(o.out(), conf))
          .put("method", o.ranges().method())
          .put("range_options", QuantizeStep.rangeOptions(o.ranges()))
          .put("samples", loaded.stats().samples())
          .put("calibrated_tensors", plan.activations().size())
          .put("quantized_weights", q.rewrite().weightParams().size())
          .put("skipped", q.rewrite().skipped())
          .put("weight_notes", q.rewrite().notes())
          .put("versions", versions);
      if (fb != null) {
        report.put("fallback", fb.report());
      }
      try (AtomicOutput out = AtomicOutput.begin(o.out(), COMMAND, o.overwrite(), conf)) {
        QuantizeStep.write(out.dir(), header, q, o.ranges());
        report.stage("write", System.nanoTime() - t);
        report.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
        report.write(out.dir().resolve(RunReport.NAME));
        if (o.ranges().report()) {
          QuantizeStep.writeReport(out.dir(), loaded.stats());
        }
        out.commit();
      }
      LOG.info("Quantized {} with {} from {} in {} s", o.model(), o.ranges().method(), o.stats(),
          (System.nanoTime() - t0) / 1e9);
      return report;
    }
  }
}
