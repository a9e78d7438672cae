/**
 * The linear quantization scheme: scale and zero point from a range ({@link
 * dev.qcal.quant.QuantParams}), the integer types ({@link dev.qcal.quant.QuantType}), quantizing
 * weights per tensor, per channel or in blocks ({@link dev.qcal.quant.LinearQuant}, {@link
 * dev.qcal.quant.WeightSpec}) and weights too large to hold, one slice at a time ({@link
 * dev.qcal.quant.StreamedWeight}).
 *
 * <p>The bottom of the package map: pure Java that imports no other qcal package, no Spark, no
 * Hadoop, no ONNX and no ONNX Runtime.
 */
package dev.qcal.quant;
