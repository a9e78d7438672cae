package dev.qcal.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.quant.QuantParams;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes and reads back {@code qparams.json}, format {@value #FORMAT} version {@value #VERSION}; the
 * README documents every field. Floats are written in their shortest round-trip form, so reading the file
 * back gives the exact float scales that are in the quantized model.
 */
public final class QParamsFile {
  public static final String FORMAT = "qcal.qparams";
  public static final int VERSION = 1;
  public static final String NAME = "qparams.json";

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private QParamsFile() {}

  /** What the whole file describes. */
  public record Header(
      String modelPath,
      String modelSha256,
      int sourceOpset,
      int preparedOpset,
      String method,
      long samples,
      Map<String, String> versions,
      Map<String, Object> algorithms) {
    public Header {
      algorithms = algorithms == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(algorithms));
    }

    /** A header of range setting only. */
    public Header(String modelPath, String modelSha256, int sourceOpset, int preparedOpset, String method, long samples,
        Map<String, String> versions) {
      this(modelPath, modelSha256, sourceOpset, preparedOpset, method, samples, versions, Map.of());
    }

    /** This header with {@code algorithms}: what ran beyond range setting, keyed by name in the order they ran. */
    public Header withAlgorithms(Map<String, Object> algorithms) {
      return new Header(modelPath, modelSha256, sourceOpset, preparedOpset, method, samples, versions, algorithms);
    }
  }

  /**
   * One quantized tensor: role {@code activation}, {@code weight} or {@code bias}; min/max per
   * channel (one element when per-tensor); count of finite values observed; non-finite counts.
   * Activations also carry the range method ({@code fixed} when {@code --config} sets the range), the
   * chosen range before scale/zero-point rounding and the error estimate of quantize-dequantize over their
   * histogram (null when unknown).
   */
  public record Entry(
      String name,
      String role,
      QuantParams params,
      float[] min,
      float[] max,
      long count,
      long nanCount,
      long posInfCount,
      long negInfCount,
      String method,
      float[] range,
      Double expectedMse,
      Double sqnrDb,
      String paramsFrom) {

    /** A calibrated activation. */
    public Entry(String name, String role, QuantParams params, float[] min, float[] max, long count, long nanCount,
        long posInfCount, long negInfCount, String method, float[] range, Double expectedMse, Double sqnrDb) {
      this(name, role, params, min, max, count, nanCount, posInfCount, negInfCount, method, range, expectedMse,
          sqnrDb, null);
    }

    /** A weight or bias entry: no method, range or estimate. */
    public static Entry constant(String name, String role, QuantParams params, float[] min, float[] max, long count) {
      return new Entry(name, role, params, min, max, count, 0, 0, 0, null, null, null, null, null);
    }

    /**
     * An activation Q/DQ'd with parameters it was not calibrated for: {@code method} "shared" takes
     * those of the calibrated tensor {@code paramsFrom} (ops that only move values), "op_defined" those of
     * a range fixed by the op's definition (Softmax output); {@code range} is the range they stand for.
     * Nothing was observed for it, so it has no min, max or counts.
     */
    public static Entry derived(String name, QuantParams params, String method, String paramsFrom, float[] range) {
      return new Entry(name, "activation", params, null, null, 0, 0, 0, 0, method, range, null, null, paramsFrom);
    }
  }

  /**
   * A qparams.json as read back: its header and its entries in file order. The entries keep the
   * dtype as the file names it (a reader shows a type it does not know rather than failing).
   */
  public record Contents(Header header, List<Stored> activations, List<Stored> weights) {}

  /**
   * One entry as written: its parameters as the file states them (the dtype as text; absent arrays
   * empty, no axis null) and the rest of it as an {@link Entry} whose {@code params} are null
   * (absent arrays empty, absent values null or 0; {@code range} null without {@code range_min} and
   * {@code range_max}; {@code sqnrDb} null without an estimate, +Infinity when a null
   * {@code sqnr_db} says it is exact).
   */
  public record Stored(String dtype, Integer axis, float[] scale, long[] zeroPoint, Entry entry) {
    public String name() {
      return entry.name();
    }
  }

  /** Reads a qparams.json on the local disk. */
  public static Contents read(Path file) {
    try {
      return read(JSON.readTree(file.toFile()));
    } catch (IOException e) {
      throw new OutputException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** The contents of a parsed qparams.json (its format already checked by the caller). */
  public static Contents read(JsonNode root) {
    JsonNode m = root.path("model");
    Map<String, String> versions = new LinkedHashMap<>();
    root.path("versions").fields().forEachRemaining(e -> versions.put(e.getKey(), e.getValue().asText()));
    Header h = new Header(m.path("path").asText(""), m.path("sha256").asText(""), m.path("source_opset").asInt(),
        m.path("prepared_opset").asInt(), root.path("method").asText(""), root.path("samples").asLong(), versions);
    return new Contents(h, stored(root.path("activations")), stored(root.path("weights")));
  }

  private static List<Stored> stored(JsonNode section) {
    List<Stored> l = new ArrayList<>();
    section.fields().forEachRemaining(e -> l.add(stored(e.getKey(), e.getValue())));
    return l;
  }

  private static Stored stored(String name, JsonNode t) {
    float[] range = t.has("range_min") && t.has("range_max")
        ? new float[] {t.get("range_min").floatValue(), t.get("range_max").floatValue()} : null;
    Double mse = t.path("expected_mse").isNumber() ? t.get("expected_mse").asDouble() : null;
    Double sqnr = mse == null ? null
        : t.path("sqnr_db").isNumber() ? t.get("sqnr_db").asDouble() : Double.POSITIVE_INFINITY;
    Entry e = new Entry(name, t.path("role").asText(""), null, floats(t.get("min")), floats(t.get("max")),
        t.path("count").asLong(), t.path("nan_count").asLong(), t.path("pos_inf_count").asLong(),
        t.path("neg_inf_count").asLong(), t.path("method").asText(null), range, mse, sqnr,
        t.path("params_from").isTextual() ? t.get("params_from").asText() : null);
    return new Stored(t.path("dtype").asText(""), t.path("axis").isNumber() ? t.get("axis").asInt() : null,
        floats(t.get("scale")), longs(t.get("zero_point")), e);
  }

  /** A value or an array of values as a list; empty when absent or null. */
  private static List<JsonNode> items(JsonNode n) {
    if (n == null || n.isNull()) {
      return List.of();
    }
    List<JsonNode> l = new ArrayList<>();
    if (n.isArray()) {
      n.forEach(l::add);
    } else {
      l.add(n);
    }
    return l;
  }

  private static float[] floats(JsonNode n) {
    List<JsonNode> l = items(n);
    float[] f = new float[l.size()];
    for (int i = 0; i < f.length; i++) {
      f[i] = l.get(i).floatValue();
    }
    return f;
  }

  private static long[] longs(JsonNode n) {
    return items(n).stream().mapToLong(JsonNode::asLong).toArray();
  }

  public static void write(Path file, Header h, List<Entry> entries) {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("format_version", VERSION);
    ObjectNode model = root.putObject("model");
    model.put("path", h.modelPath());
    model.put("sha256", h.modelSha256());
    model.put("source_opset", h.sourceOpset());
    model.put("prepared_opset", h.preparedOpset());
    root.put("method", h.method());
    root.put("samples", h.samples());
    if (!h.algorithms().isEmpty()) {
      root.set("algorithms", JSON.valueToTree(h.algorithms()));
    }
    ObjectNode versions = root.putObject("versions");
    h.versions().forEach(versions::put);
    ObjectNode acts = root.putObject("activations");
    ObjectNode weights = root.putObject("weights");
    for (Entry e : entries) {
      put(("activation".equals(e.role()) ? acts : weights).putObject(e.name()), e);
    }
    writeJson(file, root);
  }

  private static void put(ObjectNode t, Entry e) {
    QuantParams p = e.params();
    t.put("role", e.role());
    t.put("dtype", p.type().id());
    if (p.axis() == null) {
      t.putNull("axis");
    } else {
      t.put("axis", p.axis());
    }
    if (p.blocked()) {
      t.put("block_size", p.blockSize());
    }
    ArrayNode scale = t.putArray("scale");
    for (float s : p.scale()) {
      scale.add(s);
    }
    ArrayNode zp = t.putArray("zero_point");
    for (long z : p.zeroPoint()) {
      zp.add(z);
    }
    if (e.min() != null) {
      putFloats(t, "min", e.min());
      putFloats(t, "max", e.max());
    }
    if (e.method() != null) {
      t.put("method", e.method());
    }
    if (e.paramsFrom() != null) {
      t.put("params_from", e.paramsFrom());
    }
    if (e.range() != null) {
      t.put("range_min", e.range()[0]);
      t.put("range_max", e.range()[1]);
    }
    if (e.expectedMse() != null) {
      t.put("expected_mse", e.expectedMse());
      // null when the quantization is exact (infinite SQNR); JSON has no Infinity
      if (Double.isFinite(e.sqnrDb())) {
        t.put("sqnr_db", e.sqnrDb());
      } else {
        t.putNull("sqnr_db");
      }
    }
    if (e.min() == null) {
      return; // derived: nothing observed
    }
    t.put("count", e.count());
    t.put("nan_count", e.nanCount());
    t.put("pos_inf_count", e.posInfCount());
    t.put("neg_inf_count", e.negInfCount());
  }

  private static void putFloats(ObjectNode t, String field, float[] v) {
    if (v.length == 1) {
      t.put(field, v[0]);
    } else {
      ArrayNode a = t.putArray(field);
      for (float f : v) {
        a.add(f);
      }
    }
  }

  public static void writeJson(Path file, Object tree) {
    try {
      JSON.writeValue(file.toFile(), tree);
    } catch (IOException e) {
      throw new OutputException(file.getFileName() + ": cannot write: " + e.getMessage(), e);
    }
  }
}
