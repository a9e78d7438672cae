package dev.qcal.cli;

import dev.qcal.calib.Calibrators;
import dev.qcal.jobs.RangeOptions;
import dev.qcal.quant.QuantType;
import dev.qcal.quant.WeightSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The range and scheme options shared by {@code calibrate} and {@code quantize}. */
public final class RangeOptionsMixin {
  @Option(names = "--method", defaultValue = "minmax",
      description = "Range method: minmax, percentile, entropy (KL, TensorRT-style) or mse (default: ${DEFAULT-VALUE}).")
  String method;

  @Option(names = "--percentile", defaultValue = "99.999", paramLabel = "P",
      description = "Percentile for --method percentile, in (0, 100] (default: ${DEFAULT-VALUE}).")
  double percentile;

  @Option(names = "--activation-type", defaultValue = "uint8",
      description = "uint8, int8, uint16 or int16 activations; 16-bit types give an opset-21 model (default: ${DEFAULT-VALUE}).")
  String activationType;

  @Option(names = "--weight-type", defaultValue = "int8",
      description = "int8, uint8, int4 or uint4 weights; 4-bit types apply to MatMul/Gemm/Gather weights (Conv keeps int8)"
          + " and give an opset-21 model (default: ${DEFAULT-VALUE}).")
  String weightType;

  @Option(names = "--per-channel", defaultValue = "true", arity = "0..1", paramLabel = "true|false",
      description = "One weight scale per output channel; --per-channel=false: one per tensor (default: ${DEFAULT-VALUE}).")
  boolean perChannel;

  @Option(names = "--weight-block-size", defaultValue = "0", paramLabel = "B",
      description = "MatMul/Gemm weights quantized in blocks of B along the reduction axis (a power of two >= 16;"
          + " 0 = none); gives an opset-21 model (default: ${DEFAULT-VALUE}).")
  int weightBlockSize;

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
      description = "Per-tensor overrides (JSON: method, percentile, dtype, symmetric, range); see README. A tensor"
          + " given a range has method \"fixed\" in qparams.json.")
  String configFile;

  @Option(names = "--trt-version", defaultValue = "8601",
      description = "Version field of the TensorRT calibration cache header (default: ${DEFAULT-VALUE}).")
  String tensorRtVersion;

  @Mixin PlanOptionsMixin plan;

  /** The options, checked; warnings (an op type with no rule) go to {@code err}. */
  RangeOptions toOptions(java.io.PrintWriter err) {
    if (!Calibrators.METHODS.contains(method)) {
      throw new UsageException("--method '" + method + "': expected one of " + String.join(", ", Calibrators.METHODS));
    }
    if (!(percentile > 0 && percentile <= 100)) {
      throw new UsageException("--percentile " + percentile + ": must be in (0, 100]");
    }
    QuantType act = type(activationType, QuantType.ACTIVATION_TYPES);
    if (act == null) {
      throw new UsageException("--activation-type must be " + QuantType.ids(QuantType.ACTIVATION_TYPES) + ", got "
          + activationType);
    }
    if (reduceRange && act.bits() != 8) {
      throw new UsageException("--reduce-range applies to 8-bit activations only, not --activation-type " + act.id());
    }
    QuantType wt = type(weightType, WeightSpec.TYPES);
    if (wt == null) {
      throw new UsageException("--weight-type '" + weightType + "': expected one of "
          + String.join(", ", WeightSpec.TYPES.stream().map(QuantType::id).toList()));
    }
    if (weightBlockSize != 0
        && (weightBlockSize < WeightSpec.MIN_BLOCK_SIZE || Integer.bitCount(weightBlockSize) != 1)) {
      throw new UsageException("--weight-block-size " + weightBlockSize + ": expected 0 (none) or a power of two >= "
          + WeightSpec.MIN_BLOCK_SIZE + " (ONNX Runtime's blocked MatMul needs one)");
    }
    if (!tensorRtVersion.matches("[0-9]+")) {
      throw new UsageException("--trt-version '" + tensorRtVersion + "': expected digits, e.g. 8601");
    }
    return new RangeOptions(method, percentile, act, symmetric, reduceRange, powerOfTwoScales,
        new WeightSpec(wt, perChannel, weightBlockSize), configFile, tensorRtVersion, plan.toOptions(err));
  }

  /** The type of {@code id} (any case) among {@code allowed}, else null. */
  private static QuantType type(String id, java.util.List<QuantType> allowed) {
    return allowed.stream().filter(t -> t.id().equalsIgnoreCase(id)).findFirst().orElse(null);
  }
}
