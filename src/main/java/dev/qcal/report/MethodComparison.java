package dev.qcal.report;

import dev.qcal.calib.Calibrators;
import dev.qcal.calib.ErrorEstimate;
import dev.qcal.calib.Range;
import dev.qcal.io.QParamsFile;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.stats.TensorStats;
import java.util.ArrayList;
import java.util.List;

/**
 * The per-method comparison of one activation: the range each of {@link Calibrators#METHODS} would
 * choose from its statistics, under the run's range options, with the SQNR estimated for it, and the
 * grid {@code [gridMin, gridMax]} the entry's own scale and zero point represent (NaN when they are
 * not per-tensor or the dtype is unknown; {@code typeError} then says why).
 */
record MethodComparison(QuantType type, String typeError, double gridMin, double gridMax,
    ReportData.Settings settings) {

  static MethodComparison of(QParamsFile.Stored a, ReportData.Settings s) {
    QuantType type;
    try {
      type = QuantType.fromId(a.dtype());
    } catch (IllegalArgumentException e) {
      return new MethodComparison(null, e.getMessage(), Double.NaN, Double.NaN, s);
    }
    float[] scale = a.scale();
    long[] zp = a.zeroPoint();
    if (scale.length != 1 || zp.length != 1) {
      return new MethodComparison(type, null, Double.NaN, Double.NaN, s);
    }
    long[] q = LinearQuant.qrange(type, s.symmetric() && zp[0] == symmetricZeroPoint(type, s), reduced(type, s));
    return new MethodComparison(type, null, (double) scale[0] * (q[0] - zp[0]), (double) scale[0] * (q[1] - zp[0]),
        s);
  }

  /** Every method's range for tensor {@code name}; none when the dtype is unknown or nothing was observed. */
  List<ReportData.MethodRange> ranges(String name, TensorStats t) {
    List<ReportData.MethodRange> methods = new ArrayList<>();
    if (type != null && t.count() > 0) {
      for (String m : Calibrators.METHODS) {
        methods.add(range(name, m, t));
      }
    }
    return methods;
  }

  private ReportData.MethodRange range(String name, String method, TensorStats t) {
    ReportData.Settings s = settings;
    try {
      Range r = Calibrators.of(method, s.percentile()).range(name, t, type, s.symmetric());
      Double sqnr = null;
      if (t.histogram() != null && t.histogram().total() > 0) {
        QuantParams p = LinearQuant.forRange(r.min(), r.max(), type, s.symmetric(), s.reduceRange(),
            s.powerOfTwoScales());
        sqnr = ErrorEstimate.of(t.histogram(), p).sqnrDb();
      }
      return new ReportData.MethodRange(method, r, sqnr, null);
    } catch (IllegalArgumentException e) {
      return new ReportData.MethodRange(method, null, null, e.getMessage());
    }
  }

  /** Whether the run's reduce-range option narrows {@code type} (8-bit types only). */
  private static boolean reduced(QuantType type, ReportData.Settings s) {
    return s.reduceRange() && (type == QuantType.UINT8 || type == QuantType.INT8);
  }

  /** The zero point a symmetric range gets for {@code type} under {@code s}. */
  private static long symmetricZeroPoint(QuantType type, ReportData.Settings s) {
    long[] q = LinearQuant.qrange(type, true, reduced(type, s));
    return (long) Math.rint((q[0] + q[1]) / 2.0);
  }
}
