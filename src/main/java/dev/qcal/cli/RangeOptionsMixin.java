package dev.qcal.cli;

import dev.qcal.jobs.RangeOptions;
import dev.qcal.quant.QuantType;
import java.util.Set;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The range and scheme options shared by {@code calibrate} and {@code quantize}. */
public final class RangeOptionsMixin {
  static final Set<String> METHODS = Set.of("minmax", "percentile", "entropy", "mse");

  @Option(names = "--method", defaultValue = "minmax",
      description = "Range method: minmax, percentile, entropy (KL, TensorRT-style) or mse (default: ${DEFAULT-VALUE}).")
  String method;

  @Option(names = "--percentile", defaultValue = "99.999", paramLabel = "P",
      description = "Percentile for --method percentile, in (0, 100] (default: ${DEFAULT-VALUE}).")
  double percentile;

  @Option(names = "--activation-type", defaultValue = "uint8",
      description = "uint8 or int8 activations (default: ${DEFAULT-VALUE}).")
  String activationType;

  @Option(names = "--symmetric-activations", defaultValue = "false",
      description = "Symmetric activation ranges (default: ${DEFAULT-VALUE}).")
  boolean symmetric;

  @Option(names = "--reduce-range", defaultValue = "false",
      description = "7-bit activation ranges, ONNX Runtime's reduce_range (default: ${DEFAULT-VALUE}).")
  boolean reduceRange;

  @Option(names = "--power-of-two-scales", defaultValue = "false",
      description = "Round activation scales up to powers of two, for fixed-point accelerators (default: ${DEFAULT-VALUE}).")
  boolean powerOfTwoScales;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Per-tensor overrides (JSON: method, percentile, dtype, symmetric, range); see README.")
  String configFile;

  @Option(names = "--trt-version", defaultValue = "8601",
      description = "Version field of the TensorRT calibration cache header (default: ${DEFAULT-VALUE}).")
  String tensorRtVersion;

  @Mixin PlanOptionsMixin plan;

  RangeOptions toOptions() {
    if (!METHODS.contains(method)) {
      throw new UsageException("--method '" + method + "': expected one of minmax, percentile, entropy, mse");
    }
    if (!(percentile > 0 && percentile <= 100)) {
      throw new UsageException("--percentile " + percentile + ": must be in (0, 100]");
    }
    QuantType act;
    try {
      act = QuantType.fromId(activationType);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--activation-type: " + e.getMessage());
    }
    if (act != QuantType.UINT8 && act != QuantType.INT8) {
      throw new UsageException("--activation-type must be uint8 or int8, got " + activationType);
    }
    if (!tensorRtVersion.matches("[0-9]+")) {
      throw new UsageException("--trt-version '" + tensorRtVersion + "': expected digits, e.g. 8601");
    }
    return new RangeOptions(method, percentile, act, symmetric, reduceRange, powerOfTwoScales, QuantType.INT8,
        configFile, tensorRtVersion, plan.toOptions());
  }
}
