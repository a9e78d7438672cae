package dev.qcal.stats;

import java.io.Serializable;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What statistics to collect per tensor: histogram sizes and channel axes. Part of every state, so
 * states collected under different configurations refuse to merge.
 *
 * @param histogramBins maximum bins {@code B} of each per-tensor {@link Histogram}; 0 = no histograms
 * @param channelHistogramBins maximum bins of each per-channel histogram; 0 = none
 * @param axes per-tensor channel axis overrides; -1 = per-tensor statistics only. Tensors not listed
 *     get channel axis 1 when the activation is 4-D (NCHW) and no per-channel statistics otherwise
 */
public record StatsConfig(int histogramBins, int channelHistogramBins, Map<String, Integer> axes)
    implements Serializable {
  /** Default maximum bins of per-tensor histograms; see {@link Histogram} for why 4096. */
  public static final int DEFAULT_HISTOGRAM_BINS = 4096;
  /** Default maximum bins of per-channel histograms, when they are turned on. */
  public static final int DEFAULT_CHANNEL_HISTOGRAM_BINS = 256;

  public StatsConfig {
    checkBins("histogramBins", histogramBins);
    checkBins("channelHistogramBins", channelHistogramBins);
    TreeMap<String, Integer> sorted = new TreeMap<>();
    for (Map.Entry<String, Integer> e : axes.entrySet()) {
      if (e.getKey() == null || e.getValue() == null || e.getValue() < -1) {
        throw new IllegalArgumentException(
            "channel axis of tensor '" + e.getKey() + "' must be -1 (per tensor) or >= 0, got " + e.getValue());
      }
      sorted.put(e.getKey(), e.getValue());
    }
    // sorted: deterministic iteration for the codec, independent of the caller's map
    axes = Collections.unmodifiableMap(sorted);
  }

  private static void checkBins(String what, int bins) {
    if (bins != 0 && (bins < 2 || bins > Histogram.MAX_BINS)) {
      throw new IllegalArgumentException(
          what + " must be 0 (off) or in [2, " + Histogram.MAX_BINS + "], got " + bins);
    }
  }

  /** Per-tensor histograms of 4096 bins, no per-channel histograms, default channel axes. */
  public static StatsConfig defaults() {
    return new StatsConfig(DEFAULT_HISTOGRAM_BINS, 0, Map.of());
  }

  /** This configuration with per-channel histograms of {@code bins} bins (0 = off). */
  public StatsConfig withChannelHistograms(int bins) {
    return new StatsConfig(histogramBins, bins, axes);
  }

  /** This configuration with the channel axis of {@code tensor} set (-1 = per tensor only). */
  public StatsConfig withAxis(String tensor, int axis) {
    TreeMap<String, Integer> m = new TreeMap<>(axes);
    m.put(tensor, axis);
    return new StatsConfig(histogramBins, channelHistogramBins, m);
  }

  /**
   * The channel axis of {@code tensor} for an activation of {@code rank} dimensions (batch
   * included), or null for per-tensor statistics only.
   */
  public Integer channelAxis(String tensor, int rank) {
    Integer a = axes.get(tensor);
    if (a != null) {
      return a < 0 ? null : a;
    }
    return rank == 4 ? 1 : null;
  }
}
