/**
 * Model preparation before calibration: opset upgrade, shape inference, folding, fixed batch sizes and rank
 * probes ({@link dev.qcal.model.prepare.ModelPreparer} and its parts), and the graph with extra outputs that
 * the observing runs read ({@link dev.qcal.model.prepare.GraphAugmenter}).
 *
 * <p>Imports {@code dev.qcal.model.onnx} only, and never imports {@code dev.qcal.model.plan} or
 * {@code dev.qcal.model.qdq} (preparation knows nothing of which tensors get quantized or how).
 */
package dev.qcal.model.prepare;
