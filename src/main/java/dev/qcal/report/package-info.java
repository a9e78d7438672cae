/**
 * report.html: reading a finished run directory ({@link dev.qcal.report.RunDirectory}, qparams.json
 * through {@link dev.qcal.io.QParamsFile#read}), the per-method comparison of every activation
 * ({@link dev.qcal.report.MethodComparison}, with the {@code calib} calibrators), the view model of
 * plain records ({@link dev.qcal.report.ReportData}) and its HTML/SVG renderers
 * ({@link dev.qcal.report.ReportWriter}, {@code Svg}, {@code EvalSection}, {@link dev.qcal.report.Html}).
 *
 * <p>It reads the file formats through {@code io} and never imports Spark, ONNX Runtime, the ONNX
 * protos, {@code model}, {@code runtime}, {@code jobs} or {@code cli}; {@code io} never imports it
 * (the jobs and the {@code report} command call it).
 */
package dev.qcal.report;
