package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.data.DataException;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.model.onnx.NodeAttributes;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.CalibrationPlan.WeightRef;
import dev.qcal.model.plan.QdqGraph;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.quant.Gptq;
import dev.qcal.quant.LayerError;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.WeightSpec;
import dev.qcal.stats.HessianSum;
import dev.qcal.stats.StatsMemory;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --weight-algorithm gptq}: the MatMul/Gemm weights the plan quantizes rounded by {@link Gptq} on
 * their layer input's Hessian, gathered in one distributed pass after the observe pass
 * ({@link HessianPass}). A weight qualifies when it is the 2-D FLOAT initializer B of a MatMul or Gemm
 * (transA = 0; transB = 1 is rounded as its transpose [K, N]) read by no other planned node, and its input A
 * is a calibrated activation; layers sharing an input share one Hessian. The others (Conv, shared weights,
 * ...) stay rounded to nearest. The integers and params go to the rewrite ({@link QdqRewriter.Rounded}) in
 * the scheme it resolves for MatMul/Gemm weights: the requested type, per tensor, per channel or in blocks
 * along K.
 */
final class GptqStage {

  private GptqStage() {}

  /** One weight to round: its plan entry, whether it is stored [N, K] (Gemm transB = 1), and K and N. */
  record Target(WeightRef ref, boolean transposed, int k, int n) {}

