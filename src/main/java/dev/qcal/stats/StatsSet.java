package dev.qcal.stats;

import java.io.Serializable;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Statistics of every calibrated tensor of one model plus the number of samples and inference
 * batches they came from. This is the state that travels from executors to the driver and, through
 * {@link StatsCodec}, to {@code stats/stats.bin}.
 */
public final class StatsSet implements Serializable {
  private static final long serialVersionUID = 2L;

  private final StatsConfig config;
  private final LinkedHashMap<String, TensorStats> tensors = new LinkedHashMap<>();
  private long samples;
  private long batches;

  private StatsSet(List<String> tensorNames, StatsConfig config) {
    this.config = Objects.requireNonNull(config, "config");
    for (String t : tensorNames) {
      if (tensors.put(t, TensorStats.empty(t, config)) != null) {
        throw new IllegalArgumentException("tensor '" + t + "' listed twice");
      }
    }
  }

  /** The identity of {@link #merge} for this list of tensors and configuration. */
  public static StatsSet empty(List<String> tensorNames, StatsConfig config) {
    return new StatsSet(tensorNames, config);
  }

  /** Counts one inference batch of {@code batchSamples} samples; call {@link #add} per tensor. */
  public StatsSet countBatch(int batchSamples) {
    samples += batchSamples;
    batches++;
    return this;
  }

  /** Adds one batch of {@code tensor}'s values; see {@link TensorStats#add(FloatBuffer, long[])}. */
  public StatsSet add(String tensor, FloatBuffer values, long[] shape) {
    get(tensor).add(values, shape);
    return this;
  }


  /** Adds one all-finite batch of {@code tensor} by its minima and maxima; see {@link TensorStats#addFinite}. */
  public StatsSet addFinite(String tensor, long[] shape, float[] mins, float[] maxs) {
    get(tensor).addFinite(shape, mins, maxs);
    return this;
  }

  /**
   * Merges {@code other} into this set and returns this.
   *
   * <p>Contract: associative and commutative with {@link #empty} as the identity, because each
   * {@link TensorStats#merge} is and the sample and batch counts are sums. Compatibility is checked
   * first: both sets must have the same configuration and list the same tensors in the same order;
   * each tensor then checks its own state, naming the tensor.
   */
  public StatsSet merge(StatsSet other) {
    checkMergeable(other);
    for (Map.Entry<String, TensorStats> e : tensors.entrySet()) {
      e.getValue().merge(other.tensors.get(e.getKey()));
    }
    samples += other.samples;
    batches += other.batches;
    return this;
  }

  /**
   * {@code a.merge(b)}, except that when {@code a} holds nothing yet (a Spark aggregation's zero value)
   * it returns {@code b} itself after the same compatibility checks, instead of copying b's state into
   * a's arrays: the same result by the identity law, without the allocation. For callers that use
   * neither argument afterwards.
   */
  public static StatsSet combine(StatsSet a, StatsSet b) {
    if (a.isEmpty()) {
      a.checkMergeable(b);
      return b;
    }
    return a.merge(b);
  }

  /** No samples, batches or values of any tensor: the state of {@link #empty}. */
  public boolean isEmpty() {
    if (samples != 0 || batches != 0) {
      return false;
    }
    for (TensorStats t : tensors.values()) {
      if (!t.isEmpty()) {
        return false;
      }
    }
    return true;
  }

  private void checkMergeable(StatsSet other) {
    Conflict c = conflict(other);
    if (c != null) {
      String what = c.field().startsWith("tensors[") ? "of different tensor lists"
          : "collected with different configurations";
      throw new IllegalArgumentException("Cannot merge statistics " + what + ": " + c.field() + " " + c.mine()
          + " != " + c.theirs());
    }
  }

  /**
   * The first setting two sets differ in, which keeps them from merging.
   *
   * @param field the setting, named as {@code stats.json} names it ({@code histogram_bins},
   *     {@code channel_histogram_bins}, {@code tensors[i]}), or {@code channel axis of 'T'}
   * @param mine this set's value
   * @param theirs the other set's value
   */
  public record Conflict(String field, String mine, String theirs) {}

