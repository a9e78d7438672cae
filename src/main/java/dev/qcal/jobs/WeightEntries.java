package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.io.QParamsFile;
import dev.qcal.model.Initializers;
import dev.qcal.quant.QuantParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** qparams.json entries for quantized weights and biases, with their per-channel (or per-block) float ranges. */
final class WeightEntries {
  private WeightEntries() {}

  static List<QParamsFile.Entry> of(ModelProto prepared, Map<String, QuantParams> params) {
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
      float[] values = Initializers.floats(t);
      long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
      int channels = p.channels();
      float[] mn = new float[channels];
      float[] mx = new float[channels];
      Arrays.fill(mn, Float.POSITIVE_INFINITY);
      Arrays.fill(mx, Float.NEGATIVE_INFINITY);
      int[] index = dev.qcal.quant.LinearQuant.paramIndices(dims, p);
      for (int i = 0; i < values.length; i++) {
        int c = index[i];
        mn[c] = Math.min(mn[c], values[i]);
        mx[c] = Math.max(mx[c], values[i]);
      }
      String role = p.type() == dev.qcal.quant.QuantType.INT32 ? "bias" : "weight";
      out.add(QParamsFile.Entry.constant(e.getKey(), role, p, mn, mx, values.length));
    }
    return out;
  }
}
