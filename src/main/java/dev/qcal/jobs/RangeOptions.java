package dev.qcal.jobs;

import dev.qcal.model.PlanOptions;
import dev.qcal.quant.QuantType;

/**
 * How ranges and parameters are chosen from statistics; the same for {@code calibrate} and
 * {@code quantize}.
 *
 * @param method minmax, percentile, entropy or mse
 * @param percentile for the percentile method, in (0, 100]
 * @param symmetric symmetric activation ranges (zero point at mid-range)
 * @param reduceRange 7-bit activations (ONNX Runtime's reduce_range, for older x86 without VNNI)
 * @param powerOfTwoScales scales rounded up to powers of two (fixed-point accelerators)
 * @param configFile per-tensor overrides (JSON), or null
 * @param tensorRtVersion the version field of the TensorRT calibration cache header
 * @param plan which op types and nodes are quantized
 */
public record RangeOptions(
    String method,
    double percentile,
    QuantType activationType,
    boolean symmetric,
    boolean reduceRange,
    boolean powerOfTwoScales,
    QuantType weightType,
    String configFile,
    String tensorRtVersion,
    PlanOptions plan) {

  /** ONNX Runtime's defaults: minmax, uint8 asymmetric activations, int8 weights. */
  public static RangeOptions defaults() {
    return new RangeOptions("minmax", 99.999, QuantType.UINT8, false, false, false, QuantType.INT8, null, "8601",
        PlanOptions.defaults());
  }
}
