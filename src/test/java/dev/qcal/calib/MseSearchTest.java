package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The MSE calibrator's coarse-then-refine search against a transcription of its description, on synthetic error
 * curves: exact equality of the chosen candidate, so a change to the grid, the local minima, their ranking, the
 * refined brackets or the tie rule shows.
 */
class MseSearchTest {

  /**
   * The oracle, written from the class comment: the coarse grid is every s-th candidate, s = ceil(K / 256), plus
   * the last; a coarse point is a local minimum when no coarse neighbour is lower; the REFINE = 4 lowest minima
   * (the leftmost first among equals) have every candidate strictly between their coarse neighbours evaluated (up
   * to the ends for the first and last point); the answer is the last candidate with the smallest evaluated error.
   */
  static int oracle(double[] e) {
    int k = e.length;
    int s = (int) Math.ceil(k / 256.0);
    List<Integer> grid = new ArrayList<>();
    for (int j = 0; j < k; j += s) {
      grid.add(j);
    }
    if (!grid.contains(k - 1)) {
      grid.add(k - 1);
    }
    TreeSet<Integer> evaluated = new TreeSet<>(grid);
    List<Integer> minima = new ArrayList<>();
    for (int m = 0; m < grid.size(); m++) {
      double here = e[grid.get(m)];
      boolean lowerLeft = m > 0 && e[grid.get(m - 1)] < here;
      boolean lowerRight = m < grid.size() - 1 && e[grid.get(m + 1)] < here;
      if (!lowerLeft && !lowerRight) {
        minima.add(m);
      }
    }
    minima.sort(Comparator.comparingDouble((Integer m) -> e[grid.get(m)]).thenComparingInt(m -> m));
    for (int m : minima.subList(0, Math.min(4, minima.size()))) {
      int lo = m == 0 ? -1 : grid.get(m - 1);
      int hi = m == grid.size() - 1 ? k : grid.get(m + 1);
      for (int j = lo + 1; j < hi; j++) {
        evaluated.add(j);
      }
    }
    int best = -1;
    for (int j : evaluated) {
      if (best < 0 || e[j] <= e[best]) {
        best = j;
      }
    }
    return best;
  }

  /**
   * Random curves: noisy valleys and plateaus (many local minima and ties), half with a one-candidate dip, from 1 to
   * 3000 candidates.
   */
  @Test
  void theChosenCandidateIsTheTranscriptionsOnRandomCurves() {
    Random r = new Random(23);
    int notTheGlobalMinimum = 0;
    for (int round = 0; round < 3000; round++) {
      int k = 1 + r.nextInt(round < 1000 ? 40 : 3000);
      double[] e = new double[k];
      int valleys = 1 + r.nextInt(8);
      double[] centre = new double[valleys];
      double[] depth = new double[valleys];
      for (int v = 0; v < valleys; v++) {
        centre[v] = r.nextInt(k);
        depth[v] = r.nextInt(6);
      }
      int levels = 2 + r.nextInt(12); // coarse quantization of the values: ties
      for (int j = 0; j < k; j++) {
        double y = 20;
        for (int v = 0; v < valleys; v++) {
          double d = (j - centre[v]) / Math.max(1, k / (2.0 + r.nextInt(20)));
          y = Math.min(y, 10 - depth[v] + d * d);
        }
        y += r.nextInt(3) == 0 ? r.nextDouble() * 3 : 0;
        e[j] = Math.floor(y * levels / 4);
      }
      if (r.nextBoolean()) {
        e[r.nextInt(k)] = -1; // a narrow valley, found only if it is a coarse point or inside a refined bracket
      }
      int[] calls = new int[k];
      int got = MseCalibrator.search(k, j -> {
        calls[j]++;
        return e[j];
      });
      assertEquals(oracle(e), got, "round " + round + " k " + k);
      for (int j = 0; j < k; j++) {
        assertTrue(calls[j] <= 1, "round " + round + ": candidate " + j + " evaluated " + calls[j] + " times");
      }
      double min = Double.POSITIVE_INFINITY;
      for (double v : e) {
        min = Math.min(min, v);
      }
      notTheGlobalMinimum += e[got] > min ? 1 : 0;
    }
    // the refinement is not exhaustive: some curves hide their minimum between coarse points
    assertTrue(notTheGlobalMinimum > 10, "searches that missed the global minimum: " + notTheGlobalMinimum);
  }
}
