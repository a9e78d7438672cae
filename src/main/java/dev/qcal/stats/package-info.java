/**
 * Mergeable statistics of activations: per-tensor and per-channel min/max and exact histograms with
 * power-of-two bin widths ({@link dev.qcal.stats.TensorStats}, {@link dev.qcal.stats.Histogram}),
 * the set of them one run gathers ({@link dev.qcal.stats.StatsSet}), their binary file format
 * ({@link dev.qcal.stats.StatsCodec}) and the FP32-vs-quantized output comparison that evaluate
 * merges ({@link dev.qcal.stats.OutputComparison}), and exact sums and per-channel means for bias
 * correction ({@link dev.qcal.stats.ExactSum}, {@link dev.qcal.stats.ChannelMeans}).
 *
 * <p>Every {@code merge} here is pure, associative and commutative, so Spark may reduce in any
 * order and retry any task: the contract is written next to each {@code merge}. Pure Java: it
 * imports nothing of Spark, Hadoop, ONNX, ONNX Runtime or any other qcal package.
 */
package dev.qcal.stats;
