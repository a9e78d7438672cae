package dev.qcal.cli;

import dev.qcal.jobs.Fp32Fallback;
import java.util.List;
import picocli.CommandLine.Option;

/** The FP32 fallback options shared by {@code calibrate} and {@code quantize}. */
public final class FallbackOptionsMixin {
  @Option(names = "--target-agreement", paramLabel = "A",
      description = {"FP32 fallback: leave the most sensitive nodes in FP32, one step at a time, until the",
          "top-1 agreement with the FP32 model reaches A, in [0, 1] (2-D [N, classes] outputs)."})
  Double targetAgreement;

  @Option(names = "--max-accuracy-drop", paramLabel = "P",
      description = "FP32 fallback until the top-1 accuracy drop is at most P percentage points (needs --eval-labels).")
  Double maxAccuracyDrop;

  @Option(names = "--min-sqnr", paramLabel = "DB",
      description = "FP32 fallback until the output SQNR against the FP32 model is at least DB dB.")
  Double minSqnr;

  @Option(names = "--eval-data", paramLabel = "[NAME=]PATH",
      description = {"Evaluation data of the fallback target, as --data (calibrate's default: its calibration",
          "data; held-out data is better). Required by quantize with a target."})
  List<String> evalData;

  @Option(names = "--eval-labels", paramLabel = "FILE.npy",
      description = "Class ids of the evaluation data (int64 [N], in the order of its sorted .npy files).")
  String evalLabels;

  @Option(names = "--sensitivity-samples", defaultValue = "64", paramLabel = "N",
      description = {"Samples of the evaluation data (chosen by hash) on which the fallback ranks tensors by",
          "sensitivity (default: ${DEFAULT-VALUE})."})
  int sensitivitySamples;

  /**
   * The request, or null without a target; {@code needsEvalData} for quantize, which has no data of its own.
   * {@code --eval-data} is read as {@code format} says (the command's --format, --input, --preprocess,
   * --sample-shape and --on-bad-record; sampling and --table/--query select calibration data only).
   */
  Fp32Fallback.Request toRequest(boolean needsEvalData, int batchSize, DataFormatMixin format) {
    Fp32Fallback.Target t = new Fp32Fallback.Target(targetAgreement, maxAccuracyDrop, minSqnr);
    if (!t.any()) {
      if (evalData != null || evalLabels != null) {
        throw new UsageException("--eval-data and --eval-labels apply with a fallback target: "
            + "--target-agreement, --max-accuracy-drop or --min-sqnr");
      }
      return null;
    }
    if (targetAgreement != null && !(targetAgreement >= 0 && targetAgreement <= 1)) {
      throw new UsageException("--target-agreement must be in [0, 1], got " + targetAgreement);
    }
    if (maxAccuracyDrop != null && !(maxAccuracyDrop >= 0 && maxAccuracyDrop <= 100)) {
      throw new UsageException("--max-accuracy-drop must be in [0, 100] percentage points, got " + maxAccuracyDrop);
    }
    if (maxAccuracyDrop != null && evalLabels == null) {
      throw new UsageException("--max-accuracy-drop needs labels: give --eval-labels FILE.npy");
    }
    if (minSqnr != null && !Double.isFinite(minSqnr)) {
      throw new UsageException("--min-sqnr must be a finite number of dB, got " + minSqnr);
    }
    if (sensitivitySamples < 1) {
      throw new UsageException("--sensitivity-samples must be >= 1 with a fallback target, got " + sensitivitySamples);
    }
    if (needsEvalData && (evalData == null || evalData.isEmpty())) {
      throw new UsageException("a fallback target needs --eval-data PATH (the data to evaluate the quantized model on)");
    }
    boolean own = evalData != null && !evalData.isEmpty();
    dev.qcal.jobs.DataOptions read = new dev.qcal.jobs.DataOptions(null, 1.0, 0, format.policy(),
        own ? format.format() : null, null, null, format.preprocess, format.columns());
    return new Fp32Fallback.Request(t, own ? List.copyOf(evalData) : null, evalLabels, sensitivitySamples, batchSize,
        read, format.sampleShapes());
  }
}
