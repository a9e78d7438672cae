package dev.qcal.bench;

import static dev.qcal.model.TestGraphs.i;
import static dev.qcal.model.TestGraphs.ints;
import static dev.qcal.model.TestGraphs.node;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.qcal.examples.TextLines;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.prepare.ModelPreparer;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.quant.WeightSpec;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A graph output produced by a quantized Conv/Gemm/MatMul: Q/DQ on it (the DQ writes the output) vs the
 * producer's float output. Per model: output SQNR against FP32 on held-out samples and ONNX Runtime CPU
 * latency (all optimizations, one intra-op thread, the two variants interleaved in rounds, median per
 * batch) of both, and their ratios. Models: the example (its last Gemm, whose output feeds a Softmax, is
 * made the graph output by dropping that Softmax; and the whole model with Softmax quantized too) and two
 * small ones built here (a last Conv, a last Gemm). Run with {@code scripts/bench graph-outputs}; no
 * assertion, figures only.
 */
public final class GraphOutputQdqBench {
  private static final int CALIB = 64;
  private static final int EVAL = 64;
  private static final int BATCH = 8;
  private static final int ROUNDS = Integer.getInteger("qcal.bench.rounds", 15);
  private static final int RUNS_PER_ROUND = Integer.getInteger("qcal.bench.runs", 10);

  private GraphOutputQdqBench() {}

  public static void main(String[] args) throws Exception {
    Path work = Files.createTempDirectory("qcal-bench-outputs-");
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    long[] example = {TextLines.CHANNELS, TextLines.HEIGHT, TextLines.WIDTH};
    Files.createDirectories(work.resolve("example"));
    ModelProto ex = ModelPreparer.prepare(TestGraphs.EXAMPLE, work.resolve("example"),
        Map.of("x", batchShape(BATCH, example))).model();
    bench(env, "example: last Gemm as output", withoutFinalSoftmax(ex), "x", example, true, false);
    bench(env, "example: Softmax quantized too", ex, "x", example, true, true);
    bench(env, "small: last Conv", lastConv(), "x", new long[] {32, 32, 32}, false, false);
    bench(env, "small: last Gemm", lastGemm(), "x", new long[] {64, 16, 16}, false, false);
    bench(env, "small: last MatMul", lastMatMul(), "x", new long[] {64, 256}, false, false);
  }

