package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link HessianSum} against sums computed independently with exact decimal arithmetic: the rounded
 * fixed-point integers, and the true sum within the stated bound; its merge over partitions, its codec and
 * its refusals.
 */
class HessianSumTest {
  private static final int K = 7;

  /** Correlated rows: a few random factors mixed into K values, with a wide spread of magnitudes. */
  private static float[][] rows(int n, long seed) {
    Random r = new Random(seed);
    float[][] x = new float[n][K];
    for (int i = 0; i < n; i++) {
      double f = r.nextGaussian();
      double g = r.nextGaussian();
      for (int j = 0; j < K; j++) {
        x[i][j] = (float) ((f * (j + 1) + 0.3 * g - 0.1 * j * r.nextGaussian()) * Math.pow(10, (j % 3) - 1));
      }
    }
    return x;
  }

  private static double maxAbs(float[][] x) {
    double m = 0;
    for (float[] row : x) {
      for (float v : row) {
        m = Math.max(m, Math.abs(v));
      }
    }
    return m;
  }

  private static HessianSum sum(List<float[]> rows, double maxAbs) {
    HessianSum h = HessianSum.empty("x", K, maxAbs);
    for (float[] row : rows) {
      h.add(row, new long[] {1, K});
    }
    return h;
  }

  @Test
  void theIntegersAreTheRoundedScaledProductsSummedAndTheMatrixIsWithinTheBoundOfTheTrueSum() {
    float[][] x = rows(500, 1);
    double max = maxAbs(x);
    HessianSum h = HessianSum.empty("x", K, max);
    float[] flat = new float[x.length * K];
    for (int i = 0; i < x.length; i++) {
      System.arraycopy(x[i], 0, flat, i * K, K);
    }
    h.add(flat, new long[] {10, x.length / 10, K});
    int e = h.exponent();
    assertEquals(Math.getExponent(max) + 2, h.boundExponent());
    assertEquals(62 - 2 * h.boundExponent(), e);
    assertEquals(500, h.rows());
    double[][] m = h.matrix();
    BigDecimal scale = new BigDecimal(BigInteger.TWO.pow(Math.abs(e)));
    for (int i = 0; i < K; i++) {
      for (int j = 0; j < K; j++) {
        BigInteger rounded = BigInteger.ZERO;
        BigDecimal exact = BigDecimal.ZERO;
        for (float[] row : x) {
          BigDecimal p = new BigDecimal(row[i]).multiply(new BigDecimal(row[j]));
          exact = exact.add(p);
          BigDecimal scaled = e >= 0 ? p.multiply(scale) : p.divide(scale);
          rounded = rounded.add(scaled.setScale(0, RoundingMode.HALF_EVEN).toBigIntegerExact());
        }
        assertEquals(rounded, h.integer(i, j), "integer sum of entry " + i + "," + j);
        double err = Math.abs(exact.subtract(new BigDecimal(m[i][j])).doubleValue());
        assertTrue(err <= h.errorBound() + Math.ulp(m[i][j]), "entry " + i + "," + j + ": " + err + " > bound "
            + h.errorBound());
        assertEquals(m[i][j], m[j][i]);
      }
    }
  }

  @Test
  void mergedOverOneThreeAndSixteenPartitionsInAnyOrderTheStateIsBitwiseIdentical() {
    float[][] x = rows(400, 2);
    double max = maxAbs(x);
    List<float[]> all = new ArrayList<>(List.of(x));
    HessianSum one = sum(all, max);
    byte[] bytes = StateBytes.of(one::writeTo);
    for (int parts : new int[] {3, 16}) {
      for (long seed = 0; seed < 3; seed++) {
        List<float[]> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new Random(seed));
        List<HessianSum> partial = new ArrayList<>();
        for (int p = 0; p < parts; p++) {
          int from = p * shuffled.size() / parts;
          int to = (p + 1) * shuffled.size() / parts;
          partial.add(sum(shuffled.subList(from, to), max));
        }
        Collections.shuffle(partial, new Random(seed + 10));
        HessianSum merged = HessianSum.empty("x", K, max);
        for (HessianSum s : partial) {
          merged.merge(s);
        }
        assertEquals(one, merged, parts + " partitions, seed " + seed);
        assertArrayEquals(bytes, StateBytes.of(merged::writeTo));
      }
    }
  }

  @Test
  void sumsPastSixtyFourBitsCarryIntoTheHighWord() {
    HessianSum h = HessianSum.empty("x", K, 1.0); // bound 2^2, each product of bound values is 2^62
    float[] big = new float[K];
    java.util.Arrays.fill(big, 4f);
    big[1] = -4f;
    for (int r = 0; r < 37; r++) {
      h.add(big, new long[] {K});
    }
    HessianSum other = HessianSum.empty("x", K, 1.0);
    other.add(big, new long[] {K});
    h.merge(other);
    assertEquals(BigInteger.TWO.pow(62).multiply(BigInteger.valueOf(38)), h.integer(0, 0));
    assertEquals(BigInteger.TWO.pow(62).multiply(BigInteger.valueOf(-38)), h.integer(0, 1));
    assertEquals(38 * 16.0, h.matrix()[2][3]);
    assertEquals(-38 * 16.0, h.matrix()[1][2]);
  }

  @Test
  void theCodecRoundTripsAndRefusesABadWidth() throws IOException {
    float[][] x = rows(50, 3);
    HessianSum h = sum(List.of(x), maxAbs(x));
    byte[] bytes = StateBytes.of(h::writeTo);
    HessianSum back = StateBytes.read(bytes, HessianSum::readFrom);
    assertEquals(h, back);
    assertEquals(h.hashCode(), back.hashCode());
    assertArrayEquals(bytes, StateBytes.of(back::writeTo));
    bytes[4] = 0x7f; // K's first byte (after the 2-byte UTF length and "x"): past MAX_K
    assertThrows(IOException.class, () -> StateBytes.read(bytes, HessianSum::readFrom));
  }

  @Test
  void nonFiniteValuesValuesAboveTheBoundAndBadShapesAreRefusedLeavingTheStateUnchanged() {
    HessianSum h = HessianSum.empty("act", K, 3.0); // bound 2^3
    float[] ok = new float[K];
    ok[0] = 8f; // at the bound: accepted
    h.add(ok, new long[] {1, K});
    HessianSum before = h.copy();
    float[] nan = new float[K];
    nan[2] = Float.NaN;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.add(nan, new long[] {K}));
    assertTrue(e.getMessage().contains("tensor 'act'") && e.getMessage().contains("NaN"), e.getMessage());
    float[] above = new float[K];
    above[3] = -8.001f;
    e = assertThrows(IllegalArgumentException.class, () -> h.add(above, new long[] {K}));
    assertTrue(e.getMessage().contains("-8.001") && e.getMessage().contains("2^3"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> h.add(new float[K + 1], new long[] {K + 1}));
    assertThrows(IllegalArgumentException.class, () -> h.add(new float[K], new long[] {K, 1}));
    assertEquals(before, h);
    assertThrows(IllegalArgumentException.class, () -> HessianSum.empty("act", K, Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> h.merge(HessianSum.empty("act", K, 100.0)));
  }
}
