package dev.qcal.cli;

import dev.qcal.jobs.Algorithms;
import picocli.CommandLine.Option;

/** calibrate's options for what it does beyond range setting: SmoothQuant, bias correction, GPTQ. */
public final class AlgorithmOptionsMixin {
  @Option(names = "--smooth-quant",
      description = {"SmoothQuant: move activation outliers into the weights of each MatMul/Gemm (per input channel",
          "of its activation's last axis), from one extra pass over the data; then calibrate the smoothed model."})
  boolean smoothQuant;

  @Option(names = "--smooth-alpha", paramLabel = "A",
      description = "SmoothQuant's migration strength in [0, 1] (default: 0.5; needs --smooth-quant).")
  Double smoothAlpha;

  @Option(names = "--bias-correction",
      description = {"Fold each quantized Conv/Gemm/MatMul's mean output error (over the calibration data, one extra",
          "pass) into its bias."})
  boolean biasCorrection;

  @Option(names = "--weight-algorithm", defaultValue = Algorithms.RTN, paramLabel = "rtn|gptq",
      description = {"How MatMul/Gemm weights are rounded: rtn (to nearest) or gptq (GPTQ on each layer's input",
          "Hessian, from one extra pass) (default: ${DEFAULT-VALUE})."})
  String weightAlgorithm;

  /** The options as the job takes them; a bad combination is a {@link UsageException}. */
  Algorithms toAlgorithms() {
    if (smoothAlpha != null && !smoothQuant) {
      throw new UsageException("--smooth-alpha needs --smooth-quant");
    }
    if (!Algorithms.WEIGHT_ALGORITHMS.contains(weightAlgorithm)) {
      throw new UsageException("--weight-algorithm must be " + String.join(" or ", Algorithms.WEIGHT_ALGORITHMS)
          + ", got '" + weightAlgorithm + "'");
    }
    Algorithms a;
    try {
      a = new Algorithms(smoothQuant ? (smoothAlpha == null ? Algorithms.DEFAULT_SMOOTH_ALPHA : smoothAlpha) : null,
          biasCorrection, weightAlgorithm);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--smooth-alpha must be in [0, 1], got " + smoothAlpha);
    }
    return a;
  }
}
