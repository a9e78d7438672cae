package dev.qcal.stats;

import java.io.Serializable;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Statistics of every calibrated tensor of one model plus the number of samples and inference
 * batches they came from. This is the state that travels from executors to the driver.
 */
public final class StatsSet implements Serializable {
  private static final long serialVersionUID = 1L;

  private final LinkedHashMap<String, TensorStats> tensors = new LinkedHashMap<>();
  private long samples;
  private long batches;

  private StatsSet(List<String> tensorNames) {
    for (String t : tensorNames) {
      if (tensors.put(t, TensorStats.empty(t)) != null) {
        throw new IllegalArgumentException("tensor '" + t + "' listed twice");
      }
    }
  }

  /** The identity of {@link #merge} for this list of tensors. */
  public static StatsSet empty(List<String> tensorNames) {
    return new StatsSet(tensorNames);
  }

  /** Adds one inference batch of {@code batchSamples} samples; call {@link #add} per tensor. */
  public StatsSet countBatch(int batchSamples) {
    samples += batchSamples;
    batches++;
    return this;
  }

  public StatsSet add(String tensor, FloatBuffer values) {
    get(tensor).add(values);
    return this;
  }

  /**
   * Merges {@code other} into this set and returns this. Associative and commutative with
   * {@link #empty} as identity, because each {@link TensorStats#merge} is and counts are sums.
   * Both sets must list the same tensors in the same order.
   */
  public StatsSet merge(StatsSet other) {
    if (!new ArrayList<>(tensors.keySet()).equals(new ArrayList<>(other.tensors.keySet()))) {
      throw new IllegalArgumentException(
          "Cannot merge statistics of different tensor lists: " + tensors.keySet() + " vs "
              + other.tensors.keySet());
    }
    for (Map.Entry<String, TensorStats> e : tensors.entrySet()) {
      e.getValue().merge(other.tensors.get(e.getKey()));
    }
    samples += other.samples;
    batches += other.batches;
    return this;
  }

  public TensorStats get(String tensor) {
    TensorStats s = tensors.get(tensor);
    if (s == null) {
      throw new IllegalArgumentException("no statistics for tensor '" + tensor + "'");
    }
    return s;
  }

  public Map<String, TensorStats> tensors() {
    return Collections.unmodifiableMap(tensors);
  }

  public long samples() {
    return samples;
  }

  public long batches() {
    return batches;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StatsSet s
        && samples == s.samples
        && new ArrayList<>(tensors.entrySet()).equals(new ArrayList<>(s.tensors.entrySet()));
  }

  @Override
  public int hashCode() {
    return tensors.hashCode() * 31 + Long.hashCode(samples);
  }

  @Override
  public String toString() {
    return "StatsSet[samples=" + samples + ", batches=" + batches + ", " + tensors.values() + "]";
  }
}
