package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.io.QParamsFile;
import dev.qcal.model.Initializers;
import dev.qcal.quant.QuantParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * qparams.json entries for quantized weights and biases, with their per-channel float ranges (read in
 * chunks, so weights in external data under the model's directory are never held whole).
 */
final class WeightEntries {
  private WeightEntries() {}

  static List<QParamsFile.Entry> of(ModelProto prepared, Path modelDir, Map<String, QuantParams> params) {
    Map<String, TensorProto> inits = new HashMap<>();
    for (TensorProto t : prepared.getGraph().getInitializerList()) {
      inits.put(t.getName(), t);
    }
    List<QParamsFile.Entry> out = new ArrayList<>();
    for (Map.Entry<String, QuantParams> e : params.entrySet()) {
      TensorProto t = inits.get(e.getKey());
      if (t == null) {
        throw new IllegalStateException("quantized weight '" + e.getKey() + "' is not an initializer of the prepared model");
      }
      QuantParams p = e.getValue();
      long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
      int channels = p.channels();
      float[] mn = new float[channels];
      float[] mx = new float[channels];
      Arrays.fill(mn, Float.POSITIVE_INFINITY);
      Arrays.fill(mx, Float.NEGATIVE_INFINITY);
      long inner = 1;
      if (p.axis() != null) {
        for (int i = p.axis() + 1; i < dims.length; i++) {
          inner *= dims[i];
        }
      }
      long step = inner;
      Integer axis = p.axis();
      float[] values = new float[(int) Math.min(Initializers.CHUNK_FLOATS, Initializers.count(t))];
      Initializers.forEachChunk(t, modelDir, Initializers.CHUNK_FLOATS, (first, chunk) -> {
        int n = chunk.remaining();
        chunk.duplicate().get(values, 0, n);
        // runs of one channel, so no division per value
        int c = axis == null ? 0 : (int) ((first / step) % channels);
        long run = axis == null ? n : step - first % step;
        for (int i = 0; i < n; ) {
          int end = (int) Math.min(n, i + run);
          float lo = mn[c];
          float hi = mx[c];
          for (; i < end; i++) {
            lo = Math.min(lo, values[i]);
            hi = Math.max(hi, values[i]);
          }
          mn[c] = lo;
          mx[c] = hi;
          c = axis == null || c + 1 == channels ? 0 : c + 1;
          run = step;
        }
      });
      String role = p.type() == dev.qcal.quant.QuantType.INT32 ? "bias" : "weight";
      out.add(QParamsFile.Entry.constant(e.getKey(), role, p, mn, mx, Initializers.count(t)));
    }
    return out;
  }
}
