package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The state has a fixed size: it does not grow with the number of samples. */
class StatsStateSizeTest {
  private static final List<String> TENSORS = List.of("conv1", "conv2");

  /** 2 tensors [N, 16, 12, 24] in batches of 32; every batch and channel spans [-8, 8]. */
  private static StatsSet observe(int samples, StatsConfig config) {
    Random r = new Random(samples);
    StatsSet s = StatsSet.empty(TENSORS, config);
    int per = 16 * 12 * 24;
    FloatBuffer b = ByteBuffer.allocateDirect(32 * per * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    for (int done = 0; done < samples; done += 32) {
      for (String t : TENSORS) {
        for (int i = 0; i < 32 * per; i++) {
          b.put(i, (float) Math.max(-8, Math.min(8, r.nextGaussian() * 2)));
        }
        for (int c = 0; c < 16; c++) {
          // channel c of sample 0 is the run [c * 12 * 24, + 12 * 24): pin every channel's range
          b.put(c * 12 * 24, -8f).put(c * 12 * 24 + 1, 8f).put(c * 12 * 24 + 2, Float.NaN);
        }
        s.add(t, b, new long[] {32, 16, 12, 24});
      }
      s.countBatch(32);
    }
    return s;
  }

  private static int javaSerializedSize(Object o) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(b)) {
      out.writeObject(o);
    }
    return b.size();
  }

  @Test
  void serializedSizeDoesNotGrowWithSamples() throws IOException {
    for (StatsConfig config : new StatsConfig[] {StatsConfig.defaults(), StatsConfig.defaults().withChannelHistograms(256)}) {
      StatsSet small = observe(256, config);
      StatsSet large = observe(4096, config);
      assertEquals(4096, large.samples());
      // Java serialization (Spark's) writes each meaningful count as a variable-length integer: 16 times
      // the samples adds at most a byte per bin (16 < 2^7), and no count takes more than 10 bytes, so the
      // size is bounded by the configuration alone
      int bins = 0;
      for (TensorStats t : large.tensors().values()) {
        bins += t.histogram().bins();
        for (int c = 0; c < t.channels(); c++) {
          bins += t.channelHistogram(c) == null ? 0 : t.channelHistogram(c).bins();
        }
      }
      int smallSize = javaSerializedSize(small);
      int largeSize = javaSerializedSize(large);
      assertTrue(largeSize >= smallSize && largeSize - smallSize <= bins, smallSize + " -> " + largeSize + ", " + bins + " bins");
      assertTrue(largeSize <= 8192 + 2 * 10 * (4096 + 16 * 256), largeSize + " bytes");
      // the file stores only the meaningful bins: its size depends on the range, not on the count
      assertEquals(StatsCodec.toBytes(small).length, StatsCodec.toBytes(large).length, config.toString());
      int bound = 36 + 2 * (4 + 5 + 8 + 40 + 16 + 4096 * 8 + 16 * (40 + 16 + 256 * 8));
      assertTrue(StatsCodec.toBytes(large).length <= bound);
    }
  }
}
