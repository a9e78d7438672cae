package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.OutputGuard;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.StatsFiles;
import dev.qcal.jobs.JobContext.Stage;
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
 *
 * <p>{@code merge} is the same step over the statistics of several finished runs, merged first ({@link SavedStats}),
 * and also writes them as {@code stats/}: the outputs of one calibrate over the union of the runs' data.
 */
public final class QuantizeJob {
  private static final Logger LOG = LoggerFactory.getLogger(QuantizeJob.class);

  static final String COMMAND = "quantize";
  /** The command that merges the statistics of several runs before choosing ranges, and writes them. */
  static final String MERGE = "merge";

  private QuantizeJob() {}

  /**
   * @param command {@value #COMMAND} (one {@code stats}) or {@value #MERGE} (one or more)
   * @param stats each a {@code stats/} directory or an output directory holding one
   */
  public record Options(String command, Path model, List<String> stats, String out, boolean overwrite,
      RangeOptions ranges) {
    public Options {
      stats = List.copyOf(stats);
      if (!(command.equals(COMMAND) && stats.size() == 1 || command.equals(MERGE) && !stats.isEmpty())) {
        throw new IllegalArgumentException(command + " of " + stats.size() + " statistics");
      }
    }

    /** quantize's options. */
    public Options(Path model, String stats, String out, boolean overwrite, RangeOptions ranges) {
      this(COMMAND, model, List.of(stats), out, overwrite, ranges);
    }

    /** merge's options. */
    public static Options merge(Path model, List<String> stats, String out, boolean overwrite, RangeOptions ranges) {
      return new Options(MERGE, model, stats, out, overwrite, ranges);
    }

    boolean merging() {
      return command.equals(MERGE);
    }

    /** What the run reads, by option: the model (and its external data), each --stats and --config. */
    public List<OutputGuard.Input> inputs() {
      List<OutputGuard.Input> in = new ArrayList<>(OutputGuard.Input.model("--model", model));
      for (String s : stats) {
        in.addAll(OutputGuard.Input.hadoop("--stats", s));
      }
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
    OutputGuard.check(o.command(), o.out(), o.overwrite(), conf, o.inputs(),
        fallback == null ? List.of() : fallback.inputs(), more);
  }

  public static RunRecord run(Options o, Configuration conf) {
    return run(o, conf, null, null);
  }

  /**
   * Runs the step; with a {@code fallback} request, the quantized model is evaluated on {@code spark}
   * and nodes are left in FP32 until its target is met (see {@link Fp32Fallback}) before anything is
   * written.
   */
  public static RunRecord run(Options o, Configuration conf, SparkSession spark, Fp32Fallback.Request fallback) {
    checkOutput(o, fallback, List.of(), conf);
    if (fallback != null && o.merging()) {
      throw new IllegalArgumentException("merge has no fallback");
    }
    String name = "qcal " + o.command();
    try (JobContext ctx = JobContext.open(conf, spark, "qcal-" + o.command() + "-")) {
      SavedStats.Read read = ctx.stage(Stage.READ_STATS, name + ": read " + String.join(", ", o.stats()),
          () -> SavedStats.read(o.command(), o.model(), o.stats(), conf));
      Preparation p = ctx.stage(Stage.PREPARE, name + ": prepare " + o.model().getFileName(),
          () -> prepare(ctx, o, read));
      QuantizeStep.Result chosen = ctx.stage(Stage.CHOOSE_RANGES, "qcal choose ranges: " + o.ranges().method()
          + ", QDQ rewrite", () -> p.quantize(p.plan()));
      Fp32Fallback.Outcome fb = fallback == null ? null : ctx.stage(Stage.FALLBACK,
          "qcal fallback: evaluate the quantized model", () -> fallback(ctx, o, p, chosen, fallback));
      RunRecord run = ctx.stage(Stage.WRITE, "qcal write: " + o.out(),
          () -> write(ctx, o, p, fb == null ? chosen : fb.result(), fb));
      LOG.info("{}: {} with {} from {} in {} s", name, o.model(), o.ranges().method(),
          o.stats().size() == 1 ? o.stats().get(0) : o.stats().size() + " statistics", ctx.wallSeconds());
      return run;
    }
  }

  /** What the prepare stage hands on: the statistics, the prepared model, its plan and the per-tensor overrides. */
  private record Preparation(SavedStats.Read read, ModelPreparer.Prepared prepared, CalibrationPlan plan,
      Map<String, TensorOverrides.Override> overrides, RangeOptions ranges) {
    StatsFiles.Loaded loaded() {
      return read.loaded();
    }

    /** Ranges and the QDQ rewrite of the nodes {@code plan} quantizes, from the saved statistics. */
    QuantizeStep.Result quantize(CalibrationPlan plan) {
      return QuantizeStep.run(prepared.model(), prepared.file().getParent(), plan, loaded().stats(), ranges,
          overrides);
    }

    String sha() {
      return loaded().manifest().modelSha256();
    }
  }

  /** The prepare stage: the model prepared at the opset the options need, planned, the overrides read. */
  private static Preparation prepare(JobContext ctx, Options o, SavedStats.Read read) {
    Configuration conf = ctx.hadoopConf();
    // the opset the options need, whatever opset the statistics were collected at: tensor names are the same
    int opset = o.ranges().preparedOpset(TensorOverrides.dtypes(o.ranges().configFile(), conf));
    ModelPreparer.Prepared prepared =
        ModelPreparer.prepare(o.model(), ctx.work(), read.loaded().manifest().inputShapes(), opset);
    CalibrationPlan plan = CalibrationPlan.of(prepared.model(), o.ranges().plan());
    QuantizeStep.checkNames(o.model(), plan);
    Map<String, TensorOverrides.Override> overrides =
        TensorOverrides.read(o.ranges().configFile(), conf, plan.activations());
    return new Preparation(read, prepared, plan, overrides, o.ranges());
  }

  /** The fallback stage: nodes left in FP32, most sensitive first, until {@code request}'s target is met. */
  private static Fp32Fallback.Outcome fallback(JobContext ctx, Options o, Preparation p, QuantizeStep.Result chosen,
      Fp32Fallback.Request request) {
    ModelProto model = p.prepared().model();
    return Fp32Fallback.run(ctx.spark(), request, new Fp32Fallback.Candidates(o.model(), model, o.ranges().plan(),
        chosen, plan -> p.quantize(CalibrationPlan.of(model, plan))), new Fp32Fallback.CalibrationData(
        ModelInputs.of(OnnxModels.load(o.model()), o.model().toString()), null, null), ctx.work());
  }

  /**
   * The write stage: every output (merge: with the merged statistics as {@code stats/}; run.json last, with the
   * timings) into {@code --out} atomically; its record.
   */
  private static RunRecord write(JobContext ctx, Options o, Preparation p, QuantizeStep.Result q,
      Fp32Fallback.Outcome fb) {
    Map<String, String> versions = CalibrateJob.versions();
    long samples = p.loaded().stats().samples();
    QParamsFile.Header header = new QParamsFile.Header(o.model().toString(), p.sha(), p.prepared().sourceOpset(),
        p.prepared().opset(), o.ranges().method(), samples, versions);
    RunRecord.Subject subject = new RunRecord.Subject(o.command(), o.model().toString(), p.sha(), null,
        p.read().inputs(), AtomicOutput.qualified(o.out(), ctx.hadoopConf()), o.ranges().method(),
        RunRecord.Ranges.of(o.ranges()), samples);
    RunRecord run = new RunRecord(subject, null, RunRecord.Quantization.of(p.plan().activations().size(), q), null,
        null, versions, fb == null ? null : fb.record(), List.of(), null);
    try (AtomicOutput out = AtomicOutput.begin(o.out(), o.command(), o.overwrite(), ctx.hadoopConf())) {
      QuantizeStep.write(out.dir(), header, q, o.ranges());
      if (o.merging()) {
        StatsFiles.Manifest m = p.loaded().manifest();
        StatsFiles.write(out.dir().resolve(StatsFiles.DIR), p.loaded().stats(), m.modelSha256(), m.preparedOpset(),
            m.inputShapes());
      }
      ctx.stageTimed();
      run = QuantizeStep.writeRunAndReport(ctx, out.dir(), run, null, o.ranges().report() ? p.loaded().stats() : null);
      out.commit();
    }
    return run;
  }
}
