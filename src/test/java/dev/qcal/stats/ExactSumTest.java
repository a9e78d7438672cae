package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.BinaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Exact sums against a BigDecimal oracle: any split, summed in any order and merged in any order or
 * tree shape, gives the same bytes, the exact sum and its correctly rounded double.
 */
class ExactSumTest {

  /** Random finite doubles of every magnitude: subnormal, tiny, ordinary, huge, float or double, with cancellations. */
  static List<Double> mixedValues(Random r, int n) {
    List<Double> v = new ArrayList<>();
    while (v.size() < n) {
      double sign = r.nextBoolean() ? 1 : -1;
      switch (r.nextInt(9)) {
        case 0 -> v.add(r.nextGaussian());
        case 1 -> v.add(sign * Double.MIN_VALUE * (1 + r.nextInt(1 << 20)));
        case 2 -> v.add(sign * (double) (Float.MIN_VALUE * (1 + r.nextInt(1 << 10))));
        case 3 -> v.add(sign * Math.scalb(1 + r.nextDouble(), 900 + r.nextInt(100)));
        case 4 -> v.add(sign * Math.scalb(1 + r.nextDouble(), -1070 + r.nextInt(60)));
        case 5 -> {
          // cancellation: big + small - big
          double big = sign * Math.scalb(1 + r.nextDouble(), 60 + r.nextInt(900));
          v.add(big);
          v.add((double) (float) r.nextGaussian());
          v.add(-big);
        }
        case 6 -> {
          float f = Float.intBitsToFloat(r.nextInt());
          v.add(Float.isFinite(f) ? f : 0.0);
        }
        case 7 -> {
          double d = Double.longBitsToDouble(r.nextLong());
          v.add(Double.isFinite(d) && Math.abs(d) < 0x1p1000 ? d : -0.0);
        }
        default -> v.add(sign * (double) (float) (r.nextGaussian() * 1e-3));
      }
    }
    return v;
  }

  static BigDecimal oracle(List<Double> values) {
    BigDecimal s = BigDecimal.ZERO;
    for (double d : values) {
      s = s.add(new BigDecimal(d));
    }
    return s;
  }

  static byte[] bytes(ExactSum s) {
    return StateBytes.of(s::writeTo);
  }

  static ExactSum read(byte[] bytes) throws IOException {
    return StateBytes.read(bytes, ExactSum::readFrom);
  }

  static ExactSum roundTrip(ExactSum s) {
    try {
      return read(bytes(s));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Splits {@code values} at random into {@code k} parts (each element to a random part). */
  static <T> List<List<T>> split(List<T> values, int k, Random r) {
    List<List<T>> parts = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      parts.add(new ArrayList<>());
    }
    for (T v : values) {
      parts.get(r.nextInt(k)).add(v);
    }
    return parts;
  }

  /** Merges the states pairwise in a random order and tree shape until one is left. */
  static <T> T mergeRandomTree(List<T> states, BinaryOperator<T> merge, Random r) {
    List<T> s = new ArrayList<>(states);
    while (s.size() > 1) {
      int i = r.nextInt(s.size());
      int j = r.nextInt(s.size() - 1);
      j = j >= i ? j + 1 : j;
      T merged = merge.apply(s.get(i), s.get(j));
      s.set(i, merged);
      s.remove(j);
    }
    return s.get(0);
  }

  private static void assertSum(BigDecimal exact, ExactSum s, String what) {
    assertEquals(0, exact.compareTo(s.toBigDecimal()), what + ": exact sum");
    double expected = exact.doubleValue(); // the JDK rounds to nearest, ties to even
    assertEquals(Double.doubleToLongBits(expected == 0 ? 0.0 : expected), Double.doubleToLongBits(s.doubleValue()),
        what + ": rounded sum " + expected + " vs " + s.doubleValue());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3, 16})
  void anySplitOrderAndTreeGivesTheExactSumAndTheSameBytes(int partitions) {
    int naiveDiffers = 0;
    for (int trial = 0; trial < 20; trial++) {
      Random r = new Random(1000L * partitions + trial);
      List<Double> values = mixedValues(r, 1 + r.nextInt(600));
      BigDecimal exact = oracle(values);
      ExactSum onePass = ExactSum.empty();
      values.forEach(onePass::add);
      assertSum(exact, onePass, "one pass, trial " + trial);
      byte[] expectedBytes = bytes(onePass);

      List<ExactSum> states = new ArrayList<>();
      double naive = 0;
      for (List<Double> part : split(values, partitions, r)) {
        Collections.shuffle(part, r);
        ExactSum s = ExactSum.empty();
        double p = 0;
        for (double v : part) {
          s.add(v);
          p += v;
        }
        naive += p;
        states.add(s);
      }
      for (int i = 0; i < states.size(); i++) {
        if (r.nextBoolean()) {
          states.set(i, roundTrip(states.get(i))); // as if shipped as a state file: carries propagated
        }
      }
      ExactSum merged = mergeRandomTree(states, ExactSum::merge, r);
      String what = partitions + " partitions, trial " + trial;
      assertSum(exact, merged, what);
      assertArrayEquals(expectedBytes, bytes(merged), what + ": canonical bytes");
      assertEquals(onePass, merged, what);
      assertEquals(onePass.hashCode(), merged.hashCode(), what);
      if (Double.doubleToLongBits(naive) != Double.doubleToLongBits(exact.doubleValue())) {
        naiveDiffers++;
      }
    }
    // the data can tell: plain double summation misses the correctly rounded sum in most trials
    assertTrue(naiveDiffers >= 10, "plain double summation differed in only " + naiveDiffers + " of 20 trials");
  }

