package dev.qcal.calib;

/**
 * The real range a calibrator chose for one tensor or channel, before scale and zero-point rounding
 * ({@code range_min}/{@code range_max} in qparams.json). Finite, {@code min <= max}; it need not
 * contain zero ({@link dev.qcal.quant.LinearQuant} widens it to include zero).
 */
public record Range(float min, float max) {

  public Range {
    if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
      throw new IllegalArgumentException("a range must be finite with min <= max, got [" + min + ", " + max + "]");
    }
  }

  /**
   * The range {@code (max(lo, -t), min(hi, t))} of a threshold {@code t >= 0} on |x| clamped to the
   * observed {@code [lo, hi]}. Never empty when {@code t} is at least the smallest observed |x|
   * (0 for mixed signs, {@code lo} for positive data, {@code -hi} for negative data).
   */
  static Range clamped(double t, float lo, float hi) {
    float ft = (float) t;
    return new Range(Math.max(lo, -ft), Math.min(hi, ft));
  }

  /** {@code (-t, t)}. */
  static Range symmetric(double t) {
    float ft = (float) t;
    return new Range(-ft, ft);
  }
}
