package dev.qcal.jobs;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a calibrate run does to the model beyond range setting, each from statistics of the whole data set
 * merged exactly across the cluster: SmoothQuant before the observe pass ({@code smoothAlpha}, null = off),
 * bias correction after the ranges are chosen, and the algorithm that rounds MatMul/Gemm weights
 * ({@code rtn}: to nearest; {@code gptq}: GPTQ on each layer's input Hessian).
 */
public record Algorithms(Double smoothAlpha, boolean biasCorrection, String weightAlgorithm) implements Serializable {
  /** Weights rounded to nearest, the default. */
  public static final String RTN = "rtn";
  /** Weights of MatMul/Gemm rounded by GPTQ. */
  public static final String GPTQ = "gptq";
  /** The values {@code --weight-algorithm} takes. */
  public static final List<String> WEIGHT_ALGORITHMS = List.of(RTN, GPTQ);
  /** SmoothQuant's migration strength when {@code --smooth-alpha} is not given. */
  public static final double DEFAULT_SMOOTH_ALPHA = 0.5;
  /** Range setting only. */
  public static final Algorithms NONE = new Algorithms(null, false, RTN);

  public Algorithms {
    if (smoothAlpha != null && !(smoothAlpha >= 0 && smoothAlpha <= 1)) {
      throw new IllegalArgumentException("the SmoothQuant alpha must be in [0, 1], got " + smoothAlpha);
    }
    if (!WEIGHT_ALGORITHMS.contains(weightAlgorithm)) {
      throw new IllegalArgumentException("the weight algorithm must be " + String.join(" or ", WEIGHT_ALGORITHMS)
          + ", got '" + weightAlgorithm + "'");
    }
  }

  /** Whether SmoothQuant runs. */
  public boolean smoothQuant() {
    return smoothAlpha != null;
  }

  /** Whether MatMul/Gemm weights are rounded by GPTQ. */
  public boolean gptq() {
    return GPTQ.equals(weightAlgorithm);
  }

  /** Whether anything beyond range setting runs. */
  public boolean any() {
    return smoothQuant() || biasCorrection || gptq();
  }

  /** What one algorithm did to the model, as {@code run.json} and {@code qparams.json} record it under its name. */
  public interface Applied {
    /** Its key: {@code smooth_quant}, {@code bias_correction} or {@code gptq}. */
    String name();

    /** Its settings and what it changed. */
    Map<String, Object> toJson();
  }

  /** {@code applied} as one JSON object, keyed by name in the order they ran (empty when none ran). */
  public static Map<String, Object> toJson(List<? extends Applied> applied) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (Applied a : applied) {
      m.put(a.name(), a.toJson());
    }
    return m;
  }
}
