package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher;
import dev.qcal.data.Sample;
import dev.qcal.jobs.JobContext.Stage;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.PlanOptions;
import dev.qcal.model.prepare.GraphAugmenter;
import dev.qcal.model.qdq.BiasCorrectionGraph;
import dev.qcal.model.qdq.BiasCorrectionGraph.Layer;
import dev.qcal.model.qdq.BiasFolder;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.runtime.SessionCache;
import dev.qcal.stats.ChannelMeans;
import dev.qcal.stats.StatsSet;
import java.io.Serializable;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaRDD;

/**
 * Bias correction ({@code --bias-correction}), after the ranges are chosen: one distributed pass runs the
 * side-by-side graph ({@link BiasCorrectionGraph}: each quantized Conv/Gemm/MatMul next to its clone with Q/DQ'd
 * input and dequantized weight), adds per output channel the errors {@code y' - y} exactly
 * ({@link ChannelMeans}, merged by tree aggregation, so the means do not depend on partitions or batches), and
 * {@code -mean} is folded into each node's bias ({@link BiasFolder}); the ranges are then chosen again on the
 * corrected model, so its int32 biases hold the corrections. Choosing for another plan (the FP32 fallback)
 * corrects only the nodes that plan quantizes.
 */
final class BiasCorrection {
  static final String NAME = "bias_correction";

  private BiasCorrection() {}

  /**
   * What the pass measured (the correction of each node, by id; the nodes skipped with reasons) and the
   * ranges chosen on the corrected model ({@code result}); {@code choose} chooses for another plan.
   */
  record Outcome(Map<String, double[]> deltas, Map<String, double[]> sqnr, Map<String, String> skipped, long samples,
      QuantizeStep.Result result, Chooser chooser) {

    /** Ranges and rewrite of the model corrected on the nodes {@code options}' plan quantizes. */
    QuantizeStep.Result choose(PlanOptions options) {
      return chooser.choose(deltas, options);
    }

    /** What run.json and qparams.json record. */
    Applied applied() {
      List<Map<String, Object>> layers = new ArrayList<>();
      for (Map.Entry<String, double[]> e : deltas.entrySet()) {
        Map<String, Object> l = new LinkedHashMap<>();
        l.put("node", e.getKey());
        l.put("max_abs_delta", maxAbs(e.getValue()));
        double[] db = sqnr.get(e.getKey());
        l.put("output_sqnr_db_before", finite(db[0]));
        l.put("output_sqnr_db_after", finite(db[1]));
        layers.add(l);
      }
      return new Applied(layers, skipped, samples);
    }
  }

