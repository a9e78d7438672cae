package dev.qcal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Merge laws and formulas of {@link OutputComparison} on hand-checked values. */
class OutputComparisonTest {
  private static final float[] REF = {1, 0, 0, 2, 3, 1};
  private static final float[] QUANT = {1, 0.5f, 1, 2, 3, 1};
  private static final long[] LABELS = {0, 0, 0};

  private static OutputComparison rows(int from, int to) {
    return OutputComparison.empty("p").add(Arrays.copyOfRange(REF, 2 * from, 2 * to),
        FloatBuffer.wrap(Arrays.copyOfRange(QUANT, 2 * from, 2 * to)), new long[] {to - from, 2},
        Arrays.copyOfRange(LABELS, from, to));
  }

  @Test
  void splitAnywhereEqualsSinglePassAndEmptyIsIdentity() {
    Map<String, Object> single = rows(0, 3).toJson(true);
    assertEquals(single, rows(0, 1).merge(rows(1, 3)).toJson(true));
    assertEquals(single, rows(1, 3).merge(OutputComparison.empty("p")).merge(rows(0, 1)).toJson(true));
    assertEquals(single, OutputComparison.empty("p").merge(rows(0, 2)).merge(rows(2, 3)).toJson(true));
  }

  @org.junit.jupiter.api.RepeatedTest(10)
  void randomSplitsAndOrdersGiveIdenticalFigures(org.junit.jupiter.api.RepetitionInfo info) {
    // seeded by the repetition, so a failure names a case that can be run again
    java.util.Random r = new java.util.Random(info.getCurrentRepetition());
    int rowsN = 50 + r.nextInt(200);
    int classes = 7;
    float[] ref = new float[rowsN * classes];
    float[] quant = new float[ref.length];
    for (int i = 0; i < ref.length; i++) {
      ref[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3));
      quant[i] = ref[i] + (float) (r.nextGaussian() * 1e-3);
    }
    Map<String, Object> single = OutputComparison.empty("p")
        .add(ref, FloatBuffer.wrap(quant), new long[] {rowsN, classes}, null).toJson(false);
    java.util.List<OutputComparison> parts = new java.util.ArrayList<>();
    for (int from = 0; from < rowsN; ) {
      int to = Math.min(rowsN, from + 1 + r.nextInt(20));
      parts.add(OutputComparison.empty("p").add(Arrays.copyOfRange(ref, from * classes, to * classes),
          FloatBuffer.wrap(Arrays.copyOfRange(quant, from * classes, to * classes)), new long[] {to - from, classes},
          null));
      from = to;
    }
    java.util.Collections.shuffle(parts, r);
    OutputComparison merged = OutputComparison.empty("p");
    for (OutputComparison c : parts) {
      merged = r.nextBoolean() ? merged.merge(c) : c.merge(merged);
    }
    assertEquals(single, merged.toJson(false), "exact for any split and merge order (seed " + info.getCurrentRepetition() + ")");
  }

  @Test
  void figures() {
    OutputComparison c = rows(0, 3);
    // signal 1+4+9+1 = 15, noise 0.25+1 = 1.25
    assertEquals(10 * Math.log10(15 / 1.25), c.sqnrDb(), 1e-12);
    assertEquals(1.0, (double) c.toJson(false).get("max_abs_error"));
    assertEquals(1.5 / 6, (double) c.toJson(false).get("mean_abs_error"), 1e-12);
    // row 0: 1,0 vs 1,0.5 agree; row 1: 0,2 vs 1,2 agree; row 2: 3,1 vs 3,1 agree
    assertEquals(1.0, c.agreement());
    @SuppressWarnings("unchecked")
    Map<String, Object> acc = (Map<String, Object>) c.toJson(true).get("accuracy");
    assertEquals(2.0 / 3, (double) acc.get("fp32"), 1e-12);
    assertNull(OutputComparison.empty("p").add(REF, FloatBuffer.wrap(REF), new long[] {6}, null).sqnrDb());
  }

  @Test
  void cosineAgreementAccuracyAndNonFiniteCountsByHand() {
    // ref rows (1,0) (0,2) (3,1) vs quant (1,0.5) (1,2) (3,1): dot 1+4+9+1 = 15, |ref|^2 = 15, |quant|^2 = 1.25+5+10
    OutputComparison c = rows(0, 3);
    assertEquals(15 / Math.sqrt(15 * 16.25), c.cosine(), 1e-12);
    assertEquals(15 / Math.sqrt(15 * 16.25), (double) c.toJson(false).get("cosine_similarity"), 1e-12);
    float[] ref = {1, 0, 0, 2, 3, 1};
    float[] quant = {0, 2, 0, 2, 3, Float.NaN};
    OutputComparison d = OutputComparison.empty("p").add(ref, FloatBuffer.wrap(quant), new long[] {3, 2},
        new long[] {1, -1, 0});
    Map<String, Object> j = d.toJson(true);
    // tops: FP32 rows 0,1,0; quantized 1,1,0 (NaN is never greater): agree on rows 1 and 2
    assertEquals(3L, j.get("rows"));
    assertEquals(2.0 / 3, (double) j.get("top1_agreement"), 1e-12);
    assertEquals(1L, j.get("non_finite_values"));
    assertEquals(5L, j.get("elements"));
    @SuppressWarnings("unchecked")
    Map<String, Object> acc = (Map<String, Object>) j.get("accuracy");
    // labelled rows 0 (label 1) and 2 (label 0): FP32 right on row 2 only, quantized on both
    assertEquals(2L, acc.get("labelled"));
    assertEquals(0.5, (double) acc.get("fp32"), 1e-12);
    assertEquals(1.0, (double) acc.get("quantized"), 1e-12);
    assertNull(d.toJson(false).get("accuracy"));
    // all-zero reference: no cosine
    assertNull(OutputComparison.empty("p").add(new float[2], FloatBuffer.wrap(new float[] {1, 1}), new long[] {2}, null)
        .cosine());
  }
}