  private static void bench(OrtEnvironment env, String name, ModelProto m, String input, long[] sample, boolean text,
      boolean softmax) throws Exception {
    CalibrationPlan plan = softmax
        ? CalibrationPlan.of(m, new dev.qcal.model.plan.PlanOptions(java.util.Set.of("Conv", "Gemm", "MatMul", "Softmax"),
            List.of(), java.util.Set.of(), false))
        : CalibrationPlan.of(m);
    float[][] calib = samples(text, 1, CALIB, sample);
    float[][] eval = samples(text, 2, EVAL, sample);
    Map<String, QuantParams> params = calibrate(env, m, plan, input, calib, sample);
    WeightSpec w = new WeightSpec(QuantType.INT8, true, 0);
    ModelProto qOut = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params).withWeights(w)
        .withOutputs(QdqRewriter.Outputs.QUANTIZED)).model();
    ModelProto fOut = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, params).withWeights(w)
        .withOutputs(QdqRewriter.Outputs.FLOAT)).model();
    String output = m.getGraph().getOutput(0).getName();
    try (OrtSession fp = session(env, m); OrtSession q = session(env, qOut); OrtSession f = session(env, fOut)) {
      double sqnrQ = sqnr(env, fp, q, input, output, eval, sample);
      double sqnrF = sqnr(env, fp, f, input, output, eval, sample);
      float[] batch = concat(eval, 0, BATCH);
      long[] shape = batchShape(BATCH, sample);
      List<Long> tq = new ArrayList<>();
      List<Long> tf = new ArrayList<>();
      List<Long> tfp = new ArrayList<>();
      for (int k = 0; k < 5; k++) {
        time(env, q, input, batch, shape, output);
        time(env, f, input, batch, shape, output);
        time(env, fp, input, batch, shape, output);
      }
      for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < RUNS_PER_ROUND; k++) {
          tq.add(time(env, q, input, batch, shape, output));
          tf.add(time(env, f, input, batch, shape, output));
          tfp.add(time(env, fp, input, batch, shape, output));
        }
      }
      double mq = median(tq) / 1e6;
      double mf = median(tf) / 1e6;
      double mfp = median(tfp) / 1e6;
      System.out.printf("%-32s SQNR dB: Q/DQ output %.2f, float output %.2f (diff %+.2f dB)%n", name, sqnrQ, sqnrF,
          sqnrQ - sqnrF);
      System.out.printf("%-32s ms/batch of %d (median of %d): Q/DQ output %.3f, float output %.3f, FP32 %.3f;"
          + " float/QDQ %.3f%n", "", BATCH, tq.size(), mq, mf, mfp, mf / mq);
      System.out.printf("%-32s ORT's optimized graph: Q/DQ output: %s; float output: %s%n", "",
          optimized(env, qOut, output), optimized(env, fOut, output));
    }
  }

  /** The op types ONNX Runtime (all optimizations) runs for the last two nodes before {@code output}. */
  private static String optimized(OrtEnvironment env, ModelProto m, String output) throws Exception {
    Path file = Files.createTempFile("qcal-bench-optimized-", ".onnx");
    try {
      OrtSession.SessionOptions o = new OrtSession.SessionOptions();
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      o.setOptimizedModelFilePath(file.toString());
      env.createSession(m.toByteArray(), o).close();
      ModelProto opt = ModelProto.parseFrom(Files.readAllBytes(file));
      List<String> chain = new ArrayList<>();
      String t = output;
      for (int k = 0; k < 3; k++) {
        String u = t;
        NodeProto p = opt.getGraph().getNodeList().stream().filter(n -> n.getOutputList().contains(u)).findFirst()
            .orElse(null);
        if (p == null) {
          break;
        }
        chain.add(0, p.getOpType());
        t = p.getInput(0);
      }
      return String.join(" -> ", chain);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** The example without its final Softmax: the Gemm before it writes the graph output. */
  private static ModelProto withoutFinalSoftmax(ModelProto m) {
    String out = m.getGraph().getOutput(0).getName();
    NodeProto last = m.getGraph().getNodeList().stream().filter(n -> n.getOutputList().contains(out)).findFirst()
        .orElseThrow();
    if (!last.getOpType().equals("Softmax")) {
      throw new IllegalStateException("expected the example to end in Softmax, it ends in " + last.getOpType());
    }
    ModelProto.Builder b = m.toBuilder();
    List<NodeProto> nodes = new ArrayList<>(m.getGraph().getNodeList());
    nodes.remove(last);
    b.getGraphBuilder().clearNode().addAllNode(nodes).clearOutput()
        .addOutput(TestGraphs.floatInfo(last.getInput(0)));
    return b.build();
  }

  /** x[N,32,32,32] -> Conv 3x3 -> Relu -> Conv 3x3 -> y: the last Conv is half the compute. */
  private static ModelProto lastConv() {
    return TestGraphs.model(13,
        List.of(node("Conv", "c1", List.of("x", "w1", "b1"), List.of("h"), ints("pads", 1, 1, 1, 1)),
            node("Relu", "r1", List.of("h"), List.of("r")),
            node("Conv", "c2", List.of("r", "w2", "b2"), List.of("y"), ints("pads", 1, 1, 1, 1))),
        List.of(TestGraphs.batchInput("x", 32, 32, 32)), List.of(TestGraphs.floatInfo("y")),
        List.of(weight("w1", 1, 32, 32, 3, 3), weight("b1", 2, 32), weight("w2", 3, 32, 32, 3, 3), weight("b2", 4, 32)));
  }

  /** x[N,64,16,16] -> Conv 3x3 -> Relu -> GlobalAveragePool -> Flatten -> Gemm(64 -> 1000) -> y. */
  private static ModelProto lastGemm() {
    return TestGraphs.model(13,
        List.of(node("Conv", "c1", List.of("x", "w1", "b1"), List.of("h"), ints("pads", 1, 1, 1, 1)),
            node("Relu", "r1", List.of("h"), List.of("r")),
            node("GlobalAveragePool", "gap", List.of("r"), List.of("p")),
            node("Flatten", "flat", List.of("p"), List.of("f"), i("axis", 1)),
            node("Gemm", "fc", List.of("f", "wf", "bf"), List.of("y"), i("transB", 1))),
        List.of(TestGraphs.batchInput("x", 64, 16, 16)), List.of(TestGraphs.floatInfo("y")),
        List.of(weight("w1", 1, 64, 64, 3, 3), weight("b1", 2, 64), weight("wf", 3, 1000, 64), weight("bf", 4, 1000)));
  }

  /** x[N,64,256] -> MatMul(256x256) -> Relu -> MatMul(256x256) -> y. */
  private static ModelProto lastMatMul() {
    return TestGraphs.model(13,
        List.of(node("MatMul", "m1", List.of("x", "w1"), List.of("h")),
            node("Relu", "r1", List.of("h"), List.of("r")),
            node("MatMul", "m2", List.of("r", "w2"), List.of("y"))),
        List.of(TestGraphs.batchInput("x", 64, 256)), List.of(TestGraphs.floatInfo("y")),
        List.of(weight("w1", 1, 256, 256), weight("w2", 3, 256, 256)));
  }

  /** He-normal-scaled Gaussian weights (biases small), deterministic. */
  private static ai.onnx.proto.OnnxMl.TensorProto weight(String name, long seed, long... dims) {
    int n = 1;
    for (long d : dims) {
      n *= (int) d;
    }
    double fanIn = dims.length > 1 ? (double) n / dims[0] : 1;
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int k = 0; k < n; k++) {
      v[k] = (float) (r.nextGaussian() * (dims.length > 1 ? Math.sqrt(2 / fanIn) : 0.1));
    }
    return TestGraphs.floatTensor(name, dims, v);
  }

  private static float[][] samples(boolean text, long seed, int count, long[] sample) {
    float[][] out = new float[count][];
    Random r = new Random(seed);
    for (int k = 0; k < count; k++) {
      if (text) {
        out[k] = TextLines.render(seed, k).chw();
      } else {
        out[k] = new float[(int) Arrays.stream(sample).reduce(1, (a, b) -> a * b)];
        for (int j = 0; j < out[k].length; j++) {
          out[k][j] = (float) r.nextGaussian();
        }
      }
    }
    return out;
  }

  /** Min/max over the calibration samples of every planned activation, uint8 asymmetric params. */
  private static Map<String, QuantParams> calibrate(OrtEnvironment env, ModelProto m, CalibrationPlan plan, String input,
      float[][] calib, long[] sample) throws OrtException {
    ModelProto.Builder aug = m.toBuilder();
    for (String t : plan.activations()) {
      if (m.getGraph().getOutputList().stream().noneMatch(v -> v.getName().equals(t))) {
        aug.getGraphBuilder().addOutput(TestGraphs.floatInfo(t));
      }
    }
    Map<String, float[]> ranges = new HashMap<>();
    try (OrtSession s = session(env, aug.build())) {
      for (int k = 0; k < calib.length; k += BATCH) {
        float[] batch = concat(calib, k, BATCH);
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch), batchShape(BATCH, sample));
            OrtSession.Result r = s.run(Map.of(input, x), new LinkedHashSet<>(plan.activations()))) {
          for (String t : plan.activations()) {
            FloatBuffer fb = ((OnnxTensor) r.get(t).orElseThrow()).getFloatBuffer();
            float[] mm = ranges.computeIfAbsent(t, u -> new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY});
            while (fb.hasRemaining()) {
              float v = fb.get();
              mm[0] = Math.min(mm[0], v);
              mm[1] = Math.max(mm[1], v);
            }
          }
        }
      }
    }
    Map<String, QuantParams> params = new HashMap<>();
    ranges.forEach((t, mm) -> params.put(t, LinearQuant.forRange(mm[0], mm[1], QuantType.UINT8, false)));
    return params;
  }

  private static double sqnr(OrtEnvironment env, OrtSession fp, OrtSession q, String input, String output,
      float[][] eval, long[] sample) throws OrtException {
    double signal = 0;
    double noise = 0;
    for (int k = 0; k < eval.length; k += BATCH) {
      float[] batch = concat(eval, k, BATCH);
      float[] ref = run(env, fp, input, batch, batchShape(BATCH, sample), output);
      float[] got = run(env, q, input, batch, batchShape(BATCH, sample), output);
      for (int j = 0; j < ref.length; j++) {
        signal += (double) ref[j] * ref[j];
        noise += ((double) ref[j] - got[j]) * ((double) ref[j] - got[j]);
      }
    }
    return 10 * Math.log10(signal / noise);
  }

  private static long time(OrtEnvironment env, OrtSession s, String input, float[] batch, long[] shape, String output)
      throws OrtException {
    long t = System.nanoTime();
    run(env, s, input, batch, shape, output);
    return System.nanoTime() - t;
  }

  private static float[] run(OrtEnvironment env, OrtSession s, String input, float[] batch, long[] shape, String output)
      throws OrtException {
    try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch), shape);
        OrtSession.Result r = s.run(Map.of(input, x), java.util.Set.of(output))) {
      FloatBuffer fb = ((OnnxTensor) r.get(output).orElseThrow()).getFloatBuffer();
      float[] v = new float[fb.remaining()];
      fb.get(v);
      return v;
    }
  }

  private static OrtSession session(OrtEnvironment env, ModelProto m) throws OrtException {
    OrtSession.SessionOptions o = new OrtSession.SessionOptions();
    o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    o.setIntraOpNumThreads(1);
    return env.createSession(m.toByteArray(), o);
  }

  private static float[] concat(float[][] samples, int from, int count) {
    int n = samples[0].length;
    float[] out = new float[n * count];
    for (int k = 0; k < count; k++) {
      System.arraycopy(samples[from + k], 0, out, k * n, n);
    }
    return out;
  }

  private static long[] batchShape(int batch, long[] sample) {
    long[] s = new long[sample.length + 1];
    s[0] = batch;
    System.arraycopy(sample, 0, s, 1, sample.length);
    return s;
  }

  private static double median(List<Long> v) {
    List<Long> s = new ArrayList<>(v);
    s.sort(null);
    return s.get(s.size() / 2);
  }
}
