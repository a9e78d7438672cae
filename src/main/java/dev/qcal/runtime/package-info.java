/**
 * ONNX Runtime on the executors and the driver: sessions cached per JVM and model ({@link
 * dev.qcal.runtime.SessionCache}), runs that pin the tensors they read ({@link
 * dev.qcal.runtime.ModelRunner}), reading small outputs ({@link dev.qcal.runtime.SmallOutputs}) and
 * one-off runs for tools and tests ({@link dev.qcal.runtime.Ort}).
 *
 * <p>The only package that talks to ONNX Runtime besides the Spark wiring in {@code jobs} (which
 * holds session handles, nothing else of it). It feeds tensors built by {@code data} and never
 * imports Spark, {@code jobs} or {@code cli}.
 */
package dev.qcal.runtime;
