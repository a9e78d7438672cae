package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The state's heap is known from the plan before any data: checked without allocating it. */
class StatsMemoryTest {
  private static final long MIB = 1 << 20;

  /** Two 4-D tensors of 16 and 8 channels and a 2-D one (per tensor only). */
  private static Map<String, Integer> channels() {
    Map<String, Integer> m = new LinkedHashMap<>();
    m.put("conv1", 16);
    m.put("conv2", 8);
    m.put("fc", 0);
    return m;
  }

  @Test
  void stateBytesBoundTheHistogramCountsAndAddLittleElse() {
    StatsConfig c = StatsConfig.defaults().withChannelHistograms(256);
    long counts = 3 * 4096 * 8L + (16 + 8) * 256 * 8L; // every histogram's long[maxBins]
    long est = StatsMemory.stateBytes(c, channels());
    assertTrue(est >= counts, est + " < " + counts);
    assertTrue(est <= counts + 3 * 1024 + 24 * 256, est + " bytes: too much overhead over " + counts);
  }

  @Test
  void stateBytesMatchAnObservedStateHistogramForHistogram() {
    // the estimate's histograms are the ones a state allocates once values arrive
    StatsConfig c = StatsConfig.defaults().withChannelHistograms(64);
    StatsSet s = StatsSet.empty(List.of("conv1", "conv2", "fc"), c);
    s.add("conv1", FloatBuffer.wrap(new float[2 * 16 * 3]), new long[] {2, 16, 3, 1});
    s.add("conv2", FloatBuffer.wrap(new float[8 * 5]), new long[] {1, 8, 5, 1});
    s.add("fc", FloatBuffer.wrap(new float[10]), new long[] {1, 10});
    long histograms = 0;
    for (TensorStats t : s.tensors().values()) {
      histograms += StatsMemory.histogramBytes(c.histogramBins());
      for (int ch = 0; ch < t.channels(); ch++) {
        histograms += t.channelHistogram(ch) == null ? 0 : StatsMemory.histogramBytes(c.channelHistogramBins());
      }
    }
    Map<String, Integer> observed = new LinkedHashMap<>();
    s.tensors().forEach((n, t) -> observed.put(n, t.channels()));
    assertEquals(channels(), observed);
    long perTensor = StatsMemory.stateBytes(c, channels()) - histograms;
    assertTrue(perTensor > 0 && perTensor <= 3 * StatsMemory.TENSOR_OVERHEAD + 24 * StatsMemory.CHANNEL_BYTES, perTensor + "");
  }

  @Test
  void refusesWhenTheCopiesExceedAHeapNamingTheFiguresAndTheOption() {
    StatsConfig c = StatsConfig.defaults().withChannelHistograms(1 << 20);
    // 24 channel histograms of 2^20 longs: 192 MiB a copy; 6 copies need about 1.1 GiB
    long heap = 1024 * MIB;
    String why = StatsMemory.refusal(c, channels(), List.of(new StatsMemory.Holder("driver (local[2])", heap, 6)));
    long state = StatsMemory.stateBytes(c, channels());
    assertTrue(state > 24 * 8 * MIB && state < 24 * 8 * MIB + MIB, state + "");
    assertTrue(why.startsWith("the statistics state of 3 tensors (24 channels) takes about 193 MiB per copy;"
        + " the driver (local[2]) holds 6 copies at once, 1,153 MiB, more than its heap of 1,024 MiB less Spark's"
        + " reserved 300 MiB (724 MiB): lower --channel-histogram-bins 1048576"), why);
    assertTrue(why.endsWith("or give the driver more memory"), why);
    assertNull(StatsMemory.refusal(c, channels(), List.of(new StatsMemory.Holder("driver", 2048 * MIB, 6))));
  }

  @Test
  void namesTheOptionThatDominates() {
    StatsConfig c = new StatsConfig(1 << 20, 0, Map.of());
    String why = StatsMemory.refusal(c, channels(), List.of(new StatsMemory.Holder("executor (x)", 340 * MIB, 2)));
    assertTrue(why.contains("lower --histogram-bins 1048576 (per-tensor histograms take 25 MiB of each copy)"), why);
    assertTrue(why.endsWith("or give the executor more memory"), why);
  }
}
