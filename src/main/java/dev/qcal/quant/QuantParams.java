package dev.qcal.quant;

import java.util.Arrays;
import java.util.Objects;

/**
 * Scale and zero point of one quantized tensor: one element for per-tensor quantization
 * ({@code axis == null}), one per channel along {@code axis} otherwise; or, when {@code blockSize > 0},
 * one per block of {@code blockSize} consecutive elements along {@code axis}, flattened in C order over
 * the tensor's shape with that axis's length replaced by {@code ceil(length / blockSize)} (ONNX opset 21
 * blocked quantization, {@code DequantizeLinear(axis, block_size)}).
 */
public record QuantParams(float[] scale, long[] zeroPoint, QuantType type, Integer axis, int blockSize) {

  /** Per-tensor or per-channel params (no blocks). */
  public QuantParams(float[] scale, long[] zeroPoint, QuantType type, Integer axis) {
    this(scale, zeroPoint, type, axis, 0);
  }

  public QuantParams {
    if (blockSize < 0 || (blockSize > 0 && axis == null)) {
      throw new IllegalArgumentException("block size " + blockSize + " needs an axis and must be >= 0");
    }
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

  /** True for per-channel and blocked params (an axis is set). */
  public boolean perChannel() {
    return axis != null;
  }

  /** True when the params are per block along {@code axis}. */
  public boolean blocked() {
    return blockSize > 0;
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
        && Objects.equals(axis, p.axis)
        && blockSize == p.blockSize;
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(scale), Arrays.hashCode(zeroPoint), type, axis, blockSize);
  }

  @Override
  public String toString() {
    return "QuantParams[" + type.id() + ", axis=" + axis + (blockSize > 0 ? ", blockSize=" + blockSize : "") + ", scale=" + Arrays.toString(scale)
        + ", zeroPoint=" + Arrays.toString(zeroPoint) + "]";
  }
}
