package dev.qcal.quant;

import java.util.Objects;

/**
 * How constant weights are quantized: the integer type (int8, uint8, int4 or uint4), per channel or per
 * tensor, and an optional block size along the reduction axis of MatMul/Gemm weights.
 *
 * @param type the weight type; 4-bit types apply to MatMul, Gemm and Gather weights only
 * @param perChannel one scale per output channel (true) or one per tensor (false)
 * @param blockSize 0 for none, else the block length (a power of two, at least 16, as ONNX Runtime's
 *     MatMulNBits needs) of MatMul/Gemm weights
 */
public record WeightSpec(QuantType type, boolean perChannel, int blockSize) {

  /** The smallest block size ONNX Runtime accepts for blocked MatMul weights. */
  public static final int MIN_BLOCK_SIZE = 16;

  /** The weight types, as {@code --weight-type} takes them. */
  public static final java.util.List<QuantType> TYPES =
      java.util.List.of(QuantType.INT8, QuantType.UINT8, QuantType.INT4, QuantType.UINT4);

  public WeightSpec {
    Objects.requireNonNull(type, "type");
    if (!TYPES.contains(type)) {
      throw new IllegalArgumentException("weight type must be " + QuantType.ids(TYPES) + ", not " + type.id());
    }
    if (blockSize != 0 && (blockSize < MIN_BLOCK_SIZE || Integer.bitCount(blockSize) != 1)) {
      throw new IllegalArgumentException("block size must be 0 (none) or a power of two >= " + MIN_BLOCK_SIZE
          + ", got " + blockSize);
    }
  }

  /** int8 per channel, no blocks (ONNX Runtime's default for QDQ weights). */
  public static WeightSpec defaults() {
    return new WeightSpec(QuantType.INT8, true, 0);
  }

  /** True when the scheme needs ONNX opset 21 (4-bit types or blocks). */
  public boolean needsOpset21() {
    return type.bits() == 4 || blockSize > 0;
  }
}
