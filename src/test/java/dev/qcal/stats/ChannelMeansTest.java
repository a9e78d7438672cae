package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Per-channel exact means against a BigDecimal oracle that finds each value's channel by unravelling
 * its flat index into coordinates: any split of the batches, merged in any order or tree shape, gives
 * the same bytes and the oracle's sums, counts and means.
 */
class ChannelMeansTest {

  /** A batch: values (or errors as quantized and reference) with their shape. */
  record Batch(float[] q, float[] ref, long[] shape) {}

  /** The channel of flat index {@code i}: its coordinate along {@code axis}, unravelled from the last axis. */
  static int channelOf(long i, long[] shape, int axis) {
    long rest = i;
    int coord = 0;
    for (int a = shape.length - 1; a >= axis; a--) {
      coord = (int) (rest % shape[a]);
      rest /= shape[a];
    }
    return coord;
  }

  static float value(Random r) {
    return switch (r.nextInt(6)) {
      case 0 -> Float.MIN_VALUE * (1 + r.nextInt(100)) * (r.nextBoolean() ? 1 : -1);
      case 1 -> (float) Math.scalb(r.nextGaussian(), 60 + r.nextInt(60));
      case 2 -> (float) Math.scalb(r.nextGaussian(), -140 + r.nextInt(30));
      default -> (float) r.nextGaussian();
    };
  }

  /** Random batches of one layout; dimensions other than the channel axis vary between batches. */
  static List<Batch> batches(Random r, long[] base, int axis, int count) {
    List<Batch> b = new ArrayList<>();
    for (int k = 0; k < count; k++) {
      long[] shape = base.clone();
      for (int a = 0; a < shape.length; a++) {
        if (a != axis) {
          shape[a] = r.nextInt((int) base[a] + 1); // empty batches too
        }
      }
      int n = (int) Arrays.stream(shape).reduce(1, (x, y) -> x * y);
      float[] q = new float[n];
      float[] ref = new float[n];
      for (int i = 0; i < n; i++) {
        ref[i] = value(r);
        // mostly a small error on top of the reference; sometimes unrelated values (big cancellations)
        q[i] = r.nextInt(4) == 0 ? value(r) : ref[i] + (float) (r.nextGaussian() * Math.ulp(ref[i]) * 8);
      }
      b.add(new Batch(q, ref, shape));
    }
    return b;
  }

  /** Per channel: exact sum of q - ref (errors) or of q alone, and the count. */
  static BigDecimal[] oracleSums(List<Batch> batches, int axis, int channels, boolean errors, long[] counts) {
    BigDecimal[] s = new BigDecimal[channels];
    Arrays.fill(s, BigDecimal.ZERO);
    for (Batch b : batches) {
      for (int i = 0; i < b.q.length; i++) {
        int c = channelOf(i, b.shape, axis);
        BigDecimal v = new BigDecimal(b.q[i]);
        s[c] = s[c].add(errors ? v.subtract(new BigDecimal(b.ref[i])) : v);
        counts[c]++;
      }
    }
    return s;
  }

  static byte[] bytes(ChannelMeans m) {
    return StateBytes.of(m::writeTo);
  }

  static ChannelMeans read(byte[] bytes) throws IOException {
    return StateBytes.read(bytes, ChannelMeans::readFrom);
  }

  private static ChannelMeans addAll(ChannelMeans m, List<Batch> batches, boolean errors) {
    for (Batch b : batches) {
      if (errors) {
        m.addErrors(FloatBuffer.wrap(b.q), FloatBuffer.wrap(b.ref), b.shape);
      } else {
        m.add(b.q, b.shape);
      }
    }
    return m;
  }

  /** Layouts as in TensorStats: NCHW Conv output (axis 1), Gemm [N, C], MatMul [B, S, C], channel first. */
  static final long[][] SHAPES = {{3, 4, 5, 6}, {7, 5}, {2, 5, 3}, {4, 9}};
  static final int[] AXES = {1, 1, 2, 0};

  @ParameterizedTest
  @ValueSource(ints = {1, 3, 16})
  void anySplitOfTheBatchesGivesTheOraclesSumsCountsAndMeans(int partitions) {
    for (int layout = 0; layout < SHAPES.length; layout++) {
      for (boolean errors : new boolean[] {false, true}) {
        Random r = new Random(100L * partitions + 10 * layout + (errors ? 1 : 0));
        int axis = AXES[layout];
        int channels = (int) SHAPES[layout][axis];
        List<Batch> batches = batches(r, SHAPES[layout], axis, 1 + r.nextInt(30));
        long[] counts = new long[channels];
        BigDecimal[] sums = oracleSums(batches, axis, channels, errors, counts);
        String what = Arrays.toString(SHAPES[layout]) + " axis " + axis + (errors ? " errors" : " values") + ", "
            + partitions + " partitions";

        ChannelMeans onePass = addAll(ChannelMeans.empty("y", axis, channels), batches, errors);
        List<ChannelMeans> states = new ArrayList<>();
        for (List<Batch> part : ExactSumTest.split(batches, partitions, r)) {
          states.add(addAll(ChannelMeans.empty("y", axis, channels), part, errors));
        }
        ChannelMeans merged = ExactSumTest.mergeRandomTree(states, ChannelMeans::merge, r);
        assertArrayEquals(bytes(onePass), bytes(merged), what + ": canonical bytes");
        assertEquals(onePass, merged, what);
        double[] means = merged.means();
        for (int c = 0; c < channels; c++) {
          assertEquals(counts[c], merged.count(c), what + " channel " + c);
          assertEquals(0, sums[c].compareTo(merged.sum(c).toBigDecimal()), what + " channel " + c + ": exact sum");
          double expected = counts[c] == 0 ? Double.NaN : sums[c].doubleValue() / counts[c];
          assertEquals(expected, means[c], what + " channel " + c + ": mean");
        }
      }
    }
  }

