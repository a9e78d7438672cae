package dev.qcal.stats;

import java.io.Serializable;
import java.math.BigDecimal;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How one model output of a quantized model differs from the FP32 model's: sums of squares, of the
 * product and of absolute errors, the largest absolute error, and for 2-D {@code [N, classes]}
 * outputs the rows whose top-1 class agrees and, for labelled rows, the correct top-1 of each model.
 *
 * <p>Merge contract: {@link #merge} is associative and commutative, exactly: each sample's sums are
 * taken in double in the sample's own element order (so they do not depend on batching), and those
 * per-sample sums are added in {@link BigDecimal}, which is exact; counts and the maximum are exact
 * too. So the figures are identical for any partitioning and batch size. {@link #empty} is the
 * identity; both sides must describe the same tensor.
 */
public final class OutputComparison implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String tensor;
  private long elements;
  private BigDecimal refSquares = BigDecimal.ZERO;
  private BigDecimal quantSquares = BigDecimal.ZERO;
  private BigDecimal products = BigDecimal.ZERO;
  private BigDecimal errorSquares = BigDecimal.ZERO;
  private BigDecimal absErrors = BigDecimal.ZERO;
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
    int samples = shape.length == 0 || shape[0] <= 0 ? 1 : (int) shape[0];
    int per = n / samples;
    for (int sample = 0; sample < samples; sample++) {
      double rr = 0;
      double qq = 0;
      double rq = 0;
      double dd = 0;
      double ad = 0;
      for (int i = sample * per, end = i + per; i < end; i++) {
        double r = ref[i];
        double q = quant.get(base + i);
        if (!Double.isFinite(r) || !Double.isFinite(q)) {
          nonFinite++;
          continue;
        }
        double d = q - r;
        elements++;
        rr += r * r;
        qq += q * q;
        rq += r * q;
        dd += d * d;
        ad += Math.abs(d);
        maxAbsError = Math.max(maxAbsError, Math.abs(d));
      }
      refSquares = refSquares.add(new BigDecimal(rr));
      quantSquares = quantSquares.add(new BigDecimal(qq));
      products = products.add(new BigDecimal(rq));
      errorSquares = errorSquares.add(new BigDecimal(dd));
      absErrors = absErrors.add(new BigDecimal(ad));
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
    refSquares = refSquares.add(other.refSquares);
    quantSquares = quantSquares.add(other.quantSquares);
    products = products.add(other.products);
    errorSquares = errorSquares.add(other.errorSquares);
    absErrors = absErrors.add(other.absErrors);
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
    return errorSquares.signum() == 0 ? null
        : 10 * Math.log10(refSquares.doubleValue() / errorSquares.doubleValue());
  }

  /** Cosine similarity of the flattened outputs; null when either is all zeros. */
  public Double cosine() {
    double norms = Math.sqrt(refSquares.doubleValue()) * Math.sqrt(quantSquares.doubleValue());
    return norms == 0 ? null : products.doubleValue() / norms;
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
    m.put("mean_abs_error", elements == 0 ? null : absErrors.doubleValue() / elements);
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
    return tensor + "[elements=" + elements + ", errorSquares=" + errorSquares + ", rows=" + rows
        + ", agreeing=" + agreeing + "]";
  }
}