  @Test
  void cancellationAndRoundingCasesPlainSummationGetsWrong() {
    ExactSum s = ExactSum.empty().add(1e30).add(1).add(-1e30);
    assertEquals(1.0, s.doubleValue());
    assertNotEquals(1.0, 1e30 + 1 - 1e30);

    // 1 + 2^-53 is a tie and rounds to even (1); one more 2^-106 tips it up to 1 + 2^-52
    assertEquals(1.0, ExactSum.empty().add(1).add(0x1p-53).doubleValue());
    assertEquals(1 + 0x1p-52, ExactSum.empty().add(1).add(0x1p-53).add(0x1p-106).doubleValue());
    assertEquals(1.0, 1 + 0x1p-53 + 0x1p-106);
    // a tie above an odd significand rounds up (to even)
    assertEquals(1 + 0x1p-51, ExactSum.empty().add(1 + 0x1p-52).add(0x1p-53).doubleValue());
    // random exact ties, with and without a sticky bit below them, either sign, against the JDK's rounding
    Random r = new Random(11);
    for (int i = 0; i < 2000; i++) {
      double d = Math.scalb(1 + r.nextDouble(), -1000 + r.nextInt(2000)) * (r.nextBoolean() ? 1 : -1);
      double half = Math.copySign(Math.ulp(d) / 2, d);
      List<Double> tie = new ArrayList<>(List.of(d, half));
      if (r.nextBoolean()) {
        tie.add(Math.copySign(Math.scalb(Math.ulp(d), -30 - r.nextInt(20)), r.nextBoolean() ? d : -d));
      }
      ExactSum t = ExactSum.empty();
      tie.forEach(t::add);
      assertSum(oracle(tie), t, "tie " + tie);
    }

    // overflow in between is no problem; the final sum beyond MAX_VALUE rounds to infinity
    ExactSum big = ExactSum.empty().add(Double.MAX_VALUE).add(Double.MAX_VALUE);
    assertEquals(Double.POSITIVE_INFINITY, big.doubleValue());
    assertEquals(Double.MAX_VALUE, big.copy().add(-Double.MAX_VALUE).doubleValue());
    assertEquals(Double.NEGATIVE_INFINITY,
        ExactSum.empty().add(-Double.MAX_VALUE).add(-Double.MAX_VALUE).doubleValue());

    // subnormals add up exactly, across the subnormal/normal boundary
    ExactSum sub = ExactSum.empty();
    for (int i = 0; i < 3; i++) {
      sub.add(Double.MIN_NORMAL / 2);
    }
    sub.add(Double.MIN_VALUE);
    BigDecimal subExact = new BigDecimal(Double.MIN_NORMAL / 2).multiply(BigDecimal.valueOf(3));
    assertSum(subExact.add(new BigDecimal(Double.MIN_VALUE)), sub, "subnormals");
    assertEquals(0.0, ExactSum.empty().add(-0.0).add(Double.MIN_VALUE).add(-Double.MIN_VALUE).doubleValue());
    assertTrue(ExactSum.empty().add(5).add(-5).isZero());
  }

