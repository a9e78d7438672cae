/**
 * Example models and data built in code rather than downloaded: the text-line renderer for the
 * bundled PaddleOCR example ({@link dev.qcal.examples.TextLines}), token rows ({@link
 * dev.qcal.examples.Tokens}), the zoo of architectures people quantize ({@link
 * dev.qcal.examples.TinyBert}, {@link dev.qcal.examples.TinyGpt}, {@link dev.qcal.examples.TinyVit},
 * {@link dev.qcal.examples.Cnns}) and one small graph per supported operator ({@link
 * dev.qcal.examples.OpGraphs}, {@link dev.qcal.examples.ContribGraphs}), all through the graph
 * builder {@link dev.qcal.examples.Graph}.
 *
 * <p>It never imports Spark or ONNX Runtime (tests and commands run what it builds).
 */
package dev.qcal.examples;
