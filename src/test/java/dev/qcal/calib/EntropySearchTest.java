package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The KL threshold search against a literal transcription of the TensorRT/ONNX Runtime procedure written here,
 * candidate by candidate: P the kept bins with the outliers added to the last one, Q the kept bins merged into L
 * levels and spread over P's non-empty bins, both normalized, zeros smoothed to eps = 1e-4 / total taken pro
 * rata from the non-zeros, KL(P || Q), the last minimum kept. Exact equality of the chosen bin count on many small
 * random histograms, so a change to any step (smoothing, spreading, grouping, the tie rule) shows.
 */
class EntropySearchTest {

  /** The oracle: the number of kept bins whose KL is minimal (the last one among equals). */
  static int oracle(double[] hist, int start, int levels, long total) {
    int n = hist.length;
    double eps = 1e-4 / total;
    double all = 0;
    for (double h : hist) {
      all += h;
    }
    int best = -1;
    double bestKl = Double.POSITIVE_INFINITY;
    for (int i = Math.max(1, start); i <= n; i++) {
      double[] p = new double[i];
      double outliers = 0;
      for (int j = 0; j < n; j++) {
        if (j < i) {
          p[j] = hist[j];
        } else {
          outliers += hist[j];
        }
      }
      p[i - 1] += outliers;
      // levels: bin j belongs to level floor(j * L / i), or to its own level when L >= i
      List<List<Integer>> members = new ArrayList<>();
      for (int j = 0; j < i; j++) {
        int level = levels >= i ? j : (int) Math.floor((double) j * levels / i);
        while (members.size() <= level) {
          members.add(new ArrayList<>());
        }
        members.get(level).add(j);
      }
      double[] q = new double[i];
      for (List<Integer> m : members) {
        double mass = 0;
        int nonEmpty = 0;
        for (int j : m) {
          mass += hist[j];
          nonEmpty += p[j] > 0 ? 1 : 0;
        }
        for (int j : m) {
          q[j] = p[j] > 0 ? mass / nonEmpty : 0;
        }
      }
      double qSum = 0;
      int pNonZero = 0;
      for (int j = 0; j < i; j++) {
        qSum += q[j];
        pNonZero += p[j] > 0 ? 1 : 0;
      }
      if (qSum <= 0 || (outliers > 0 && pNonZero == 1)) {
        continue;
      }
      double[] ps = smoothed(p, all, eps);
      double[] qs = smoothed(q, qSum, eps);
      double kl = 0;
      for (int j = 0; j < i; j++) {
        kl += ps[j] * Math.log(ps[j] / qs[j]);
      }
      if (kl <= bestKl) {
        bestKl = kl;
        best = i;
      }
    }
    return best;
  }

  /** {@code v / sum}, with each zero raised to eps and the non-zeros lowered pro rata to keep the sum 1. */
  private static double[] smoothed(double[] v, double sum, double eps) {
    int zeros = 0;
    for (double x : v) {
      zeros += x == 0 ? 1 : 0;
    }
    double[] s = new double[v.length];
    for (int j = 0; j < v.length; j++) {
      s[j] = v[j] == 0 ? eps : v[j] / sum * (1 - eps * zeros);
    }
    return s;
  }

  @Test
  void theChosenBinCountIsTheTranscriptionsOnRandomHistograms() {
    Random r = new Random(17);
    int differentFromLast = 0;
    for (int round = 0; round < 400; round++) {
      int n = 2 + r.nextInt(60);
      double[] hist = new double[n];
      long total = 0;
      for (int j = 0; j < n; j++) {
        // sparse, peaked and heavy-tailed shapes: many empty bins, a few large ones
        long c = r.nextInt(4) == 0 ? 0 : (long) Math.floor(Math.exp(r.nextGaussian() * 2) * (n - j));
        hist[j] = c;
        total += c;
      }
      if (total == 0) {
        hist[0] = 1;
        total = 1;
      }
      int levels = 1 << (1 + r.nextInt(4));
      int start = r.nextInt(Math.max(1, n / 2));
      int want = oracle(hist, start, levels, total);
      if (want < 0) {
        int s = start;
        long t = total;
        assertThrows(IllegalArgumentException.class, () -> EntropyCalibrator.search("t", hist.clone(), s, levels, t));
        continue;
      }
      assertEquals(want, EntropyCalibrator.search("t", hist.clone(), start, levels, total),
          "round " + round + " n " + n + " L " + levels + " start " + start);
      differentFromLast += want != n ? 1 : 0;
    }
    // the search is not trivially the widest candidate
    assertEquals(true, differentFromLast > 100, "candidates other than all bins chosen: " + differentFromLast);
  }

  @Test
  void klSmoothsEachDistributionsZerosByHand() {
    // P = (2, 0, 2), Q = (4, 0, 0), both of total 4, eps 0.01. P's one zero takes 0.01 from its non-zeros:
    // p = (0.495, 0.01, 0.495); Q's two zeros take 0.02: q = (0.98, 0.01, 0.01). The middle term is 0.01 ln 1 = 0.
    double want = 0.495 * Math.log(0.495 / 0.98) + 0.495 * Math.log(0.495 / 0.01);
    double[] p = {2, 0, 2, 7}; // the fourth bin lies beyond i = 3 and must be ignored
    double[] q = {4, 0, 0, 7};
    assertEquals(want, EntropyCalibrator.kl(p, q, 3, 4, 4, 0.01), 1e-12);
    // no zeros: plain KL of (1/4, 3/4) against (1/2, 1/2)
    assertEquals(0.25 * Math.log(0.5) + 0.75 * Math.log(1.5),
        EntropyCalibrator.kl(new double[] {1, 3}, new double[] {2, 2}, 2, 4, 4, 0.01), 1e-12);
    // a zero of P where Q has mass still counts: P = (0, 2), Q = (1, 1), eps 0.25: p = (0.25, 0.75),
    // q = (0.5, 0.5), KL = 0.25 ln 0.5 + 0.75 ln 1.5 (the first term is not the 0 of eps ln(eps / eps))
    assertEquals(0.25 * Math.log(0.5) + 0.75 * Math.log(1.5),
        EntropyCalibrator.kl(new double[] {0, 2}, new double[] {1, 1}, 2, 2, 2, 0.25), 1e-12);
  }

  @Test
  void noMassNoCandidate() {
    // every Q is empty, so every KL is +infinity (step 5): no threshold to choose
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EntropyCalibrator.search("tensor 'z'", new double[4], 1, 128, 1));
    assertEquals("tensor 'z': entropy found no candidate threshold with a finite KL divergence", e.getMessage());
  }
}
