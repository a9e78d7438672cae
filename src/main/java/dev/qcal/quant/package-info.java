/**
 * The linear quantization scheme: scale and zero point from a range ({@link
 * dev.qcal.quant.QuantParams}), the integer types ({@link dev.qcal.quant.QuantType}), quantizing
 * weights per tensor, per channel or in blocks ({@link dev.qcal.quant.LinearQuant}, {@link
 * dev.qcal.quant.WeightSpec}), weights too large to hold, one slice at a time ({@link
 * dev.qcal.quant.StreamedWeight}), and GPTQ's error-compensating rounding of a MatMul weight from its
 * input's Hessian, on the same grid ({@link dev.qcal.quant.Gptq}).
 *
 * <p>The bottom of the package map: pure Java that imports no other qcal package, no Spark, no
 * Hadoop, no ONNX and no ONNX Runtime.
 */
package dev.qcal.quant;
