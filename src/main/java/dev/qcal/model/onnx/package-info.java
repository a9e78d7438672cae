/**
 * ONNX I/O, the bottom of {@code model}: loading and saving models ({@link dev.qcal.model.onnx.OnnxModels}),
 * external data ({@link dev.qcal.model.onnx.ExternalData}, {@link dev.qcal.model.onnx.ExternalDataFile}),
 * initializer values ({@link dev.qcal.model.onnx.Initializers}), IR versions, node attributes, tensor shapes,
 * unused graph names and {@link dev.qcal.model.onnx.ModelException}.
 *
 * <p>Never imports {@code dev.qcal.model.prepare}, {@code dev.qcal.model.plan} or {@code dev.qcal.model.qdq}
 * (nor Spark or ONNX Runtime): everything else in {@code model} builds on it.
 */
package dev.qcal.model.onnx;
