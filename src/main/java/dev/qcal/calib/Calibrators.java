package dev.qcal.calib;

import java.util.List;

/** The range methods by name. */
public final class Calibrators {
  /** Valid method names, as on the command line. */
  public static final List<String> METHODS = List.of("minmax", "percentile", "entropy", "mse");

  private Calibrators() {}

  /**
   * The calibrator for {@code method}; {@code percentile} is used (and checked) by "percentile" only.
   *
   * @throws IllegalArgumentException for an unknown method, listing the valid ones, or a percentile
   *     outside (0, 100]
   */
  public static Calibrator of(String method, double percentile) {
    return switch (method == null ? "" : method) {
      case "minmax" -> new MinMaxCalibrator();
      case "percentile" -> new PercentileCalibrator(percentile);
      case "entropy" -> new EntropyCalibrator();
      case "mse" -> new MseCalibrator();
      default -> throw new IllegalArgumentException(
          "Unknown calibration method '" + method + "': expected one of " + String.join(", ", METHODS));
    };
  }
}
