package dev.qcal.model;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.PlanOptions;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * Quantizes the {@link TransformerGraphs} with an op set and measures the result in ONNX Runtime's CPU
 * provider (all optimizations): the kernels of its optimized graph (integer ones, fused float ones, Q/DQ
 * left), the logits' SQNR against FP32 on held-out batches, and samples/s of both. Min/max calibration,
 * uint8 asymmetric activations, int8 per-channel weights (qcal's defaults).
 */
public final class TransformerQdq {

  /** ONNX Runtime kernels that compute on 8-bit integers. */
  public static final Set<String> INTEGER_KERNELS = Set.of("QLinearMatMul", "MatMulInteger", "MatMulIntegerToFloat",
      "QLinearConv", "QGemm", "QLinearAdd", "QLinearMul", "QLinearSoftmax", "QLinearConcat", "QLinearSigmoid",
      "QLinearWhere", "QLinearGlobalAveragePool", "QLinearAveragePool", "QAttention", "DynamicQuantizeMatMul",
      "DynamicQuantizeLinear", "QLinearLeakyRelu", "QEmbedLayerNormalization", "DynamicQuantizeLSTM", "ConvInteger",
      "QLinearReduceMean", "QLinearLayerNorm", "QGelu");

  /** Float kernels ONNX Runtime fuses transformer subgraphs into. */
  public static final Set<String> FUSED_FLOAT = Set.of("SkipLayerNormalization", "LayerNormalization", "BiasGelu",
      "FastGelu", "Gelu", "Attention", "MultiHeadAttention", "FusedMatMul", "BiasSoftmax", "EmbedLayerNormalization",
      "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization");

  /** Batches of named inputs: int64 ids and masks as long[], images as float[]. */
  public record Batch(Map<String, Object> values, Map<String, long[]> shapes) {}

  /** What one quantized variant measured. */
  public record Measure(String name, Map<String, Integer> kernels, double sqnrDb, int quantizedNodes, int nodes) {
    public int integerKernels() {
      return kernels.entrySet().stream().filter(e -> INTEGER_KERNELS.contains(e.getKey())).mapToInt(Map.Entry::getValue)
          .sum();
    }

    public int count(String op) {
      return kernels.getOrDefault(op, 0);
    }

    /** "QLinearMatMul 12, MatMulIntegerToFloat 2; fused float: SkipLayerNormalization 3; Q/DQ left 4, MatMul 0". */
    public String kernelSummary() {
      List<String> ints = new ArrayList<>();
      List<String> fused = new ArrayList<>();
      kernels.forEach((k, v) -> {
        if (INTEGER_KERNELS.contains(k)) {
          ints.add(k + " " + v);
        } else if (FUSED_FLOAT.contains(k)) {
          fused.add(k + " " + v);
        }
      });
      return "integer: " + (ints.isEmpty() ? "none" : String.join(", ", ints)) + "; fused float: "
          + (fused.isEmpty() ? "none" : String.join(", ", fused)) + "; Q/DQ left "
          + (count("QuantizeLinear") + count("DequantizeLinear")) + ", float MatMul/Gemm "
          + (count("MatMul") + count("Gemm"));
    }
  }

  private TransformerQdq() {}

  /** {@code count} BERT samples: random ids, true lengths uniform in [S/2, S], padding id 0 and mask 0 after. */
  public static List<Batch> bertBatches(TransformerGraphs.Size s, long seed, int count, int batch) {
    Random r = new Random(seed);
    List<Batch> out = new ArrayList<>();
    for (int b = 0; b < count; b += batch) {
      long[] ids = new long[batch * s.seq()];
      long[] mask = new long[batch * s.seq()];
      for (int i = 0; i < batch; i++) {
        int len = s.seq() / 2 + r.nextInt(s.seq() / 2 + 1);
        for (int j = 0; j < len; j++) {
          ids[i * s.seq() + j] = j == 0 ? 1 : 2 + r.nextInt(s.vocab() - 2);
          mask[i * s.seq() + j] = 1;
        }
      }
      long[] shape = {batch, s.seq()};
      out.add(new Batch(Map.of("input_ids", ids, "attention_mask", mask),
          Map.of("input_ids", shape, "attention_mask", shape)));
    }
    return out;
  }

  /** {@code count} rows of the zoo's token data ({@link dev.qcal.examples.Tokens}), BERT's three inputs. */
  public static List<Batch> zooBertBatches(long seed, int count, int batch, int seq, int vocab) {
    List<Batch> out = new ArrayList<>();
    for (int b = 0; b < count; b += batch) {
      long[][] rows = new long[3][batch * seq];
      for (int i = 0; i < batch; i++) {
        dev.qcal.examples.Tokens.Pair p = dev.qcal.examples.Tokens.bert(seed, b + i, seq, vocab);
        System.arraycopy(p.inputIds(), 0, rows[0], i * seq, seq);
        System.arraycopy(p.attentionMask(), 0, rows[1], i * seq, seq);
        System.arraycopy(p.tokenTypeIds(), 0, rows[2], i * seq, seq);
      }
      long[] shape = {batch, seq};
      out.add(new Batch(Map.of("input_ids", rows[0], "attention_mask", rows[1], "token_type_ids", rows[2]),
          Map.of("input_ids", shape, "attention_mask", shape, "token_type_ids", shape)));
    }
    return out;
  }

  /** {@code count} rows of the zoo's GPT token data. */
  public static List<Batch> zooGptBatches(long seed, int count, int batch, int seq, int vocab) {
    List<Batch> out = new ArrayList<>();
    for (int b = 0; b < count; b += batch) {
      long[] ids = new long[batch * seq];
      for (int i = 0; i < batch; i++) {
        System.arraycopy(dev.qcal.examples.Tokens.gpt(seed, b + i, seq, vocab), 0, ids, i * seq, seq);
      }
      out.add(new Batch(Map.of("input_ids", ids), Map.of("input_ids", new long[] {batch, seq})));
    }
    return out;
  }

  /** The ViT batches of {@link #vitBatches} under another input name. */
  public static List<Batch> renamed(List<Batch> batches, String from, String to) {
    List<Batch> out = new ArrayList<>();
    for (Batch b : batches) {
      out.add(new Batch(Map.of(to, b.values().get(from)), Map.of(to, b.shapes().get(from))));
    }
    return out;
  }

  /** {@code count} ViT samples: smooth random images (a sum of a few random gradients and blobs) in [-1, 1]. */
  public static List<Batch> vitBatches(long seed, int count, int batch) {
    Random r = new Random(seed);
    List<Batch> out = new ArrayList<>();
    for (int b = 0; b < count; b += batch) {
      float[] px = new float[batch * 3 * 32 * 32];
      for (int i = 0; i < batch; i++) {
        for (int c = 0; c < 3; c++) {
          double gx = r.nextGaussian();
          double gy = r.nextGaussian();
          double cx = 32 * r.nextDouble();
          double cy = 32 * r.nextDouble();
          for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
              double blob = Math.exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 50);
              double v = 0.4 * (gx * (x - 16) + gy * (y - 16)) / 16 + 0.6 * blob + 0.1 * r.nextGaussian();
              px[((i * 3 + c) * 32 + y) * 32 + x] = (float) Math.max(-1, Math.min(1, v));
            }
          }
        }
      }
      out.add(new Batch(Map.of("pixels", px), Map.of("pixels", new long[] {batch, 3, 32, 32})));
    }
    return out;
  }

  /** Plans with {@code options}, calibrates min/max on {@code calib}, rewrites: the quantized model. */
  public static ModelProto quantize(ModelProto m, PlanOptions options, List<Batch> calib) throws OrtException {
    CalibrationPlan plan = CalibrationPlan.of(m, options);
    Map<String, float[]> ranges = ranges(m, plan.activations(), calib);
    Map<String, QuantParams> params = new HashMap<>();
    ranges.forEach((t, mm) -> params.put(t, LinearQuant.forRange(mm[0], mm[1], QuantType.UINT8, false)));
    return QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params)).model();
  }

  /** Quantizes and measures one variant. */
  public static Measure measure(String name, ModelProto m, PlanOptions options, List<Batch> calib, List<Batch> eval)
      throws Exception {
    ModelProto q = quantize(m, options, calib);
    CalibrationPlan plan = CalibrationPlan.of(m, options);
    int quantized = (int) plan.nodes().stream().filter(CalibrationPlan.NodeDecision::quantized).count();
    return new Measure(name, kernels(q), sqnr(m, q, eval), quantized, plan.nodes().size());
  }

  /** Op type counts of ONNX Runtime's optimized graph (ORT_ENABLE_ALL, CPU) of {@code m}. */
  public static Map<String, Integer> kernels(ModelProto m) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    for (NodeProto n : optimized(m).getGraph().getNodeList()) {
      counts.merge(n.getOpType(), 1, Integer::sum);
    }
    return counts;
  }

  /** ONNX Runtime's optimized graph (ORT_ENABLE_ALL, CPU, saved by the session) of {@code m}. */
  public static ModelProto optimized(ModelProto m) throws Exception {
    Path file = Files.createTempFile("qcal-optimized-", ".onnx");
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      o.setOptimizedModelFilePath(file.toString());
      o.setIntraOpNumThreads(1);
      OrtEnvironment.getEnvironment().createSession(m.toByteArray(), o).close();
      return ModelProto.parseFrom(Files.readAllBytes(file));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** SQNR (dB) of {@code q}'s logits against {@code m}'s over {@code eval}: sum of squares over sum of errors. */
  public static double sqnr(ModelProto m, ModelProto q, List<Batch> eval) throws OrtException {
    double signal = 0;
    double noise = 0;
    try (OrtSession fp = session(m, 1); OrtSession qs = session(q, 1)) {
      for (Batch b : eval) {
        float[] ref = run(fp, b, "logits");
        float[] got = run(qs, b, "logits");
        for (int i = 0; i < ref.length; i++) {
          signal += (double) ref[i] * ref[i];
          noise += ((double) ref[i] - got[i]) * ((double) ref[i] - got[i]);
        }
      }
    }
    return 10 * Math.log10(signal / noise);
  }

  /** [min, max] of each tensor over the batches (FP32, no optimization). */
  static Map<String, float[]> ranges(ModelProto m, List<String> tensors, List<Batch> batches) throws OrtException {
    ModelProto.Builder aug = m.toBuilder();
    Set<String> outputs = new LinkedHashSet<>();
    m.getGraph().getOutputList().forEach(v -> outputs.add(v.getName()));
    for (String t : tensors) {
      if (outputs.add(t)) {
        aug.getGraphBuilder().addOutput(QdqTestGraphs.floatValueOfAnyShape(t));
      }
    }
    Map<String, float[]> out = new LinkedHashMap<>();
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
      try (OrtSession s = OrtEnvironment.getEnvironment().createSession(aug.build().toByteArray(), o)) {
        for (Batch b : batches) {
          try (Inputs in = new Inputs(b); OrtSession.Result r = s.run(in.tensors, new LinkedHashSet<>(tensors))) {
            for (String t : tensors) {
              FloatBuffer fb = ((OnnxTensor) r.get(t).orElseThrow()).getFloatBuffer();
              float[] mm = out.computeIfAbsent(t, k -> new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
              while (fb.hasRemaining()) {
                float v = fb.get();
                mm[0] = Math.min(mm[0], v);
                mm[1] = Math.max(mm[1], v);
              }
            }
          }
        }
      }
    }
    return out;
  }

  /** A CPU session at full optimization with {@code threads} intra-op threads. */
  public static OrtSession session(ModelProto m, int threads) throws OrtException {
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      o.setIntraOpNumThreads(threads);
      return OrtEnvironment.getEnvironment().createSession(m.toByteArray(), o);
    }
  }

  /** Runs one batch, returns output {@code name} flattened. */
  public static float[] run(OrtSession s, Batch b, String name) throws OrtException {
    try (Inputs in = new Inputs(b); OrtSession.Result r = s.run(in.tensors, Set.of(name))) {
      FloatBuffer fb = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
      float[] v = new float[fb.remaining()];
      fb.get(v);
      return v;
    }
  }

  /** The ONNX Runtime tensors of a batch, closed together. */
  private static final class Inputs implements AutoCloseable {
    final Map<String, OnnxTensor> tensors = new HashMap<>();

    Inputs(Batch b) throws OrtException {
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      for (Map.Entry<String, Object> e : b.values().entrySet()) {
        long[] shape = b.shapes().get(e.getKey());
        tensors.put(e.getKey(), e.getValue() instanceof long[] l
            ? OnnxTensor.createTensor(env, LongBuffer.wrap(l), shape)
            : OnnxTensor.createTensor(env, FloatBuffer.wrap((float[]) e.getValue()), shape));
      }
    }

    @Override
    public void close() {
      tensors.values().forEach(OnnxTensor::close);
    }
  }
}
