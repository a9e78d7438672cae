package dev.qcal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.calib.Range;
import dev.qcal.data.DataException;
import dev.qcal.io.QParamsFile;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How {@code drift} chooses ranges and parameters: per tensor the method and type of the run that quantized it
 * (its qparams.json entry: the baseline's, else the current run's), with that run's range options (run.json's
 * {@code range_options}: percentile, symmetric activations, reduce range, power-of-two scales); without either
 * qparams.json, calibrate's defaults (minmax, uint8, asymmetric). Per-tensor {@code --config} percentiles and
 * symmetric flags are not recorded per tensor: the run-wide ones are used.
 *
 * @param source where the scheme was read: a qparams.json, or "defaults"
 */
record DriftScheme(String source, String method, QuantType type, double percentile, boolean symmetric,
    boolean reduceRange, boolean powerOfTwoScales, Map<String, QParamsFile.Stored> entries) {

  static DriftScheme of(DriftInputs.Side b, DriftInputs.Side c) {
    DriftInputs.Side from = b.qparams() != null ? b : c.qparams() != null ? c : null;
    RangeOptions d = RangeOptions.defaults();
    if (from == null) {
      return new DriftScheme("defaults", d.method(), d.activationType(), d.percentile(), d.symmetric(),
          d.reduceRange(), d.powerOfTwoScales(), Map.of());
    }
    Map<String, QParamsFile.Stored> entries = new LinkedHashMap<>();
    from.qparams().activations().forEach(a -> entries.put(a.name(), a));
    JsonNode r = from.run() == null ? null : from.run().get("range_options");
    String file = from.runDir() + "/" + QParamsFile.NAME;
    if (r == null || !r.isObject()) {
      return new DriftScheme(file, from.qparams().header().method(), d.activationType(), d.percentile(),
          d.symmetric(), d.reduceRange(), d.powerOfTwoScales(), entries);
    }
    return new DriftScheme(file, r.path("method").asText(from.qparams().header().method()),
        type(r.path("activation_type").asText(d.activationType().id()), file), r.path("percentile").asDouble(
            d.percentile()), r.path("symmetric_activations").asBoolean(), r.path("reduce_range").asBoolean(),
        r.path("power_of_two_scales").asBoolean(), entries);
  }

  private static QuantType type(String id, String file) {
    try {
      return QuantType.fromId(id);
    } catch (IllegalArgumentException e) {
      throw new DataException(file + ": " + e.getMessage());
    }
  }

  /** The method of tensor {@code name}: its qparams.json entry's ({@code fixed} for a fixed range), else the run's. */
  String method(String name) {
    QParamsFile.Stored e = entries.get(name);
    return e != null && e.entry().method() != null ? e.entry().method() : method;
  }

  /** The type of tensor {@code name}: its qparams.json entry's dtype, else the run's activation type. */
  QuantType type(String name) {
    QParamsFile.Stored e = entries.get(name);
    return e == null ? type : type(e.dtype(), source);
  }

  /** The per-tensor parameters of {@code r} for {@code type} in this scheme (as calibrate computes them). */
  QuantParams params(Range r, QuantType type) {
    return LinearQuant.forRange(r.min(), r.max(), type, symmetric, reduceRange && type.bits() == 8,
        powerOfTwoScales);
  }

  ObjectNode toJson() {
    ObjectNode n = new ObjectMapper().createObjectNode();
    n.put("from", source);
    n.put("method", method);
    n.put("activation_type", type.id());
    n.put("percentile", percentile);
    n.put("symmetric_activations", symmetric);
    n.put("reduce_range", reduceRange);
    n.put("power_of_two_scales", powerOfTwoScales);
    return n;
  }
}
