package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.examples.ContribGraphs;
import dev.qcal.model.TransformerQdq;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.plan.PlanOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Measures the contrib rules (not run by the suite: a bench): SQNR, size and ONNX Runtime's optimized kernels of
 * {@link ContribGraphs} under several op sets, a 256-hidden LSTM's SQNR, size and latency, and writes the graphs
 * and their data to {@code -Dqcal.contrib.dir} (default /tmp/contrib) for {@code ort-peer}. Run with
 * {@code mvn -o -q test -Dtest=ContribMeasureBench -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ContribMeasureBench {
  static List<TransformerQdq.Batch> batches(long seed, int count, int batch, long... dims) {
    Random r = new Random(seed);
    List<TransformerQdq.Batch> out = new ArrayList<>();
    int per = 1;
    for (long d : dims) per *= d;
    for (int b = 0; b < count; b += batch) {
      float[] v = new float[batch * per];
      for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
      long[] shape = new long[dims.length + 1];
      shape[0] = batch;
      System.arraycopy(dims, 0, shape, 1, dims.length);
      out.add(new TransformerQdq.Batch(Map.of("x", v), Map.of("x", shape)));
    }
    return out;
  }

  static PlanOptions ops(String... o) {
    return new PlanOptions(Set.of(o), List.of(), Set.of(), false);
  }

  void run(String name, ModelProto m, List<TransformerQdq.Batch> c, List<TransformerQdq.Batch> e, PlanOptions o)
      throws Exception {
    CalibrationPlan plan = CalibrationPlan.of(m, o);
    ModelProto q = plan.activations().isEmpty()
        ? QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, Map.of())).model()
        : TransformerQdq.quantize(m, o, c);
    System.out.printf("MEASURE %s %s: sqnr %.2f dB, size %d -> %d bytes, ort: %s%n  %s%n", name,
        o.opTypes(), TransformerQdq.sqnr(m, q, e), m.getSerializedSize(), q.getSerializedSize(),
        TransformerQdq.kernels(q), plan.nodes());
  }

  @Test
  void measure() throws Exception {
    for (int opset : new int[] {13, 17, 21}) {
      ModelProto l = ContribGraphs.lstm(opset, 0);
      var c = batches(1, 64, 8, 6, 8);
      var e = batches(2, 64, 8, 6, 8);
      run("lstm" + opset, l, c, e, ops("LSTM"));
      run("lstm" + opset, l, c, e, ops("LSTM", "Transpose"));
      run("gru" + opset, ContribGraphs.gru(opset, 0), c, e, ops("GRU"));
      run("gru" + opset, ContribGraphs.gru(opset, 0), c, e, ops("GRU", "Transpose"));
      ModelProto a = ContribGraphs.attention(opset, 0);
      var ca = batches(3, 64, 8, 8, 16);
      var ea = batches(4, 64, 8, 8, 16);
      run("attn" + opset, a, ca, ea, ops("Conv", "Gemm", "MatMul"));
      run("attn" + opset, a, ca, ea, ops("Conv", "Gemm", "MatMul", "com.microsoft.Attention"));
      run("attn" + opset, a, ca, ea, ops("Attention"));
      run("attn" + opset, a, ca, ea, ops("Conv", "Gemm", "MatMul", "Attention", "SkipLayerNormalization"));
      ModelProto s = ContribGraphs.skipLayerNorm(opset, 0);
      run("sln" + opset, s, ca, ea, ops("Conv", "Gemm", "MatMul"));
      run("sln" + opset, s, ca, ea, ops("Conv", "Gemm", "MatMul", "SkipLayerNormalization"));
      run("sln" + opset, s, ca, ea, ops("SkipLayerNormalization"));
    }
  }

  @Test
  void dump() throws Exception {
    java.nio.file.Path d = java.nio.file.Path.of(System.getProperty("qcal.contrib.dir", "/tmp/contrib"));
    java.nio.file.Files.createDirectories(d);
    OnnxModels.save(ContribGraphs.lstm(13, 0), d.resolve("lstm.onnx"));
    OnnxModels.save(ContribGraphs.attention(13, 0), d.resolve("attention.onnx"));
    OnnxModels.save(ContribGraphs.skipLayerNorm(13, 0), d.resolve("sln.onnx"));
    var c = batches(1, 64, 8, 6, 8).stream().map(b -> (float[]) b.values().get("x")).toList();
    var e = batches(2, 64, 8, 6, 8).stream().map(b -> (float[]) b.values().get("x")).toList();
    dev.qcal.data.Npy.writeFloat32(d.resolve("lstm_calib.npy"), concat(c), new long[] {64, 6, 8});
    dev.qcal.data.Npy.writeFloat32(d.resolve("lstm_eval.npy"), concat(e), new long[] {64, 6, 8});
    c = batches(3, 64, 8, 8, 16).stream().map(b -> (float[]) b.values().get("x")).toList();
    e = batches(4, 64, 8, 8, 16).stream().map(b -> (float[]) b.values().get("x")).toList();
    dev.qcal.data.Npy.writeFloat32(d.resolve("attn_calib.npy"), concat(c), new long[] {64, 8, 16});
    dev.qcal.data.Npy.writeFloat32(d.resolve("attn_eval.npy"), concat(e), new long[] {64, 8, 16});
  }

  static float[] concat(List<float[]> parts) {
    float[] out = new float[parts.stream().mapToInt(p -> p.length).sum()];
    int at = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  @Test
  void lstmSpeed() throws Exception {
    int h = 256;
    int in = 128;
    dev.qcal.examples.Graph g = new dev.qcal.examples.Graph(17, 5);
    String x = g.input("x", 1, 32, 8, in);
    String y = g.op("LSTM", "lstm", List.of(x, g.weight("W", 0.05, 1, 4 * h, in), g.weight("R", 0.05, 1, 4 * h, h),
        g.weight("B", 0.05, 1, 8 * h)), dev.qcal.examples.Graph.i("hidden_size", h));
    g.output(y, "logits", 1, 32, 1, 8, h);
    ModelProto m = g.build("big_lstm");
    CalibrationPlan plan = CalibrationPlan.of(m, ops("LSTM"));
    ModelProto q = QdqRewriter.rewrite(QdqRewriter.Request.of(m, plan, Map.of())).model();
    Random r = new Random(1);
    float[] v = new float[32 * 8 * in];
    for (int k = 0; k < v.length; k++) v[k] = (float) r.nextGaussian();
    var batch = List.of(new TransformerQdq.Batch(Map.of("x", v), Map.of("x", new long[] {32, 8, in})));
    System.out.printf("MEASURE big lstm sqnr %.2f dB size %d -> %d%n", TransformerQdq.sqnr(m, q, batch),
        m.getSerializedSize(), q.getSerializedSize());
    for (int round = 0; round < 3; round++) {
      for (ModelProto mm : List.of(m, q)) {
        try (var s = TransformerQdq.session(mm, 1)) {
          for (int k = 0; k < 20; k++) TransformerQdq.run(s, batch.get(0), "logits");
          long t0 = System.nanoTime();
          for (int k = 0; k < 200; k++) TransformerQdq.run(s, batch.get(0), "logits");
          System.out.printf("MEASURE %s %.3f ms/run%n", mm == m ? "fp32" : "qdq-weights", (System.nanoTime() - t0) / 200e6);
        }
      }
    }
  }
}
