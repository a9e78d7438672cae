/**
 * SmoothQuant ({@link dev.qcal.model.smooth.SmoothQuant}): moves activation outliers into the weights of
 * MatMul and Gemm nodes by per-input-channel scales, so the FP32 model computes the same function but its
 * activations quantize with less error.
 *
 * <p>Imports {@code dev.qcal.model.onnx} only, and never imports {@code dev.qcal.model.plan} or
 * {@code dev.qcal.model.qdq} (smoothing is a float-to-float rewrite that knows nothing of quantization).
 */
package dev.qcal.model.smooth;