  @Test
  void singleValuesComeBackUnchanged() {
    Random r = new Random(7);
    for (double v : mixedValues(r, 5000)) {
      ExactSum s = ExactSum.empty().add(v);
      assertEquals(v == 0 ? 0.0 : v, s.doubleValue(), "value " + v);
      assertEquals(0, new BigDecimal(v).compareTo(s.toBigDecimal()), "value " + v);
    }
    assertEquals(Double.MAX_VALUE, ExactSum.empty().add(Double.MAX_VALUE).doubleValue());
    assertEquals(-Double.MIN_VALUE, ExactSum.empty().add(-Double.MIN_VALUE).doubleValue());
  }

  /** Carries propagated after every few additions or merges give the same state as rarely. */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 7})
  void carryPropagationScheduleDoesNotChangeTheState(int every) {
    Random r = new Random(every);
    List<Double> values = mixedValues(r, 3000);
    ExactSum rare = ExactSum.empty();
    values.forEach(rare::add);
    List<ExactSum> parts = new ArrayList<>();
    for (List<Double> part : split(values, 5, r)) {
      ExactSum s = new ExactSum(every);
      part.forEach(s::add);
      parts.add(s);
    }
    ExactSum often = mergeRandomTree(parts, ExactSum::merge, r);
    assertArrayEquals(bytes(rare), bytes(often));
    assertSum(oracle(values), often, "normalize every " + every);
  }

  @Test
  void encodeDecodeRoundTripsAndRefusesNonCanonicalBytes() throws Exception {
    Random r = new Random(3);
    for (int trial = 0; trial < 200; trial++) {
      List<Double> values = mixedValues(r, r.nextInt(50));
      ExactSum s = ExactSum.empty();
      values.forEach(s::add);
      byte[] b = bytes(s);
      ExactSum back = read(b);
      assertEquals(s, back);
      assertArrayEquals(b, bytes(back));
      assertSum(oracle(values), back, "decoded, trial " + trial);
      double more = r.nextGaussian();
      assertEquals(s.copy().add(more), back.add(more), "decoded state keeps adding");
    }
    assertEquals(1, bytes(ExactSum.empty()).length);
    assertEquals(1 + 2 + 2 + 4, bytes(ExactSum.empty().add(1e-300).add(-1e-300).add(Double.MIN_VALUE)).length);

    byte[] one = bytes(ExactSum.empty().add(1));
    byte[] leadingZero = {1, 0, 10, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1};
    assertThrows(IOException.class, () -> read(leadingZero));
    byte[] badSign = one.clone();
    badSign[0] = 2;
    assertThrows(IOException.class, () -> read(badSign));
    byte[] outOfRange = {1, 0, 66, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1};
    assertThrows(IOException.class, () -> read(outOfRange));
  }

  @Test
  void javaSerializationKeepsTheSum() throws Exception {
    ExactSum s = ExactSum.empty().add(1e30).add(3.5).add(-1e-310);
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(b)) {
      out.writeObject(s);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b.toByteArray()))) {
      assertEquals(s, in.readObject());
    }
  }

  @Test
  void nonFiniteValuesAreRefused() {
    ExactSum s = ExactSum.empty().add(2);
    for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.add(bad));
      assertTrue(e.getMessage().contains(Double.toString(bad)), e.getMessage());
    }
    assertEquals(2.0, s.doubleValue());
  }
}