  /** Errors rounded to float before summing (or summed in double) miss the exact mean the state gives. */
  @Test
  void errorsAreNotRoundedBeforeSumming() {
    float[] q = {1f, 1e30f, -1e30f};
    float[] ref = {1e-30f, 0f, 0f};
    ChannelMeans m = ChannelMeans.empty("y", 0, 1).addErrors(FloatBuffer.wrap(q), FloatBuffer.wrap(ref),
        new long[] {1, 3});
    // axis 0 of [1, 3]: one channel, a run of 3 values; 1 - 1e-30 rounds to 1 in float, then 1e30 swallows it
    BigDecimal exact = new BigDecimal(1f).subtract(new BigDecimal(1e-30f));
    assertEquals(0, exact.compareTo(m.sum(0).toBigDecimal()));
    assertEquals(exact.doubleValue() / 3, m.means()[0]);
    double plain = 0;
    for (int i = 0; i < 3; i++) {
      plain += q[i] - ref[i];
    }
    assertTrue(plain / 3 != m.means()[0], "plain summation gives " + plain / 3);
  }

  @Test
  void encodeDecodeRoundTrips() throws Exception {
    Random r = new Random(5);
    ChannelMeans m = addAll(ChannelMeans.empty("conv1/out", 1, 4), batches(r, new long[] {2, 4, 3, 3}, 1, 5), true);
    byte[] b = bytes(m);
    ChannelMeans back = read(b);
    assertEquals(m, back);
    assertArrayEquals(b, bytes(back));
    assertArrayEquals(m.means(), back.means());
    assertEquals("conv1/out", back.tensor());
    assertEquals(1, back.axis());
    ChannelMeans empty = read(bytes(ChannelMeans.empty("e", 0, 3)));
    assertTrue(Arrays.stream(empty.means()).allMatch(Double::isNaN));

    byte[] badCount = bytes(ChannelMeans.empty("e", 0, 1).add(new float[] {1f}, new long[] {1}));
    badCount[badCount.length - 10] = 0; // the count's last byte, before the 9-byte sum: 1 -> 0, sum still 1
    IOException e = assertThrows(IOException.class, () -> read(badCount));
    assertTrue(e.getMessage().contains("'e'"), e.getMessage());
  }

  @Test
  void badBatchesAreRefusedNamingTheTensorAndLeaveTheStateUnchanged() {
    ChannelMeans m = ChannelMeans.empty("fc/out", 1, 3).add(new float[] {1, 2, 3}, new long[] {1, 3});
    ChannelMeans before = m.copy();
    String[] messages = {
      assertThrows(IllegalArgumentException.class, () -> m.add(new float[] {1, 2, 3, 4}, new long[] {1, 4}))
          .getMessage(),
      assertThrows(IllegalArgumentException.class, () -> m.add(new float[] {1, 2, 3}, new long[] {2, 3}))
          .getMessage(),
      assertThrows(IllegalArgumentException.class, () -> m.add(new float[] {1, 2, 3}, new long[] {3})).getMessage(),
      assertThrows(IllegalArgumentException.class, () -> m.add(new float[] {1, 2, Float.NaN}, new long[] {1, 3}))
          .getMessage(),
      assertThrows(IllegalArgumentException.class, () -> m.addErrors(FloatBuffer.wrap(new float[] {1, 2, 3}),
          FloatBuffer.wrap(new float[] {1, Float.POSITIVE_INFINITY, 3}), new long[] {1, 3})).getMessage(),
      assertThrows(IllegalArgumentException.class, () -> m.addErrors(FloatBuffer.wrap(new float[] {1, 2, 3}),
          FloatBuffer.wrap(new float[] {1, 2}), new long[] {1, 3})).getMessage(),
      assertThrows(IllegalArgumentException.class, () -> m.merge(ChannelMeans.empty("fc/out", 1, 4))).getMessage(),
      assertThrows(IllegalArgumentException.class, () -> m.merge(ChannelMeans.empty("other", 1, 3))).getMessage(),
    };
    for (String msg : messages) {
      assertTrue(msg.contains("'fc/out'"), msg);
    }
    assertTrue(messages[3].contains("channel 2"), messages[3]);
    assertArrayEquals(bytes(before), bytes(m));
    assertArrayEquals(new double[] {1, 2, 3}, m.means());
  }
}
