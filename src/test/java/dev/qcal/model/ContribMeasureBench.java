package dev.qcal.model;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.examples.ContribGraphs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

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
        ? QdqRewriter.rewrite(m, plan, Map.of(), dev.qcal.quant.QuantType.INT8).model()
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
}
