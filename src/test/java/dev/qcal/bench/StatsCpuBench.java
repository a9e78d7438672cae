package dev.qcal.bench;

import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.TensorStats;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Values per CPU second of {@link TensorStats#add} on NCHW batches of about 1.2 M floats in direct
 * buffers, for feature maps from 24x96 down to 3x1 (the channel run length decides the per-channel
 * scan's speed), measured in thread CPU time (best of 10), so the figures hold on a machine shared
 * with other work, where JMH's wall-clock scores do not. One configuration per JVM (JIT profiles of one
 * configuration do not disturb another's): {@code scripts/bench stats-cpu minmax|defaults|tensor-hist}.
 */
public final class StatsCpuBench {
  private StatsCpuBench() {}

  public static void main(String[] args) {
    String what = args.length > 0 ? args[0] : "defaults";
    StatsConfig config = switch (what) {
      case "minmax" -> new StatsConfig(0, 0, Map.of());
      case "defaults" -> StatsConfig.defaults();
      case "tensor-hist" -> new StatsConfig(StatsConfig.DEFAULT_HISTOGRAM_BINS, 0, Map.of("t", -1));
      default -> throw new IllegalArgumentException("expected minmax, defaults or tensor-hist, got " + what);
    };
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    int[][] shapes = {{16, 32, 24, 96}, {16, 96, 12, 12}, {16, 72, 16, 8}, {16, 96, 12, 8}, {16, 144, 8, 8},
        {16, 192, 7, 7}, {16, 288, 6, 6},
        {16, 1024, 3, 1}};
    for (int[] sh : shapes) {
      int n = sh[0] * sh[1] * sh[2] * sh[3];
      FloatBuffer data = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
      Random r = new Random(42);
      int inner = sh[2] * sh[3];
      for (int i = 0; i < n; i++) {
        float v = (float) r.nextGaussian();
        data.put(i, (i / inner) % 2 == 0 ? Math.max(0f, v) : v); // every other channel after a ReLU
      }
      long[] shape = {sh[0], sh[1], sh[2], sh[3]};
      TensorStats t = TensorStats.empty("t", config);
      for (int w = 0; w < 300; w++) {
        t.add(data, shape);
      }
      long best = Long.MAX_VALUE;
      for (int rep = 0; rep < 10; rep++) {
        long t0 = threads.getCurrentThreadCpuTime();
        for (int k = 0; k < 10; k++) {
          t.add(data, shape);
        }
        best = Math.min(best, threads.getCurrentThreadCpuTime() - t0);
      }
      System.out.printf(Locale.ROOT, "%-11s %s run %5d: %.2f G values per CPU second%n", what,
          java.util.Arrays.toString(sh), inner, 10.0 * n / best);
    }
  }
}
