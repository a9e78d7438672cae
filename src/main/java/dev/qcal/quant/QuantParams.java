package dev.qcal.quant;

import java.util.Arrays;
import java.util.Objects;

/**
 * Scale and zero point of one quantized tensor: one element for per-tensor quantization
 * ({@code axis == null}), one per channel along {@code axis} otherwise.
 */
public record QuantParams(float[] scale, long[] zeroPoint, QuantType type, Integer axis) {

  public QuantParams {
    Objects.requireNonNull(scale, "scale");
    Objects.requireNonNull(zeroPoint, "zeroPoint");
    Objects.requireNonNull(type, "type");
    if (scale.length != zeroPoint.length || scale.length == 0) {
      throw new IllegalArgumentException(
          "scale and zero point must have the same non-zero length: "
              + scale.length + " != " + zeroPoint.length);
    }
    if (axis == null && scale.length != 1) {
      throw new IllegalArgumentException("per-tensor params need exactly one scale, got " + scale.length);
    }
    for (int i = 0; i < scale.length; i++) {
      if (!(scale[i] > 0f) || !Float.isFinite(scale[i])) {
        throw new IllegalArgumentException("scale[" + i + "] must be finite and > 0, got " + scale[i]);
      }
      if (zeroPoint[i] < type.qmin() || zeroPoint[i] > type.qmax()) {
        throw new IllegalArgumentException(
            "zero point " + zeroPoint[i] + " outside " + type.id() + " range");
      }
    }
    scale = scale.clone();
    zeroPoint = zeroPoint.clone();
  }

  public static QuantParams perTensor(float scale, long zeroPoint, QuantType type) {
    return new QuantParams(new float[] {scale}, new long[] {zeroPoint}, type, null);
  }

  public boolean perChannel() {
    return axis != null;
  }

  public int channels() {
    return scale.length;
  }

  @Override
  public float[] scale() {
    return scale.clone();
  }

  @Override
  public long[] zeroPoint() {
    return zeroPoint.clone();
  }

  public float scale(int channel) {
    return scale[channel];
  }

  public long zeroPoint(int channel) {
    return zeroPoint[channel];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof QuantParams p
        && Arrays.equals(scale, p.scale)
        && Arrays.equals(zeroPoint, p.zeroPoint)
        && type == p.type
        && Objects.equals(axis, p.axis);
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(scale), Arrays.hashCode(zeroPoint), type, axis);
  }

  @Override
  public String toString() {
    return "QuantParams[" + type.id() + ", axis=" + axis + ", scale=" + Arrays.toString(scale)
        + ", zeroPoint=" + Arrays.toString(zeroPoint) + "]";
  }
}
