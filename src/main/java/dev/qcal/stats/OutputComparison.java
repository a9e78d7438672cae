package dev.qcal.stats;

import java.io.Serializable;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How one model output of a quantized model differs from the FP32 model's: sums of squares, of the
 * product and of absolute errors, the largest absolute error, and for 2-D {@code [N, classes]}
 * outputs the rows whose top-1 class agrees and, for labelled rows, the correct top-1 of each model.
 *
 * <p>Merge contract: {@link #merge} is associative and commutative up to floating-point rounding of
 * the double sums (counts and the maximum are exact); {@link #empty} is its identity; both sides must
 * describe the same tensor.
 */
public final class OutputComparison implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String tensor;
  private long elements;
  private double refSquares;
  private double quantSquares;
  private double products;
  private double errorSquares;
  private double absErrors;
  private double maxAbsError;
  private long nonFinite;
  private long rows;
  private long agreeing;
  private long labelled;
  private long refCorrect;
  private long quantCorrect;

  private OutputComparison(String tensor) {
    this.tensor = tensor;
  }

  public static OutputComparison empty(String tensor) {
    return new OutputComparison(tensor);
  }

  public String tensor() {
    return tensor;
  }

  /**
   * Adds one batch: {@code ref} the FP32 values, {@code quant} the quantized model's, both of
   * {@code shape}; {@code labels} null, or the class id of each row of a 2-D output (-1: unknown).
   */
  public OutputComparison add(float[] ref, FloatBuffer quant, long[] shape, long[] labels) {
    int n = ref.length;
    if (quant.remaining() != n) {
      throw new IllegalArgumentException("Cannot compare " + tensor + ": " + n + " FP32 values but "
          + quant.remaining() + " quantized");
    }
    int base = quant.position();
    for (int i = 0; i < n; i++) {
      double r = ref[i];
      double q = quant.get(base + i);
      if (!Double.isFinite(r) || !Double.isFinite(q)) {
        nonFinite++;
        continue;
      }
      double d = q - r;
      elements++;
      refSquares += r * r;
      quantSquares += q * q;
      products += r * q;
      errorSquares += d * d;
      absErrors += Math.abs(d);
      maxAbsError = Math.max(maxAbsError, Math.abs(d));
    }
    if (shape.length == 2 && shape[1] > 0) {
      int classes = (int) shape[1];
      int batch = (int) shape[0];
      for (int row = 0; row < batch; row++) {
        int rTop = argmax(ref, row * classes, classes);
        int qTop = argmax(quant, base + row * classes, classes);
        rows++;
        if (rTop == qTop) {
          agreeing++;
        }
        if (labels != null && labels[row] >= 0) {
          labelled++;
          if (rTop == labels[row]) {
            refCorrect++;
          }
          if (qTop == labels[row]) {
            quantCorrect++;
          }
        }
      }
    }
    return this;
  }

  private static int argmax(float[] v, int from, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
      if (v[from + i] > v[from + best]) {
        best = i;
      }
    }
    return best;
  }

  private static int argmax(FloatBuffer v, int from, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
      if (v.get(from + i) > v.get(from + best)) {
        best = i;
      }
    }
    return best;
  }

  /** Adds {@code other} into this (see the merge contract above) and returns this. */
  public OutputComparison merge(OutputComparison other) {
    if (!tensor.equals(other.tensor)) {
      throw new IllegalArgumentException("Cannot merge comparisons of " + tensor + " and " + other.tensor);
    }
    elements += other.elements;
    refSquares += other.refSquares;
    quantSquares += other.quantSquares;
    products += other.products;
    errorSquares += other.errorSquares;
    absErrors += other.absErrors;
    maxAbsError = Math.max(maxAbsError, other.maxAbsError);
    nonFinite += other.nonFinite;
    rows += other.rows;
    agreeing += other.agreeing;
    labelled += other.labelled;
    refCorrect += other.refCorrect;
    quantCorrect += other.quantCorrect;
    return this;
  }

  /** SQNR in dB, {@code 10 log10(sum ref^2 / sum (quant - ref)^2)}; null when the error is zero (infinite). */
  public Double sqnrDb() {
    return errorSquares == 0 ? null : 10 * Math.log10(refSquares / errorSquares);
  }

  /** Cosine similarity of the flattened outputs; null when either is all zeros. */
  public Double cosine() {
    double norms = Math.sqrt(refSquares) * Math.sqrt(quantSquares);
    return norms == 0 ? null : products / norms;
  }

  /** Top-1 agreement over the rows of a 2-D output; null for other outputs. */
  public Double agreement() {
    return rows == 0 ? null : (double) agreeing / rows;
  }

  public long elements() {
    return elements;
  }

  /** The figures as written in {@code eval.json} (infinite or undefined values are null). */
  public Map<String, Object> toJson(boolean withLabels) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("elements", elements);
    m.put("non_finite_values", nonFinite);
    m.put("sqnr_db", sqnrDb());
    m.put("cosine_similarity", cosine());
    m.put("max_abs_error", maxAbsError);
    m.put("mean_abs_error", elements == 0 ? null : absErrors / elements);
    m.put("rows", rows);
    m.put("top1_agreement", agreement());
    if (withLabels && rows > 0) {
      Map<String, Object> acc = new LinkedHashMap<>();
      acc.put("labelled", labelled);
      acc.put("fp32", labelled == 0 ? null : (double) refCorrect / labelled);
      acc.put("quantized", labelled == 0 ? null : (double) quantCorrect / labelled);
      m.put("accuracy", acc);
    }
    return m;
  }

  @Override
  public String toString() {
    return tensor + Arrays.toString(new double[] {elements, errorSquares, rows, agreeing});
  }
}
