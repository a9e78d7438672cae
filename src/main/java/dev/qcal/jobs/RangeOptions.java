package dev.qcal.jobs;

import dev.qcal.model.plan.PlanOptions;
import dev.qcal.model.prepare.ModelPreparer;
import dev.qcal.quant.QuantType;
import dev.qcal.quant.WeightSpec;
import java.util.Collection;

/**
 * How ranges and parameters are chosen from statistics; the same for {@code calibrate} and
 * {@code quantize}.
 *
 * @param method minmax, percentile, entropy or mse
 * @param percentile for the percentile method, in (0, 100]
 * @param activationType uint8, int8, uint16 or int16
 * @param symmetric symmetric activation ranges (zero point at mid-range)
 * @param reduceRange 7-bit activations (ONNX Runtime's reduce_range, for older x86 without VNNI)
 * @param powerOfTwoScales scales rounded up to powers of two (fixed-point accelerators)
 * @param weights weight type, per channel or per tensor, block size
 * @param configFile per-tensor overrides (JSON), or null
 * @param tensorRtVersion the version field of the TensorRT calibration cache header
 * @param plan which op types and nodes are quantized
 * @param report write {@code report.html} with the outputs ({@code --no-report}: not)
 */
public record RangeOptions(
    String method,
    double percentile,
    QuantType activationType,
    boolean symmetric,
    boolean reduceRange,
    boolean powerOfTwoScales,
    WeightSpec weights,
    String configFile,
    String tensorRtVersion,
    PlanOptions plan,
    boolean report) {

  /** With {@code report.html}. */
  public RangeOptions(String method, double percentile, QuantType activationType, boolean symmetric,
      boolean reduceRange, boolean powerOfTwoScales, WeightSpec weights, String configFile, String tensorRtVersion,
      PlanOptions plan) {
    this(method, percentile, activationType, symmetric, reduceRange, powerOfTwoScales, weights, configFile,
        tensorRtVersion, plan, true);
  }

  /** These options, writing report.html or not. */
  public RangeOptions withReport(boolean write) {
    return new RangeOptions(method, percentile, activationType, symmetric, reduceRange, powerOfTwoScales, weights,
        configFile, tensorRtVersion, plan, write);
  }

  /** ONNX Runtime's defaults: minmax, uint8 asymmetric activations, int8 weights. */
  public static RangeOptions defaults() {
    return new RangeOptions("minmax", 99.999, QuantType.UINT8, false, false, false, WeightSpec.defaults(), null,
        "8601", PlanOptions.defaults());
  }

  public QuantType weightType() {
    return weights.type();
  }

  /**
   * The opset to prepare the model to: {@value ModelPreparer#WIDE_TYPES_OPSET} when 16-bit activations
   * (here or among {@code overrideTypes}, the per-tensor config's dtypes) or 4-bit/blocked weights need
   * Q/DQ-21, else {@value ModelPreparer#TARGET_OPSET}.
   */
  public int preparedOpset(Collection<QuantType> overrideTypes) {
    return preparedOpsetOf(overrideTypes);
  }

  /** {@link #preparedOpset(Collection)} with the dtypes of the per-tensor config, read through {@code conf}. */
  public int preparedOpset(org.apache.hadoop.conf.Configuration conf) {
    return preparedOpsetOf(TensorOverrides.dtypes(configFile, conf));
  }

  private int preparedOpsetOf(Collection<QuantType> overrideTypes) {
    boolean wide = activationType.bits() == 16 || weights.needsOpset21()
        || overrideTypes.stream().anyMatch(t -> t.bits() == 16);
    return wide ? ModelPreparer.WIDE_TYPES_OPSET : ModelPreparer.TARGET_OPSET;
  }
}
