package dev.qcal.stats;

import java.util.List;
import java.util.Map;

/**
 * The heap a statistics state takes, known before any data is seen (a histogram holds {@code maxBins}
 * longs once values arrive), and whether the JVMs of the pass can hold the copies they keep at once.
 */
public final class StatsMemory {
  /** Bytes of one histogram besides its counts: object, fields, array header (an upper bound). */
  static final long HISTOGRAM_OVERHEAD = 96;
  /** Bytes of one tensor's state besides its histograms and per-channel arrays (an upper bound). */
  static final long TENSOR_OVERHEAD = 512;
  /** Per channel: min and max (float), count, NaN, +Inf and -Inf counts (long), a histogram reference. */
  static final long CHANNEL_BYTES = 2 * Float.BYTES + 4 * Long.BYTES + Long.BYTES;
  /** Heap Spark sets aside for itself before sizing its memory (its RESERVED_SYSTEM_MEMORY_BYTES). */
  public static final long SPARK_RESERVED = 300L << 20;

  private StatsMemory() {}

  /** A JVM holding {@code copies} states at once in a heap of {@code heapBytes}; {@code name} says which and why. */
  public record Holder(String name, long heapBytes, int copies) {}

  /** Heap bytes of one histogram of {@code maxBins} bins with values. */
  static long histogramBytes(int maxBins) {
    return maxBins == 0 ? 0 : HISTOGRAM_OVERHEAD + (long) maxBins * Long.BYTES;
  }

  /**
   * Upper bound of the heap bytes of one state ({@link StatsSet}) of tensors whose per-channel statistics
   * have {@code channels} channels (0: per tensor only).
   */
  public static long stateBytes(StatsConfig config, Map<String, Integer> channels) {
    return perTensorBytes(config, channels) + channelHistogramBytes(config, channels);
  }

  private static long perTensorBytes(StatsConfig config, Map<String, Integer> channels) {
    long b = 0;
    for (int c : channels.values()) {
      b += TENSOR_OVERHEAD + histogramBytes(config.histogramBins()) + (long) c * CHANNEL_BYTES;
    }
    return b;
  }

  private static long channelHistogramBytes(StatsConfig config, Map<String, Integer> channels) {
    long b = 0;
    for (int c : channels.values()) {
      b += c * histogramBytes(config.channelHistogramBins());
    }
    return b;
  }

  /**
   * Why the state cannot fit: for the first holder whose copies exceed its heap less {@link #SPARK_RESERVED},
   * a message with the figures and the option to lower; null when every holder has room.
   */
  public static String refusal(StatsConfig config, Map<String, Integer> channels, List<Holder> holders) {
    long state = stateBytes(config, channels);
    for (Holder h : holders) {
      long usable = h.heapBytes() - SPARK_RESERVED;
      if ((double) state * h.copies() > usable) {
        long perChannel = channelHistogramBytes(config, channels);
        long totalChannels = channels.values().stream().mapToLong(Integer::longValue).sum();
        String lower = perChannel >= state / 2
            ? "--channel-histogram-bins " + config.channelHistogramBins() + " (per-channel histograms take "
                + mib(perChannel) + " of each copy)"
            : "--histogram-bins " + config.histogramBins() + " (per-tensor histograms take "
                + mib((long) channels.size() * histogramBytes(config.histogramBins())) + " of each copy)";
        return "the statistics state of " + channels.size() + " tensors (" + totalChannels + " channels) takes about "
            + mib(state) + " per copy; the " + h.name() + " holds " + h.copies() + " copies at once, "
            + mib((long) Math.min(Long.MAX_VALUE, (double) state * h.copies())) + ", more than its heap of "
            + mib(h.heapBytes()) + " less Spark's reserved " + mib(SPARK_RESERVED) + " (" + mib(Math.max(0, usable))
            + "): lower " + lower + ", or give the " + h.name().split(" ")[0] + " more memory";
      }
    }
    return null;
  }

  private static String mib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%,d MiB", (bytes + (1 << 20) - 1) >> 20);
  }
}
