/**
 * Range methods: choosing each tensor's [min, max] from its merged statistics ({@link
 * dev.qcal.calib.MinMaxCalibrator}, {@link dev.qcal.calib.PercentileCalibrator}, {@link
 * dev.qcal.calib.EntropyCalibrator}, {@link dev.qcal.calib.MseCalibrator}, chosen by name through
 * {@link dev.qcal.calib.Calibrators}), histogram bin arithmetic ({@link dev.qcal.calib.Bins}) and
 * the quantization error a range would give ({@link dev.qcal.calib.ErrorEstimate}).
 *
 * <p>Pure Java on top of {@code stats} and {@code quant}: it never imports Spark, Hadoop, ONNX
 * Runtime, the ONNX protos or the packages that run jobs, read data or write files.
 */
package dev.qcal.calib;