  /**
   * Bias correction as {@code run.json} and {@code qparams.json} record it: per corrected node the largest
   * |delta| and its output SQNR on the calibration data (FP32 inputs, as measured) before and after the correction.
   */
  record Applied(List<Map<String, Object>> layers, Map<String, String> skipped, long samples)
      implements Algorithms.Applied {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("layers_corrected", layers.size());
      m.put("max_abs_delta", layers.stream().mapToDouble(l -> (Double) l.get("max_abs_delta")).max().orElse(0));
      m.put("samples", samples);
      m.put("layers", layers);
      m.put("skipped", skipped);
      return m;
    }
  }

  /**
   * Folds corrections into the prepared model for a plan and chooses the ranges on it; {@code rounded}: the
   * weights GPTQ rounded (empty without it), written as they are.
   */
  record Chooser(ModelProto prepared, Path modelDir, StatsSet stats, RangeOptions ranges,
      Map<String, TensorOverrides.Override> overrides, Map<String, QdqRewriter.Rounded> rounded) {
    QuantizeStep.Result choose(Map<String, double[]> deltas, PlanOptions options) {
      CalibrationPlan plan = CalibrationPlan.of(prepared, options);
      Map<String, double[]> quantized = new LinkedHashMap<>();
      for (CalibrationPlan.WeightRef w : plan.weights()) {
        if (deltas.containsKey(w.node())) {
          quantized.put(w.node(), deltas.get(w.node()));
        }
      }
      BiasFolder.Folded folded = BiasFolder.fold(prepared, modelDir, quantized);
      List<String> exclude = new ArrayList<>(options.excludeNodes());
      exclude.addAll(folded.insertedNodes()); // new Adds stay FP32: their inputs have no statistics
      PlanOptions replan = new PlanOptions(options.opTypes(), exclude, options.excludeOpTypes(),
          options.excludeDepthwise());
      // a MatMul output renamed for its new Add was observed under its old name
      StatsSet observed = folded.renamed().isEmpty() ? stats : stats.withAliases(folded.renamed());
      return QuantizeStep.run(folded.model(), modelDir, CalibrationPlan.of(folded.model(), replan), observed,
          ranges, overrides, rounded);
    }
  }

  /**
   * The bias correction stage: measure on {@code chosen}, fold, choose again ({@code rounded}: GPTQ's weights, kept).
   */
  static Outcome run(JobContext ctx, CalibrateOptions o, CalibrateJob.Preparation p, StatsSet stats,
      QuantizeStep.Result chosen, Map<String, QdqRewriter.Rounded> rounded) {
    ModelProto prepared = p.prepared().model();
    BiasCorrectionGraph.Built built = BiasCorrectionGraph.build(prepared, p.plan(), chosen.rewrite().model());
    return ctx.stage(Stage.BIAS_CORRECTION, "qcal bias correction: " + built.layers().size()
        + " layers side by side, exact per-channel mean errors", () -> {
          Map<String, String> skipped = new LinkedHashMap<>(built.skipped());
          Map<String, double[]> sqnr = new LinkedHashMap<>();
          Map<String, double[]> deltas = built.layers().isEmpty() ? Map.of()
              : measure(ctx, o, p, built, skipped, sqnr);
          Chooser chooser = new Chooser(prepared, p.prepared().file().getParent(), stats, o.ranges(), p.overrides(),
              rounded);
          return new Outcome(deltas, sqnr, skipped, stats.samples(), chooser.choose(deltas, o.ranges().plan()),
              chooser);
        });
  }

  /**
   * Ships the side-by-side graph, runs the pass; per measured node {@code -mean}, skips added to {@code skipped},
   * the output SQNR before and after the correction to {@code sqnr}.
   */
  private static Map<String, double[]> measure(JobContext ctx, CalibrateOptions o, CalibrateJob.Preparation p,
      BiasCorrectionGraph.Built built, Map<String, String> skipped, Map<String, double[]> sqnr) {
    ModelProto exposed = GraphAugmenter.exposeOutputs(built.model(), built.outputs());
    ShippedFiles.Shipped shipped = ShippedFiles.shipModel(ctx.jsc(), exposed, p.prepared().file().getParent(),
        ctx.work(), "qcal-bias");
    OrtSession session = SessionCache.get(shipped.sha256(), ctx.work().resolve(shipped.fileName()), ctx.taskCpus());
    CalibrateJob.Feeding in = p.input();
    Map<String, long[]> shapes = in.shapes(session, built.outputs(), in.first(), o.model().toString());
    List<ChannelMeans> zero = new ArrayList<>();
    for (Layer l : built.layers()) {
      long[] s = shapes.get(l.output());
      int axis = l.lastAxis() ? s.length - 1 : 1;
      if (axis < 1 || axis >= s.length || s[axis] != l.channels()) {
        skipped.put(l.node(), "output shape " + java.util.Arrays.toString(s) + " has no " + l.channels()
            + " channels on axis " + axis);
        continue;
      }
      zero.add(ChannelMeans.empty(l.output(), axis, l.channels()));
    }
    List<ChannelMeans> squares = new ArrayList<>();
    for (ChannelMeans m : zero) {
      squares.add(ChannelMeans.empty(m.tensor(), m.axis(), m.channels()));
      squares.add(ChannelMeans.empty(m.tensor(), m.axis(), m.channels()));
    }
    Pass pass = new Pass(shipped, in.inputNames(), built.layers(), in.batchSize(), in.fixedBatch() > 0,
        ctx.taskCpus(), in.padding());
    Sums sums = pass.run(in.samples(), new Sums(zero, squares));
    Map<String, double[]> deltas = new LinkedHashMap<>();
    for (Layer l : built.layers()) {
      ChannelMeans m = sums.of(l.output());
      if (m != null) {
        double[] mean = m.means();
        for (int c = 0; c < mean.length; c++) {
          mean[c] = mean[c] == 0 ? 0 : -mean[c];
        }
        deltas.put(l.node(), mean);
        sqnr.put(l.node(), sums.sqnrDb(l.output()));
      }
    }
    return deltas;
  }

  /**
   * Per layer the channel sums of the error {@code y' - y}, and in {@code squares} (two per layer, in order) of
   * its square and of {@code y^2}: all exact sums of per-element values, merged into a new state (a pure merge).
   */
  record Sums(List<ChannelMeans> layers, List<ChannelMeans> squares) implements Serializable {
    Sums merge(Sums o) {
      return new Sums(merged(layers, o.layers), merged(squares, o.squares));
    }

    private static List<ChannelMeans> merged(List<ChannelMeans> a, List<ChannelMeans> b) {
      List<ChannelMeans> m = new ArrayList<>();
      for (int i = 0; i < a.size(); i++) {
        m.add(a.get(i).copy().merge(b.get(i)));
      }
      return m;
    }

    Sums copy() {
      return new Sums(layers.stream().map(ChannelMeans::copy).toList(),
          squares.stream().map(ChannelMeans::copy).toList());
    }

    ChannelMeans of(String tensor) {
      return layers.stream().filter(m -> m.tensor().equals(tensor)).findFirst().orElse(null);
    }

    /** The squared errors and squared outputs of the layer at {@code index}. */
    ChannelMeans[] squaresOf(int index) {
      return new ChannelMeans[] {squares.get(2 * index), squares.get(2 * index + 1)};
    }

    /**
     * The output SQNR in dB of the layer writing {@code tensor} before the correction, {@code sum y^2 / sum e^2},
     * and after it, each channel's error less its mean: {@code sum y^2 / sum_c (sum e^2 - (sum e)^2 / n)}.
     */
    double[] sqnrDb(String tensor) {
      int i = layers.indexOf(of(tensor));
      ChannelMeans e = layers.get(i);
      ChannelMeans[] sq = squaresOf(i);
      double signal = 0;
      double before = 0;
      double after = 0;
      for (int c = 0; c < e.channels(); c++) {
        double e2 = sq[0].sum(c).doubleValue();
        double s = e.sum(c).doubleValue();
        signal += sq[1].sum(c).doubleValue();
        before += e2;
        after += e.count(c) == 0 ? e2 : Math.max(0, e2 - s * s / e.count(c));
      }
      return new double[] {10 * Math.log10(signal / before), 10 * Math.log10(signal / after)};
    }
  }

  /** What an executor task needs: the shipped graph, its inputs, the layers and how samples are batched. */
  record Pass(ShippedFiles.Shipped graph, List<String> inputNames, List<Layer> layers, int batchSize, boolean pad,
      int taskCpus, dev.qcal.data.Padding padding) implements Serializable {

    Sums run(JavaRDD<Sample> samples, Sums zero) {
      JavaRDD<Sums> perPartition = samples.mapPartitions(it -> List.of(partition(it, zero.copy())).iterator());
      return perPartition.treeAggregate(zero, Sums::merge, Sums::merge);
    }

    /** One partition through the graph, batched as the observe pass batches it; errors added to {@code sums}. */
    Sums partition(Iterator<Sample> it, Sums sums) {
      List<String> outputs = new ArrayList<>();
      Map<String, ChannelMeans> byTensor = new HashMap<>();
      Map<String, ChannelMeans[]> squares = new HashMap<>();
      Map<String, String> pair = new HashMap<>();
      for (int i = 0; i < sums.layers().size(); i++) {
        ChannelMeans m = sums.layers().get(i);
        squares.put(m.tensor(), sums.squaresOf(i));
        Layer l = layers.stream().filter(x -> x.output().equals(m.tensor())).findFirst().orElseThrow();
        outputs.add(l.output());
        outputs.add(l.quantizedOutput());
        byTensor.put(l.output(), m);
        byTensor.put(l.quantizedOutput(), m);
        pair.put(l.output(), l.quantizedOutput());
      }
      Batcher batcher = new Batcher(inputNames.size(), batchSize, pad, Batcher.DEFAULT_OPEN_BUCKETS, padding);
      Map<String, float[]> held = new HashMap<>();
      ModelRunner.OutputSink sink = (tensor, values, shape) -> {
        ChannelMeans m = byTensor.get(tensor);
        String other = pair.containsKey(tensor) ? pair.get(tensor) : m.tensor();
        float[] first = held.remove(other);
        if (first == null) {
          float[] copy = new float[values.remaining()];
          values.duplicate().get(copy);
          held.put(tensor, copy);
        } else if (pair.containsKey(tensor)) {
          m.addErrors(FloatBuffer.wrap(first), values, shape); // first is the clone's y'
          addSquares(squares.get(m.tensor()), first, values, shape);
        } else {
          m.addErrors(values, FloatBuffer.wrap(first), shape);
          addSquares(squares.get(m.tensor()), values, FloatBuffer.wrap(first), shape);
        }
      };
      try (ModelRunner runner = ModelRunner.pooled(graph.sha256(),
          SessionCache.get(graph.sha256(), Path.of(SparkFiles.get(graph.fileName())), taskCpus), inputNames,
          outputs)) {
        batcher.forEach(it, b -> runner.run(b, ModelRunner.realRows(b, sink)));
      }
      return sums;
    }
  }

  /** Adds {@code (y' - y)^2} and {@code y^2} per element (each rounded to float once) to {@code sq}. */
  private static void addSquares(ChannelMeans[] sq, FloatBuffer quantized, FloatBuffer reference, long[] shape) {
    int n = reference.remaining();
    float[] e2 = new float[n];
    float[] y2 = new float[n];
    for (int i = 0; i < n; i++) {
      double y = reference.get(reference.position() + i);
      double d = quantized.get(quantized.position() + i) - y;
      e2[i] = (float) Math.min(d * d, Float.MAX_VALUE); // a figure for the report: huge values saturate
      y2[i] = (float) Math.min(y * y, Float.MAX_VALUE);
    }
    sq[0].add(e2, shape);
    sq[1].add(y2, shape);
  }

  private static void addSquares(ChannelMeans[] sq, float[] quantized, FloatBuffer reference, long[] shape) {
    addSquares(sq, FloatBuffer.wrap(quantized), reference, shape);
  }

  private static Double finite(double db) {
    return Double.isFinite(db) ? db : null;
  }

  private static double maxAbs(double[] v) {
    double m = 0;
    for (double x : v) {
      m = Math.max(m, Math.abs(x));
    }
    return m;
  }
}
