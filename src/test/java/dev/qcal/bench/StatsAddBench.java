package dev.qcal.bench;

import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.TensorStats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-element cost of {@link TensorStats#add} on one NCHW activation batch as ONNX Runtime hands it
 * over (a direct float32 buffer), single thread. Scores are elements/s. {@code plainSum} (one sum
 * over the buffer) is the memory-speed reference. Run with {@code scripts/bench stats}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class StatsAddBench {
  static final int N = 16;
  static final int C = 32;
  static final int H = 24;
  static final int W = 96;
  static final int ELEMENTS = N * C * H * W;
  private static final long[] SHAPE = {N, C, H, W};

  private static final long[] CHANNEL_LAST = {N * C * H, W};

  private FloatBuffer data;
  private final float[] scratch = new float[4096];
  private TensorStats channelLastMinMax;
  private TensorStats perTensorMinMax;
  private TensorStats perChannelMinMax;
  private TensorStats perTensorHistogram;
  private TensorStats perChannelHistogram;
  private TensorStats defaults;

  @Setup
  public void setup() {
    data = ByteBuffer.allocateDirect(ELEMENTS * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    Random r = new Random(42);
    int inner = H * W;
    for (int n = 0; n < N; n++) {
      for (int c = 0; c < C; c++) {
        // per-channel scale and shift; every other channel after a ReLU (about half zeros)
        double scale = 0.5 + 2 * ((c * 7919) % 13) / 13.0;
        double shift = ((c * 104729) % 7) / 7.0 - 0.5;
        boolean relu = c % 2 == 0;
        for (int i = 0; i < inner; i++) {
          float v = (float) (r.nextGaussian() * scale + shift);
          data.put((n * C + c) * inner + i, relu ? Math.max(0f, v) : v);
        }
      }
    }
    perTensorMinMax = TensorStats.empty("t", new StatsConfig(0, 0, Map.of("t", -1)));
    perChannelMinMax = TensorStats.empty("t", new StatsConfig(0, 0, Map.of()));
    perTensorHistogram = TensorStats.empty("t", new StatsConfig(4096, 0, Map.of("t", -1)));
    perChannelHistogram = TensorStats.empty("t", new StatsConfig(4096, 256, Map.of()));
    defaults = TensorStats.empty("t", StatsConfig.defaults());
    channelLastMinMax = TensorStats.empty("t", new StatsConfig(0, 0, Map.of("t", 1)));
  }

  /** Another reference: bulk-copy every element into a small array (the memory bandwidth). */
  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public float bulkCopy() {
    FloatBuffer b = data;
    float[] chunk = scratch;
    for (int i = 0, n = b.limit(); i < n; i += chunk.length) {
      b.get(i, chunk, 0, Math.min(chunk.length, n - i));
    }
    return chunk[0];
  }

  /** Per-channel min/max on channel-last data: the same buffer as [N * C * H, W] with axis 1 (96 channels). */
  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public TensorStats channelLastMinMax() {
    return channelLastMinMax.add(data, CHANNEL_LAST);
  }

  /** The reference: read every element once, summing. */
  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public float plainSum() {
    FloatBuffer b = data;
    float s = 0;
    for (int i = 0, n = b.limit(); i < n; i++) {
      s += b.get(i);
    }
    return s;
  }

  /** Per-tensor min, max and counts; histograms off. */
  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public TensorStats perTensorMinMax() {
    return perTensorMinMax.add(data, SHAPE);
  }

  /** Per-channel (axis 1) and per-tensor min, max and counts; histograms off. */
  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public TensorStats perChannelMinMax() {
    return perChannelMinMax.add(data, SHAPE);
  }

  /** Per-tensor min, max, counts and a histogram of B = 4096. */
  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public TensorStats perTensorHistogram() {
    return perTensorHistogram.add(data, SHAPE);
  }

  /** Everything: per-channel min/max, per-tensor histogram (4096) and per-channel histograms (256). */
  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public TensorStats perChannelHistogram() {
    return perChannelHistogram.add(data, SHAPE);
  }

  /** What {@link StatsConfig#defaults()} collects for a 4-D activation: per-channel min/max + per-tensor histogram. */
  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public TensorStats defaults() {
    return defaults.add(data, SHAPE);
  }
}
