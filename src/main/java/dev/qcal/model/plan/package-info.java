/**
 * Q/DQ planning: which activations and weights of a prepared model get quantized, by the per-op rules of
 * {@link dev.qcal.model.plan.QdqOpRules} (one {@code *Rule} class per op family), the plan options and node
 * exclusions, and the read-only graph index {@link dev.qcal.model.plan.QdqGraph} the rules and the writer use.
 *
 * <p>Imports {@code dev.qcal.model.onnx}, and never imports {@code dev.qcal.model.prepare} or
 * {@code dev.qcal.model.qdq} (a plan says what to quantize, never how it is written).
 */
package dev.qcal.model.plan;