  /**
   * Why {@code other} cannot be merged into this set, or null when it can: the first of the configuration's
   * histogram bins, channel histogram bins and channel axes (by tensor name), then the tensor list (by
   * position) that differs. {@link #merge} checks this first.
   */
  public Conflict conflict(StatsSet other) {
    StatsConfig a = config;
    StatsConfig b = other.config;
    if (a.histogramBins() != b.histogramBins()) {
      return new Conflict("histogram_bins", Integer.toString(a.histogramBins()), Integer.toString(b.histogramBins()));
    }
    if (a.channelHistogramBins() != b.channelHistogramBins()) {
      return new Conflict("channel_histogram_bins", Integer.toString(a.channelHistogramBins()),
          Integer.toString(b.channelHistogramBins()));
    }
    TreeSet<String> axed = new TreeSet<>(a.axes().keySet());
    axed.addAll(b.axes().keySet());
    for (String t : axed) {
      if (!Objects.equals(a.axes().get(t), b.axes().get(t))) {
        return new Conflict("channel axis of '" + t + "'", axis(a, t), axis(b, t));
      }
    }
    List<String> mine = new ArrayList<>(tensors.keySet());
    List<String> theirs = new ArrayList<>(other.tensors.keySet());
    for (int i = 0; i < Math.max(mine.size(), theirs.size()); i++) {
      String m = i < mine.size() ? "'" + mine.get(i) + "'" : "absent (" + mine.size() + " tensors)";
      String t = i < theirs.size() ? "'" + theirs.get(i) + "'" : "absent (" + theirs.size() + " tensors)";
      if (!m.equals(t)) {
        return new Conflict("tensors[" + i + "]", m, t);
      }
    }
    return null;
  }

  private static String axis(StatsConfig c, String tensor) {
    Integer a = c.axes().get(tensor);
    return a == null ? "default" : a < 0 ? "per tensor (-1)" : Integer.toString(a);
  }

  /**
   * A copy in which each key of {@code aliases} also has the statistics of the tensor it maps to (a tensor a
   * graph rewrite renamed, whose values are those observed under the old name), listed after the others.
   */
  public StatsSet withAliases(Map<String, String> aliases) {
    List<TensorStats> all = new ArrayList<>();
    tensors.values().forEach(t -> all.add(t.copy()));
    aliases.forEach((alias, source) -> all.add(get(source).copyAs(alias)));
    StatsSet s = restored(config, samples, all);
    s.batches = batches;
    return s;
  }

  /** Used by {@link StatsCodec}: a set whose tensors are filled in by the reader. */
  static StatsSet restored(StatsConfig config, long samples, List<TensorStats> tensors) {
    StatsSet s = new StatsSet(List.of(), config);
    s.samples = samples;
    for (TensorStats t : tensors) {
      if (s.tensors.put(t.tensor(), t) != null) {
        throw new IllegalArgumentException("tensor '" + t.tensor() + "' listed twice");
      }
    }
    return s;
  }

  public TensorStats get(String tensor) {
    TensorStats s = tensors.get(tensor);
    if (s == null) {
      throw new IllegalArgumentException("no statistics for tensor '" + tensor + "'");
    }
    return s;
  }

  /** The tensors' statistics in the order they were listed. */
  public Map<String, TensorStats> tensors() {
    return Collections.unmodifiableMap(tensors);
  }

  public StatsConfig config() {
    return config;
  }

  public long samples() {
    return samples;
  }

  /** Inference batches counted; depends on the batch size, so not part of equality or the file. */
  public long batches() {
    return batches;
  }

  /** Equal configuration, samples and every tensor's state, in order; {@link #batches} is ignored. */
  @Override
  public boolean equals(Object o) {
    return o instanceof StatsSet s
        && config.equals(s.config)
        && samples == s.samples
        && new ArrayList<>(tensors.entrySet()).equals(new ArrayList<>(s.tensors.entrySet()));
  }

  @Override
  public int hashCode() {
    return (config.hashCode() * 31 + tensors.hashCode()) * 31 + Long.hashCode(samples);
  }

  @Override
  public String toString() {
    return "StatsSet[samples=" + samples + ", batches=" + batches + ", " + tensors.values() + "]";
  }
}
