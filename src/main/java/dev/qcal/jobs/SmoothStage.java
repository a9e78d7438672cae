package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.DataException;
import dev.qcal.jobs.CalibrateJob.Feeding;
import dev.qcal.jobs.CalibrateJob.Preparation;
import dev.qcal.jobs.JobContext.Stage;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.prepare.GraphAugmenter;
import dev.qcal.model.prepare.ModelPreparer;
import dev.qcal.model.smooth.SmoothQuant;
import dev.qcal.runtime.SessionCache;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * calibrate's SMOOTH stage ({@code --smooth-quant}): one distributed pass collecting, per channel of its last
 * axis, the exact min and max of each activation feeding a quantized MatMul/Gemm with a FLOAT weight initializer
 * (merged by the observe pass's tree aggregation, padded positions left out as there), {@link SmoothQuant} on the
 * prepared model with {@code max|x_j| = max(|min_j|, |max_j|)}, and the smoothed model (saved in the work
 * directory) re-planned, rehearsed and re-shipped for the observe pass.
 *
 * <p>Only nodes the plan quantizes are smoothed (a node left out by {@code --exclude-nodes} or {@code --op-types}
 * keeps its weight). {@code --config} and {@code --channel-axis} may not name an activation that would be
 * smoothed: smoothing renames it (a Mul) or divides it (a LayerNormalization), so the setting would no longer
 * mean what it said.
 */
final class SmoothStage {
  private static final Logger LOG = LoggerFactory.getLogger(SmoothStage.class);
  /** The smoothed model's file in the work directory, next to the prepared model. */
  static final String SMOOTHED_FILE = "smoothed.onnx";
  /** Its key in run.json and qparams.json, and the model transform stats.json names. */
  static final String NAME = "smooth_quant";

  private SmoothStage() {}

  /** What SmoothQuant did, as {@code run.json} and {@code qparams.json} record it under {@code smooth_quant}. */
  record Applied(double alpha, List<SmoothQuant.Smoothed> smoothed, List<SmoothQuant.Skipped> skipped,
      Map<String, Double> before, Map<String, String> smoothedTensor, Map<String, Double> after)
      implements Algorithms.Applied {

    /**
     * This record with each smoothed activation's tensor in {@code model} (a Mul's output, or the activation
     * itself when divided in its LayerNormalization) and the SQNR its quantization is expected to give, from the
     * observe pass's {@code stats} in the settings {@code ranges}.
     */
    Applied withAfter(ModelProto model, StatsSet stats, RangeOptions ranges) {
      Map<String, String> input = new HashMap<>();
      model.getGraph().getNodeList().forEach(n -> input.put(n.getName(), n.getInputCount() > 0 ? n.getInput(0) : null));
      Map<String, String> tensor = new LinkedHashMap<>();
      Map<String, Double> db = new LinkedHashMap<>();
      for (SmoothQuant.Smoothed s : smoothed) {
        String t = input.get(s.nodes().get(0));
        tensor.put(s.activation(), t);
        db.put(s.activation(), QuantizeStep.estimatedSqnrDb(t, stats.tensors().get(t), ranges));
      }
      return new Applied(alpha, smoothed, skipped, before, tensor, db);
    }
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("alpha", alpha);
      List<Map<String, Object>> groups = new ArrayList<>();
      for (SmoothQuant.Smoothed s : smoothed) {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("activation", s.activation());
        g.put("nodes", s.nodes());
        g.put("divided_in", s.foldedIntoLayerNorm() ? "LayerNormalization" : "Mul");
        g.put("smoothed_tensor", smoothedTensor.get(s.activation()));
        g.put("activation_sqnr_db_before", before.get(s.activation()));
        g.put("activation_sqnr_db_after", after.get(s.activation()));
        g.put("scales", s.scales());
        groups.add(g);
      }
      m.put("smoothed", groups);
      List<Map<String, Object>> left = new ArrayList<>();
      for (SmoothQuant.Skipped s : skipped) {
        left.add(new LinkedHashMap<>(Map.of("activation", s.activation(), "nodes", s.nodes(), "reason", s.reason())));
      }
      m.put("skipped", left);
      return m;
    }
  }

  /** The preparation the rest of the run works on, and what was smoothed. */
  record Outcome(Preparation preparation, Applied applied) {}

  /** Runs the stage on {@code p} (timed under {@link Stage#SMOOTH}). */
  static Outcome run(JobContext ctx, CalibrateOptions o, Preparation p) {
    double alpha = o.algorithms().smoothAlpha();
    Candidates c = candidates(p.prepared().model(), p.plan());
    checkSettings(o, p.overrides().keySet(), c);
    return ctx.stage(Stage.SMOOTH, "qcal smooth quant: per-channel max|x| of " + c.activations().size()
        + " MatMul/Gemm activations, alpha " + alpha, () -> {
          List<String> tensors = List.copyOf(c.activations());
          StatsSet observed = tensors.isEmpty() ? null : observe(ctx, o, p, tensors);
          SmoothQuant.Result r = SmoothQuant.smooth(p.prepared().model(), maxAbs(observed, c), alpha);
          Map<String, Double> before = new LinkedHashMap<>();
          for (SmoothQuant.Smoothed s : r.smoothed()) {
            before.put(s.activation(), QuantizeStep.estimatedSqnrDb(s.activation(),
                observed.tensors().get(s.activation()), o.ranges()));
          }
          LOG.info("SmoothQuant (alpha {}): {} activations smoothed, {} skipped", alpha, r.smoothed().size(),
              r.skipped().size() + c.skipped().size());
          List<SmoothQuant.Skipped> skipped = new ArrayList<>(c.skipped());
          skipped.addAll(r.skipped());
          return new Outcome(reprepare(ctx, o, p, r.model()), new Applied(alpha, r.smoothed(), skipped, before,
              Map.of(), Map.of()));
        });
  }

  /**
   * The nodes to smooth (by name, with their activation) and those left as they are: MatMul/Gemm nodes whose
   * input B is a FLOAT initializer; those the plan does not quantize, or whose name is not unique, are skipped.
   */
  record Candidates(Map<String, String> activationOf, List<SmoothQuant.Skipped> skipped) {
    Set<String> activations() {
      return new LinkedHashSet<>(activationOf.values());
    }
  }

  static Candidates candidates(ModelProto model, CalibrationPlan plan) {
    Map<String, CalibrationPlan.NodeDecision> decisions = new HashMap<>();
    plan.nodes().forEach(d -> decisions.put(d.node(), d));
    Set<String> floatWeights = new HashSet<>();
    for (TensorProto t : model.getGraph().getInitializerList()) {
      if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE) {
        floatWeights.add(t.getName());
      }
    }
    Map<String, Long> named = new HashMap<>();
    model.getGraph().getNodeList().forEach(n -> named.merge(n.getName(), 1L, Long::sum));
    Map<String, String> activationOf = new LinkedHashMap<>();
    List<SmoothQuant.Skipped> skipped = new ArrayList<>();
    for (NodeProto n : model.getGraph().getNodeList()) {
      boolean linear = OnnxModels.isDefaultDomain(n.getDomain())
          && (n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm"));
      if (!linear || n.getInputCount() < 2 || !floatWeights.contains(n.getInput(1))) {
        continue;
      }
      CalibrationPlan.NodeDecision d = decisions.get(n.getName());
      String why = n.getName().isEmpty() || named.get(n.getName()) > 1 ? "node name is empty or not unique"
          : d == null || !d.quantized() ? "not quantized" + (d == null ? "" : " (" + d.reason() + ")") : null;
      if (why != null) {
        skipped.add(new SmoothQuant.Skipped(n.getInput(0), List.of(n.getName()), why));
      } else {
        activationOf.put(n.getName(), n.getInput(0));
      }
    }
    return new Candidates(activationOf, skipped);
  }

  /**
   * Refuses, before any data is read, a {@code --config} entry or {@code --channel-axis} naming an activation
   * that may be smoothed.
   */
  private static void checkSettings(CalibrateOptions o, Set<String> configured, Candidates c) {
    for (String a : c.activations()) {
      String option = configured.contains(a) ? "--config" : o.statsConfig().axes().containsKey(a)
          ? "--channel-axis" : null;
      if (option != null) {
        List<String> nodes = c.activationOf().entrySet().stream().filter(e -> e.getValue().equals(a))
            .map(Map.Entry::getKey).toList();
        throw new DataException(option + " names tensor '" + a + "', the input of " + String.join(", ", nodes)
            + ", which --smooth-quant rescales; leave it out of " + option + " or those nodes out (--exclude-nodes)");
      }
    }
  }

  /** Per candidate node, max|x| of its input per channel of the input's last axis, from {@code stats} (or null). */
  private static Map<String, float[]> maxAbs(StatsSet stats, Candidates c) {
    Map<String, float[]> perTensor = new HashMap<>();
    if (stats != null) {
      for (String t : c.activations()) {
        perTensor.put(t, maxAbs(stats.get(t)));
      }
    }
    Map<String, float[]> out = new LinkedHashMap<>();
    c.activationOf().forEach((node, a) -> out.put(node, perTensor.get(a)));
    return out;
  }

  /** max(|min_j|, |max_j|) per channel; 0 for a channel with no finite value (its scale is then 1). */
  static float[] maxAbs(TensorStats s) {
    float[] m = new float[s.channels()];
    for (int j = 0; j < m.length; j++) {
      float v = Math.max(Math.abs(s.channelMin(j)), Math.abs(s.channelMax(j)));
      m[j] = Float.isFinite(v) ? v : 0f;
    }
    return m;
  }

  /**
   * The observe pass over {@code tensors} of the prepared model: per channel of the last axis, and per tensor
   * the histogram calibrate keeps (for the SQNR expected before smoothing).
   */
  private static StatsSet observe(JobContext ctx, CalibrateOptions o, Preparation p, List<String> tensors) {
    ModelPreparer.Prepared prepared = p.prepared();
    Feeding in = p.input();
    // the ranks, from the first sample through the graph exposing the activations (the session is cached)
    ShippedFiles.Shipped probe = ShippedFiles.shipModel(ctx.jsc(),
        GraphAugmenter.exposeOutputs(prepared.model(), tensors), prepared.file().getParent(), ctx.work(),
        "qcal-augmented");
    OrtSession session = SessionCache.get(probe.sha256(), ctx.work().resolve(probe.fileName()), ctx.taskCpus());
    Map<String, long[]> shapes = in.shapes(session, tensors, in.first(), o.model().toString());
    StatsConfig config = new StatsConfig(o.statsConfig().histogramBins(), 0, Map.of());
    for (String t : tensors) {
      config = config.withAxis(t, shapes.get(t).length - 1);
    }
    PaddedAxes traced = CalibrateJob.traceAxes(o, in.padding(), prepared.model(), tensors);
    CalibrateJob.Observing graphs = CalibrateJob.ship(ctx, o, config, prepared, tensors, in, traced);
    CalibrateJob.ObservePass pass = new CalibrateJob.ObservePass(graphs.exposing(), graphs.reduced(),
        in.inputNames(), tensors, in.batchSize(), in.fixedBatch() > 0, ctx.taskCpus(),
        ctx.faults().failFirstAttemptOf(), config, in.padding(), graphs.valid());
    return CalibrateJob.observe(in.samples(), pass).stats();
  }

  /**
   * {@code p} with {@code smoothed} in place of its model, saved in the work directory: re-planned (a Mul
   * renames its consumers' inputs), its {@code --config} re-read, rehearsed, and re-shipped.
   */
  private static Preparation reprepare(JobContext ctx, CalibrateOptions o, Preparation p, ModelProto smoothed) {
    ModelPreparer.Prepared before = p.prepared();
    Path file = before.file().resolveSibling(SMOOTHED_FILE);
    OnnxModels.save(smoothed, file);
    CalibrationPlan plan = CalibrationPlan.of(smoothed, o.ranges().plan());
    List<String> tensors = List.copyOf(plan.activations());
    StatsPreflight.checkAxisNames(o.statsConfig(), tensors);
    Map<String, TensorOverrides.Override> overrides =
        TensorOverrides.read(o.ranges().configFile(), ctx.hadoopConf(), tensors);
    Rehearsal.run(smoothed, file.getParent(), plan, o.ranges(), o.statsConfig(), overrides, o.model().toString());
    ModelPreparer.Prepared prepared = new ModelPreparer.Prepared(smoothed, file, before.sourceOpset(),
        before.opset(), before.foldedConstants(), before.foldedBatchNorms(), before.maxAbsDiff(),
        before.sourceIrVersion(), before.irVersion());
    PaddedAxes traced = CalibrateJob.traceAxes(o, p.input().padding(), smoothed, tensors);
    CalibrateJob.Observing observing = CalibrateJob.ship(ctx, o, o.statsConfig(), prepared, tensors, p.input(),
        traced);
    return new Preparation(p.sha(), prepared, plan, tensors, overrides, p.verifyShapes(), p.input(), observing);
  }
}
