package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.io.QParamsFile;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.StreamedWeight;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * qparams.json entries for quantized weights and biases, with their per-channel (or per-block) float
 * ranges (read in chunks, so weights in external data under the model's directory are never held whole).
 */
final class WeightEntries {
  private WeightEntries() {}

  /**
   * @param params the params of each entry
   * @param sources the prepared model's initializer each entry was quantized from (a copy of an initializer
   *     several nodes read has an entry name of its own)
   */
  static List<QParamsFile.Entry> of(ModelProto prepared, Path modelDir, Map<String, QuantParams> params,
      Map<String, String> sources) {
    Map<String, TensorProto> inits = new HashMap<>();
    for (TensorProto t : prepared.getGraph().getInitializerList()) {
      inits.put(t.getName(), t);
    }
    List<QParamsFile.Entry> out = new ArrayList<>();
    for (Map.Entry<String, QuantParams> e : params.entrySet()) {
      String source = sources.getOrDefault(e.getKey(), e.getKey());
      TensorProto t = inits.get(source);
      if (t == null) {
        throw new IllegalStateException("quantized weight '" + source + "' is not an initializer of the prepared model");
      }
      QuantParams p = e.getValue();
      long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
      int channels = p.channels();
      float[] mn = new float[channels];
      float[] mx = new float[channels];
      Arrays.fill(mn, Float.POSITIVE_INFINITY);
      Arrays.fill(mx, Float.NEGATIVE_INFINITY);
      StreamedWeight.Layout layout = StreamedWeight.Layout.of(dims, p.axis(), p.blockSize());
      if (layout.params() != channels) {
        throw new IllegalStateException("weight '" + e.getKey() + "' needs " + layout.params() + " params, has " + channels);
      }
      float[] values = new float[(int) Math.min(Initializers.CHUNK_FLOATS, Initializers.count(t))];
      Initializers.forEachChunk(t, modelDir, Initializers.CHUNK_FLOATS, (first, chunk) -> {
        int n = chunk.remaining();
        chunk.duplicate().get(values, 0, n);
        // runs over which the param index is constant or grows by one, so no division per value
        for (int i = 0; i < n; ) {
          long g = first + i;
          int c = layout.index(g);
          int step = layout.step();
          int end = (int) Math.min(n, i + layout.run(g));
          for (; i < end; i++, c += step) {
            mn[c] = Math.min(mn[c], values[i]);
            mx[c] = Math.max(mx[c], values[i]);
          }
        }
      });
      String role = p.type() == dev.qcal.quant.QuantType.INT32 ? "bias" : "weight";
      out.add(QParamsFile.Entry.constant(e.getKey(), role, p, mn, mx, Initializers.count(t)));
    }
    return out;
  }
}
