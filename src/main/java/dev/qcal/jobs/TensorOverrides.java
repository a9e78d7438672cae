package dev.qcal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.DataException;
import dev.qcal.quant.QuantType;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Per-tensor choices from a {@code --config} file, each replacing the command's option for one
 * tensor:
 *
 * <pre>{"tensors": {"conv1.out": {"method": "percentile", "percentile": 99.99, "dtype": "int8",
 *                                "symmetric": true},
 *              "x": {"range": [-1.0, 1.0]}}}</pre>
 *
 * Keys: {@code method} (minmax, percentile, entropy, mse), {@code percentile} (0, 100],
 * {@code dtype} (uint8, int8, uint16, int16), {@code symmetric} (true/false), {@code range} ([min, max], a fixed
 * range that skips the method). Unknown keys and tensors that are not calibrated are errors.
 */
final class TensorOverrides {
  private static final Set<String> KEYS = Set.of("method", "percentile", "dtype", "symmetric", "range");

  /** One tensor's overrides; null fields keep the command's choice. */
  record Override(String method, Double percentile, QuantType type, Boolean symmetric, float[] range) {}

  private TensorOverrides() {}

  /**
   * The activation types the file names as {@code dtype} (unknown names are left to {@link #read}), so
   * the model can be prepared to the opset they need before its tensors are known; empty for no file.
   */
  static Set<QuantType> dtypes(String file, Configuration conf) {
    Set<QuantType> out = new java.util.HashSet<>();
    if (file == null) {
      return out;
    }
    for (JsonNode t : load(file, conf).path("tensors")) {
      if (t.has("dtype")) {
        try {
          out.add(QuantType.fromId(t.get("dtype").asText()));
        } catch (IllegalArgumentException ignored) {
          // read() reports it with the tensor's name
        }
      }
    }
    return out;
  }

  private static JsonNode load(String file, Configuration conf) {
    Path p = new Path(file);
    try (InputStream in = p.getFileSystem(conf).open(p)) {
      return new ObjectMapper().readTree(in);
    } catch (java.io.FileNotFoundException e) {
      throw new DataException("config not found: " + file);
    } catch (IOException e) {
      throw new DataException(file + ": not a valid JSON config: " + e.getMessage().lines().findFirst().orElse(""));
    }
  }

  static Map<String, Override> read(String file, Configuration conf, List<String> calibrated) {
    Map<String, Override> out = new LinkedHashMap<>();
    if (file == null) {
      return out;
    }
    JsonNode root = load(file, conf);
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!k.equals("tensors")) {
        throw new DataException(file + ": unknown key '" + k + "' (expected \"tensors\")");
      }
    }
    JsonNode tensors = root.path("tensors");
    for (Iterator<Map.Entry<String, JsonNode>> it = tensors.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      String where = file + ": tensor '" + name + "'";
      if (!calibrated.contains(name)) {
        throw new DataException(where + " is not a calibrated tensor of this model (see qcal inspect)");
      }
      JsonNode t = e.getValue();
      for (Iterator<String> keys = t.fieldNames(); keys.hasNext(); ) {
        String k = keys.next();
        if (!KEYS.contains(k)) {
          throw new DataException(where + ": unknown key '" + k + "' (expected one of " + KEYS + ")");
        }
      }
      QuantType type = null;
      if (t.has("dtype")) {
        String id = t.get("dtype").asText();
        type = QuantType.ACTIVATION_TYPES.stream().filter(q -> q.id().equalsIgnoreCase(id)).findFirst().orElseThrow(() ->
            new DataException(where + ": dtype must be " + QuantType.ids(QuantType.ACTIVATION_TYPES) + ", got " + id));
      }
      float[] range = null;
      if (t.has("range")) {
        JsonNode r = t.get("range");
        if (!r.isArray() || r.size() != 2 || !r.get(0).isNumber() || !r.get(1).isNumber()
            || r.get(0).floatValue() > r.get(1).floatValue()) {
          throw new DataException(where + ": range must be [min, max] with min <= max, got " + r);
        }
        range = new float[] {r.get(0).floatValue(), r.get(1).floatValue()};
      }
      Double percentile = t.has("percentile") ? t.get("percentile").asDouble() : null;
      if (percentile != null && !(percentile > 0 && percentile <= 100)) {
        throw new DataException(where + ": percentile must be in (0, 100], got " + percentile);
      }
      out.put(name, new Override(t.has("method") ? t.get("method").asText() : null, percentile, type,
          t.has("symmetric") ? t.get("symmetric").asBoolean() : null, range));
    }
    return out;
  }
}
