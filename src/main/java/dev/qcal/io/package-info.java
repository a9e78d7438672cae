/**
 * The file formats and how they are committed: {@code qparams.json} written and read back by its one
 * owner ({@link dev.qcal.io.QParamsFile}), {@code stats/} ({@link dev.qcal.io.StatsFiles}), the
 * interchange files for TensorRT and ONNX Runtime ({@link dev.qcal.io.InterchangeFiles}), run.json
 * ({@link dev.qcal.io.RunReport}), and atomic output directories on any Hadoop file system ({@link
 * dev.qcal.io.AtomicOutput}: written aside, {@code _SUCCESS} last; {@link dev.qcal.io.OutputGuard}
 * deletes nothing it did not write).
 *
 * <p>It never imports Spark, ONNX Runtime, {@code jobs}, {@code cli} or {@code report}.
 */
package dev.qcal.io;
