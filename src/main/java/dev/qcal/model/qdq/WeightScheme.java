package dev.qcal.model.qdq;

import dev.qcal.quant.QuantType;
import dev.qcal.quant.WeightSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * How one weight read by one node is quantized, resolved from the requested {@link WeightSpec} and the op:
 * 4-bit types fall back to int8 where ONNX Runtime has no 4-bit kernel for the op (Conv, ConvTranspose),
 * blocks apply to 2-D MatMul/Gemm weights only, and {@link #notes()} says where the result differs from
 * the request.
 *
 * @param type the integer type of the quantized values
 * @param axis the axis of the scales: the channel axis, or for blocks the reduction (K) axis; unused per tensor
 * @param block 0, or the block length along {@code axis}
 * @param perTensor one scale and zero point for the whole tensor
 * @param table a Gather table whose output shares its params ({@link #asSharedTable()})
 * @param conv a Conv weight, whose all-zero zero points are left out
 * @param notes why the scheme differs from the request, in order
 */
record WeightScheme(QuantType type, int axis, int block, boolean perTensor, boolean table, boolean conv,
    List<String> notes) {

  /** Op types whose constant weights may be 4-bit; the others (Conv, ConvTranspose) keep int8. */
  private static final Set<String> FOUR_BIT_OPS = Set.of("MatMul", "Gemm", "Gather");

  /** Op types whose 2-D weights may be quantized in blocks along their reduction axis. */
  private static final Set<String> BLOCK_OPS = Set.of("MatMul", "Gemm");

  WeightScheme {
    notes = List.copyOf(notes);
  }

  /**
   * The scheme of a weight of shape {@code dims} read by an {@code op} node whose channel axis is
   * {@code channelAxis}; {@code what} names the weight in the notes.
   */
  static WeightScheme resolve(WeightSpec spec, String op, long[] dims, int channelAxis, String what) {
    List<String> notes = new ArrayList<>();
    QuantType type = spec.type();
    if (type.bits() == 4 && !FOUR_BIT_OPS.contains(op)) {
      type = QuantType.INT8;
      notes.add(what + ": int8, not " + spec.type().id() + ": ONNX Runtime has no 4-bit " + op + " kernels");
    }
    int block = 0;
    if (spec.blockSize() > 0) {
      if (BLOCK_OPS.contains(op) && dims.length == 2) {
        block = spec.blockSize();
      } else {
        notes.add(what + ": " + (spec.perChannel() ? "per channel" : "per tensor")
            + ", not in blocks: blocks apply to 2-D MatMul/Gemm weights only");
      }
    }
    // the block axis is the reduction (K) axis: the other axis of a 2-D weight whose channel axis is N
    int axis = block > 0 ? 1 - channelAxis : channelAxis;
    return new WeightScheme(type, axis, block, !spec.perChannel() && block == 0, false, op.equals("Conv"), notes);
  }

  /** This scheme for a Gather table whose output is Q/DQ'd on the table's params: uint8, per tensor. */
  WeightScheme asSharedTable() {
    return new WeightScheme(QuantType.UINT8, axis, block, true, true, conv, notes);
  }

  /** The axis of the params, null per tensor. */
  Integer paramsAxis() {
    return perTensor ? null : axis;
  }

  /** The key of {@code initializer}'s params in this scheme: readers with one key may share them. */
  String key(String initializer) {
    return initializer + "@" + (perTensor ? "tensor" : axis) + "@" + type.id() + "@" + block + (conv ? "@conv" : "");
  }
}
