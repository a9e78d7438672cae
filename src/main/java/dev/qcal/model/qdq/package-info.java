/**
 * The QDQ writer: rewrites a prepared model into QDQ form from a {@link dev.qcal.model.plan.CalibrationPlan}
 * and calibrated parameters ({@link dev.qcal.model.qdq.QdqRewriter}), and transplants one quantized tensor
 * at a time back into the FP32 model ({@link dev.qcal.model.qdq.SingleTensorQdq}).
 *
 * <p>Imports {@code dev.qcal.model.onnx} and {@code dev.qcal.model.plan}, and never imports
 * {@code dev.qcal.model.prepare} (it writes what it is given).
 */
package dev.qcal.model.qdq;
