package dev.qcal.calib;

import dev.qcal.quant.QuantType;
import dev.qcal.stats.TensorStats;

/**
 * A range method: turns the merged statistics of one tensor into the real range to quantize, per
 * tensor or per channel. Implementations are stateless apart from their options and run on the
 * driver from merged statistics, never per batch.
 */
public interface Calibrator {

  /** The method name as given on the command line and written to qparams.json. */
  String name();

  /**
   * The per-tensor range for {@code type}.
   *
   * @param tensor the tensor name, used in error messages
   * @param symmetric whether the type will be used symmetrically (zero point at mid-range)
   * @throws IllegalArgumentException naming the tensor when it has no finite values or the
   *     statistics the method needs (e.g. a histogram) were not collected
   */
  Range range(String tensor, TensorStats stats, QuantType type, boolean symmetric);

  /**
   * One range per channel along {@link TensorStats#axis()}.
   *
   * @throws IllegalArgumentException naming the tensor (and channel) when there are no per-channel
   *     statistics, a channel has no finite values or the method needs per-channel histograms that
   *     were not collected
   */
  Range[] channelRanges(String tensor, TensorStats stats, QuantType type, boolean symmetric);
}
