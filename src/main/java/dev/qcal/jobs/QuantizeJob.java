package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.RunReport;
import dev.qcal.io.StatsFiles;
import dev.qcal.model.CalibrationPlan;
import dev.qcal.model.ModelPreparer;
import dev.qcal.model.OnnxModels;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code quantize}: ranges, parameters and the QDQ model from statistics saved by an earlier
 * {@code calibrate}, without running the model over the data and without Spark. For the same
 * statistics and options its {@code qparams.json} and {@code quantized.onnx} equal calibrate's.
 */
public final class QuantizeJob {
  private static final Logger LOG = LoggerFactory.getLogger(QuantizeJob.class);

  private QuantizeJob() {}

  /** @param stats a {@code stats/} directory or an output directory holding one */
  public record Options(Path model, String stats, String out, boolean overwrite, RangeOptions ranges) {}

  public static RunReport run(Options o, Configuration conf) {
    long t0 = System.nanoTime();
    AtomicOutput.checkTarget(o.out(), o.overwrite(), conf);
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
      ModelPreparer.Prepared prepared = ModelPreparer.prepare(o.model(), work, loaded.manifest().inputShapes());
      CalibrationPlan plan = CalibrationPlan.of(prepared.model(), o.ranges().plan());
      Map<String, TensorOverrides.Override> overrides =
          TensorOverrides.read(o.ranges().configFile(), conf, plan.activations());
      report.stage("prepare", System.nanoTime() - t);
      t = System.nanoTime();
      QuantizeStep.Result q = QuantizeStep.run(prepared.model(), prepared.file().getParent(), plan, loaded.stats(), o.ranges(), overrides);
      report.stage("choose_ranges_and_quantize", System.nanoTime() - t);
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
          .put("samples", loaded.stats().samples())
          .put("calibrated_tensors", plan.activations().size())
          .put("quantized_weights", q.rewrite().weightParams().size())
          .put("skipped", q.rewrite().skipped())
          .put("versions", versions);
      try (AtomicOutput out = AtomicOutput.begin(o.out(), o.overwrite(), conf)) {
        QuantizeStep.write(out.dir(), header, q, o.ranges());
        report.stage("write", System.nanoTime() - t);
        report.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
        report.write(out.dir().resolve(RunReport.NAME));
        out.commit();
      }
      LOG.info("Quantized {} with {} from {} in {} s", o.model(), o.ranges().method(), o.stats(),
          (System.nanoTime() - t0) / 1e9);
      return report;
    }
  }
}
