package dev.qcal.jobs;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher;
import dev.qcal.data.Sample;
import dev.qcal.model.prepare.GraphAugmenter;
import dev.qcal.model.prepare.GraphAugmenter.Reduction;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.runtime.SmallOutputs;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsSet;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The min/max-only observe pass with the reductions inside ONNX Runtime: the model gets ReduceMin,
 * ReduceMax, ReduceSum and Shape nodes per calibrated tensor ({@link GraphAugmenter#addReductions}),
 * so only a few floats per channel cross into Java instead of every activation value (the exposing
 * graph writes, and Java reads, tens of MB per batch).
 *
 * <p>Exactness: the statistics are the ones {@link StatsSet#add} would collect from the values. A
 * batch is taken from the reductions only when every tensor's minima and maxima are finite and its sum
 * is not NaN, which proves every value finite (a NaN makes the sum NaN whatever the order; an infinity
 * shows in the min or max), so the counts follow from the shape. ONNX Runtime's ReduceMin/ReduceMax
 * may drop a NaN depending on its position and return -0.0 or 0.0 depending on the order; the NaN
 * check covers the first and {@link dev.qcal.stats.TensorStats} records zero extremes as +0.0 either
 * way. Any other batch (a non-finite value, an unexpected rank or channel count, an empty tensor, or a
 * failed run) is run again through the exposing graph and collected value by value, which counts NaN
 * and infinities and reports shape errors as the plain pass does.
 */
final class ReducedObserve {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ReducedObserve.class);
  private ReducedObserve() {}

  /** The reduced model shipped to executors and the reduction of each calibrated tensor, in order. */
  record Shipped(String fileName, String sha256, List<Reduction> reductions) implements Serializable {}

  /**
   * The reduction of each tensor, from its shape for one sample ({@link PaddedBatches#shapes}): per
   * channel where {@code config} gives the tensor a channel axis, else per tensor. Null when a tensor's
   * channel axis is out of range (the plain pass then reports it).
   */
  static List<Reduction> plan(Map<String, long[]> shapes, List<String> tensors, StatsConfig config) {
    List<Reduction> out = new ArrayList<>();
    for (String t : tensors) {
      int rank = shapes.get(t).length;
      Integer axis = config.channelAxis(t, rank);
      if (axis != null && axis >= rank) {
        return null;
      }
      out.add(new Reduction(t, rank, axis));
    }
    return out;
  }

  /** Whether this configuration can be collected from minima and maxima alone. */
  static boolean applies(StatsConfig config) {
    return config.histogramBins() == 0 && config.channelHistogramBins() == 0;
  }

  /**
   * Streams one partition through the reduced session, one batch at a time; batches the reductions
   * cannot prove all finite go through {@code exposing} (opened on first need, closed here) and are
   * counted in {@code reruns[0]}. Batched as {@code pass} says: with {@code pad} (a fixed batch size) a
   * partial batch is padded and goes through {@code exposing}, which observes its real samples' rows only
   * (not counted as a rerun: the reductions would include the padded rows); samples are padded as its
   * {@code padding} says (null: none; with {@code --pad-stats include} only, as the reductions count
   * padded positions).
   */
  static StatsSet observePartition(Iterator<Sample> it, OrtSession reduced, Supplier<ModelRunner> exposing,
      CalibrateJob.ObservePass pass, long[] reruns) {
    List<Reduction> reductions = pass.reduced().reductions();
    List<String> inputNames = pass.inputNames();
    StatsSet stats = StatsSet.empty(pass.tensors(), pass.config());
    Batcher batcher = new Batcher(inputNames.size(), pass.batchSize(), pass.pad(), Batcher.DEFAULT_OPEN_BUCKETS,
        pass.padding());
    // output names once per partition, not per batch and tensor
    List<List<String>> names = new ArrayList<>(reductions.size());
    Set<String> outputs = new LinkedHashSet<>();
    for (int k = 0; k < reductions.size(); k++) {
      names.add(GraphAugmenter.reductionOutputs(k));
      outputs.addAll(names.get(k));
    }
    ModelRunner[] fallback = new ModelRunner[1];
    try {
      java.util.function.Consumer<Batcher.Batch> observe = b -> {
        String why = b.padded() ? "padded to the model's fixed batch size"
            : addReduced(b, reduced, reductions, names, outputs, inputNames, stats);
        if (why != null) {
          if (fallback[0] == null) {
            LOG.info("batch starting at {} runs through the exposing graph: {}", b.firstSource(), why);
            fallback[0] = exposing.get();
          }
          fallback[0].run(b, ModelRunner.realRows(b, stats::add));
          if (!b.padded()) {
            reruns[0]++;
          }
        }
        stats.countBatch(b.size());
      };
      batcher.forEach(it, observe);
    } finally {
      if (fallback[0] != null) {
        fallback[0].close();
      }
    }
    return stats;
  }

  /** Reduced results of one tensor in one batch. */
  private record Reduced(long[] shape, float[] mins, float[] maxs) {}

  /**
   * Runs {@code b} through the reduced session and adds it to {@code stats} if every tensor's result
   * proves its values finite and matches the planned rank and returns null; otherwise adds nothing
   * and returns why.
   */
  private static String addReduced(Batcher.Batch b, OrtSession session, List<Reduction> reductions,
      List<List<String>> names, Set<String> outputs, List<String> inputNames, StatsSet stats) {
    if (reductions.isEmpty()) {
      return null; // nothing to calibrate: nothing to run, as for the exposing graph
    }
    List<Reduced> results = new ArrayList<>(reductions.size());
    try {
      Map<String, Object> out = SmallOutputs.run(session, inputNames, b, outputs);
      for (int k = 0; k < reductions.size(); k++) {
        List<String> n = names.get(k);
        long[] shape = (long[]) out.get(n.get(3));
        float[] mins = (float[]) out.get(n.get(0));
        float[] maxs = (float[]) out.get(n.get(1));
        float sum = ((float[]) out.get(n.get(2)))[0];
        if (!provenFinite(reductions.get(k), shape, mins, maxs, sum)) {
          return "tensor '" + reductions.get(k).tensor() + "' may hold a value that is not finite, or has shape "
              + java.util.Arrays.toString(shape) + " where rank " + reductions.get(k).rank() + " was planned";
        }
        results.add(new Reduced(shape, mins, maxs));
      }
    } catch (OrtException | RuntimeException e) {
      // e.g. a reduction over an empty tensor; the exposing graph reports real input errors
      return "the reduced graph failed: " + e.getMessage();
    }
    for (int k = 0; k < reductions.size(); k++) {
      Reduced r = results.get(k);
      stats.addFinite(reductions.get(k).tensor(), r.shape(), r.mins(), r.maxs());
    }
    return null;
  }

  private static boolean provenFinite(Reduction r, long[] shape, float[] mins, float[] maxs, float sum) {
    if (shape.length != r.rank() || Float.isNaN(sum)) {
      return false;
    }
    for (long d : shape) {
      if (d <= 0) {
        return false; // empty: nothing to prove, and ONNX Runtime's reduction of nothing is not a range
      }
    }
    int channels = r.channelAxis() == null ? 1 : (int) shape[r.channelAxis()];
    if (mins.length != channels || maxs.length != channels) {
      return false;
    }
    for (int c = 0; c < channels; c++) {
      if (!(mins[c] >= -Float.MAX_VALUE && maxs[c] <= Float.MAX_VALUE)) {
        return false;
      }
    }
    return true;
  }
}