  /**
   * One rounded weight's output SQNR on the calibration data (from its input's Hessian, see {@link LayerError}),
   * rounded to nearest and by GPTQ; null when infinite.
   */
  record Layer(String weight, String node, int k, int n, Double rtnSqnrDb, Double gptqSqnrDb) {
    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("weight", weight);
      m.put("node", node);
      m.put("k", k);
      m.put("n", n);
      m.put("output_sqnr_db_rtn", rtnSqnrDb);
      m.put("output_sqnr_db_gptq", gptqSqnrDb);
      return m;
    }
  }

  /** What the stage did: the rounded weights for the rewrite, and the record for run.json and qparams.json. */
  record Outcome(Map<String, QdqRewriter.Rounded> rounded, Applied applied) {
    static final Outcome NONE = new Outcome(Map.of(), null);

    /** The record as the list {@code run.json} takes (empty when GPTQ did not run). */
    List<Algorithms.Applied> list() {
      return applied == null ? List.of() : List.of(applied);
    }
  }

  /**
   * What {@code run.json} and {@code qparams.json} record under {@code gptq}: the weights rounded, the
   * damping and lazy batch, each Hessian input with its K, rows and fixed-point bound and exponent, and the
   * planned MatMul/Gemm weights left to rounding to nearest with the reason.
   */
  record Applied(List<String> weights, double damp, int lazyBatch, Map<String, HessianSum> hessians,
      List<String> rtn, List<Layer> layers) implements Algorithms.Applied {
    @Override
    public String name() {
      return Algorithms.GPTQ;
    }

    @Override
    public Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("weights", weights);
      m.put("damp", damp);
      m.put("lazy_batch", lazyBatch);
      Map<String, Object> inputs = new LinkedHashMap<>();
      hessians.forEach((name, h) -> {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("k", h.width());
        e.put("rows", h.rows());
        e.put("bound_exponent", h.boundExponent());
        e.put("fixed_point_exponent", h.exponent());
        e.put("max_entry_error", h.errorBound());
        inputs.put(name, e);
      });
      m.put("hessian_inputs", inputs);
      m.put("left_rtn", rtn);
      m.put("layers", layers.stream().map(Layer::toJson).toList());
      return m;
    }
  }

  /**
   * Refuses, before anything is read, what the pass cannot do: leave padded positions out of the Hessians
   * ({@code --pad} or {@code --mask} without {@code --pad-stats include}).
   */
  static void checkOptions(CalibrateOptions o) {
    DataOptions d = o.dataOptions();
    if (o.algorithms().gptq() && (!d.pads().isEmpty() || d.mask() != null) && !d.padStatsInclude()) {
      throw new DataException("--weight-algorithm gptq cannot leave padded positions out of the Hessians yet;"
          + " give --pad-stats include (padded positions then count), or --weight-algorithm rtn");
    }
  }

  /** The HESSIAN stage: select the weights, run the pass, round them on the driver. */
  static Outcome run(JobContext ctx, CalibrateOptions o, CalibrateJob.Preparation p, StatsSet stats) {
    ModelProto model = p.prepared().model();
    List<String> rtn = new ArrayList<>();
    List<Target> targets = select(model, p.plan(), stats, rtn);
    if (targets.isEmpty()) {
      return new Outcome(Map.of(), new Applied(List.of(), Gptq.DEFAULT_DAMP, Gptq.DEFAULT_LAZY_BATCH, Map.of(), rtn,
          List.of()));
    }
    Map<String, HessianPass.Input> inputs = inputs(targets, stats);
    checkMemory(ctx, inputs);
    CalibrateJob.Feeding in = p.input();
    HessianPass pass = new HessianPass(p.observing().exposing(), in.inputNames(), inputs, in.batchSize(),
        in.fixedBatch() > 0, ctx.taskCpus(), in.padding());
    Map<String, HessianSum> hessians = pass.run(in.samples()).sums();
    List<Layer> layers = new ArrayList<>();
    Map<String, QdqRewriter.Rounded> rounded = round(model, p.prepared().file().getParent(), targets, hessians,
        o.ranges().weights(), layers);
    return new Outcome(rounded, new Applied(List.copyOf(rounded.keySet()), Gptq.DEFAULT_DAMP,
        Gptq.DEFAULT_LAZY_BATCH, hessians, rtn, layers));
  }

  /** The planned weights GPTQ rounds, in plan order; {@code rtn} gets the other MatMul/Gemm weights and why. */
  static List<Target> select(ModelProto model, CalibrationPlan plan, StatsSet stats, List<String> rtn) {
    Map<String, Integer> readers = new HashMap<>();
    plan.weights().forEach(w -> readers.merge(w.initializer(), 1, Integer::sum));
    QdqGraph g = new QdqGraph(model.getGraph());
    Map<String, TensorProto> inits = new HashMap<>();
    model.getGraph().getInitializerList().forEach(t -> inits.put(t.getName(), t));
    List<Target> out = new ArrayList<>();
    for (WeightRef w : plan.weights()) {
      NodeProto node = g.node(w.node());
      if (node == null || !(node.getOpType().equals("MatMul") || node.getOpType().equals("Gemm"))) {
        continue;
      }
      String why = reason(node, w, inits.get(w.initializer()), readers, stats);
      if (why != null) {
        rtn.add("'" + w.initializer() + "' of " + node.getOpType() + " '" + w.node() + "': " + why);
        continue;
      }
      boolean transposed = node.getOpType().equals("Gemm") && NodeAttributes.intOr(node, "transB", 0) != 0;
      TensorProto t = inits.get(w.initializer());
      int k = (int) t.getDims(transposed ? 1 : 0);
      int n = (int) t.getDims(transposed ? 0 : 1);
      out.add(new Target(w, transposed, k, n));
    }
    return out;
  }

  /** Why weight {@code w} of {@code node} stays rounded to nearest, or null when GPTQ rounds it. */
  private static String reason(NodeProto node, WeightRef w, TensorProto t, Map<String, Integer> readers,
      StatsSet stats) {
    if (node.getInputCount() < 2 || !node.getInput(1).equals(w.initializer()) || w.activationInput() == null
        || !node.getInput(0).equals(w.activationInput())) {
      return "not the weight B of an activation A";
    }
    if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE || t.getDimsCount() != 2) {
      return "not a 2-D FLOAT initializer";
    }
    if (node.getOpType().equals("Gemm") && NodeAttributes.intOr(node, "transA", 0) != 0) {
      return "Gemm with transA = 1";
    }
    if (readers.get(w.initializer()) > 1) {
      return "read by several quantized nodes";
    }
    TensorStats s = stats.tensors().get(w.activationInput());
    if (s == null || s.count() == 0) {
      return "its input '" + w.activationInput() + "' has no observed values";
    }
    return null;
  }

  /** Each distinct input of {@code targets} with its K and observed max |x|. */
  private static Map<String, HessianPass.Input> inputs(List<Target> targets, StatsSet stats) {
    Map<String, HessianPass.Input> m = new LinkedHashMap<>();
    for (Target t : targets) {
      String a = t.ref().activationInput();
      TensorStats s = stats.get(a);
      HessianPass.Input in = new HessianPass.Input(t.k(), Math.max(Math.abs((double) s.min()), Math.abs((double) s.max())));
      HessianPass.Input before = m.putIfAbsent(a, in);
      if (before != null && before.k() != t.k()) {
        throw new DataException("tensor '" + a + "' feeds weights of " + before.k() + " and " + t.k()
            + " inputs (weight '" + t.ref().initializer() + "')");
      }
    }
    return m;
  }

  /** Refuses Hessians that the task slots and merges cannot hold (16 bytes per upper-triangle entry). */
  private static void checkMemory(JobContext ctx, Map<String, HessianPass.Input> inputs) {
    long state = 0;
    for (HessianPass.Input in : inputs.values()) {
      state += HessianSum.stateBytes(in.k());
    }
    var sc = ctx.spark().sparkContext();
    for (StatsMemory.Holder h : StatsPreflight.holders(sc.master(), sc.getConf(), Runtime.getRuntime().maxMemory(),
        Runtime.getRuntime().availableProcessors())) {
      long usable = h.heapBytes() - StatsMemory.SPARK_RESERVED;
      if ((double) state * h.copies() > usable) {
        throw new DataException(String.format(java.util.Locale.ROOT, "--weight-algorithm gptq: the Hessians of %d"
            + " layer inputs take %,d MiB per copy; the %s holds %d copies at once, more than its usable heap of %,d"
            + " MiB: give it more memory, or --weight-algorithm rtn", inputs.size(), state >> 20, h.name(), h.copies(),
            Math.max(0, usable) >> 20));
      }
    }
  }

  /**
   * Each target rounded by GPTQ on its input's Hessian, in the layout and scheme of its initializer; {@code layers}
   * gets each one's output SQNR rounded to nearest and by GPTQ.
   */
  static Map<String, QdqRewriter.Rounded> round(ModelProto model, Path modelDir, List<Target> targets,
      Map<String, HessianSum> hessians, WeightSpec spec, List<Layer> layers) {
    Map<String, TensorProto> inits = new HashMap<>();
    model.getGraph().getInitializerList().forEach(t -> inits.put(t.getName(), t));
    Map<String, double[][]> matrices = new HashMap<>();
    Map<String, QdqRewriter.Rounded> out = new LinkedHashMap<>();
    for (Target t : targets) {
      String a = t.ref().activationInput();
      double[][] h = matrices.computeIfAbsent(a, x -> hessians.get(x).matrix());
      float[] w = Initializers.floats(inits.get(t.ref().initializer()), modelDir);
      float[] kn = t.transposed() ? transpose(w, t.n(), t.k()) : w;
      Gptq.Result r;
      try {
        r = Gptq.quantize(kn, new long[] {t.k(), t.n()}, h, spec);
      } catch (IllegalArgumentException e) {
        throw new DataException("weight '" + t.ref().initializer() + "' of node '" + t.ref().node() + "' (input '"
            + a + "'): GPTQ failed: " + e.getMessage());
      }
      out.put(t.ref().initializer(), t.transposed() ? transposed(r, t) : new QdqRewriter.Rounded(r.codes(),
          r.params()));
      layers.add(layer(t, kn, h, spec, r));
    }
    return out;
  }

  /** The output SQNR of {@code t} ({@code kn}: its weight as [K, N]) rounded to nearest and by GPTQ ({@code r}). */
  private static Layer layer(Target t, float[] kn, double[][] h, WeightSpec spec, Gptq.Result r) {
    long[] shape = {t.k(), t.n()};
    Gptq.Result rtn = LayerError.roundToNearest(kn, shape, spec);
    return new Layer(t.ref().initializer(), t.ref().node(), t.k(), t.n(),
        finite(LayerError.outputSqnrDb(kn, shape, rtn.codes(), rtn.params(), h)),
        finite(LayerError.outputSqnrDb(kn, shape, r.codes(), r.params(), h)));
  }

  private static Double finite(double db) {
    return Double.isFinite(db) ? db : null;
  }

  /** A [K, N] result as the [N, K] initializer holds it: codes transposed, channels on axis 0, blocks on axis 1. */
  private static QdqRewriter.Rounded transposed(Gptq.Result r, Target t) {
    long[] codes = new long[r.codes().length];
    for (int i = 0; i < t.k(); i++) {
      for (int j = 0; j < t.n(); j++) {
        codes[j * t.k() + i] = r.codes()[i * t.n() + j];
      }
    }
    QuantParams p = r.params();
    if (p.axis() == null) {
      return new QdqRewriter.Rounded(codes, p);
    }
    if (!p.blocked()) {
      return new QdqRewriter.Rounded(codes, new QuantParams(p.scale(), p.zeroPoint(), p.type(), 0));
    }
    int blocks = p.channels() / t.n();
    float[] s = new float[p.channels()];
    long[] z = new long[p.channels()];
    for (int b = 0; b < blocks; b++) {
      for (int j = 0; j < t.n(); j++) {
        s[j * blocks + b] = p.scale(b * t.n() + j);
        z[j * blocks + b] = p.zeroPoint(b * t.n() + j);
      }
    }
    return new QdqRewriter.Rounded(codes, new QuantParams(s, z, p.type(), 1, p.blockSize()));
  }

  /** The transpose of a row-major [rows, cols] matrix. */
  private static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }
}
