package dev.qcal.model.prepare;

import static dev.qcal.model.onnx.NodeAttributes.intOr;
import static dev.qcal.model.onnx.NodeAttributes.ints;
import static dev.qcal.model.onnx.NodeAttributes.stringOr;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.onnx.TensorShape;
import dev.qcal.model.onnx.TensorShape.Dim;
import java.util.ArrayList;
import java.util.List;

/**
 * Output shapes of sliding-window operators (Conv, ConvTranspose, the pools) from their input and weight
 * shapes and attributes, as ONNX Runtime computes them; unknown where an input dimension is.
 */
final class WindowShapes {

  private WindowShapes() {}

  /** Conv: [N, M, spatial...] with M the weight's first dimension. */
  static TensorShape conv(NodeProto node, TensorShape x, TensorShape w) {
    int rank = x.hasRank() ? x.rank() : w.rank();
    if (rank < 3) {
      return TensorShape.ofRank(rank);
    }
    List<Dim> out = new ArrayList<>();
    out.add(x.hasRank() ? x.dim(0) : Dim.UNKNOWN);
    out.add(w.rank() == rank ? w.dim(0) : Dim.UNKNOWN);
    long[] kernel = ints(node, "kernel_shape");
    for (int i = 0; i < rank - 2; i++) {
      Dim k = kernel != null ? Dim.of(kernel[i]) : w.rank() == rank ? w.dim(2 + i) : Dim.UNKNOWN;
      out.add(spatial(node, x.hasRank() ? x.dim(2 + i) : Dim.UNKNOWN, k, i, rank - 2, false));
    }
    return new TensorShape(out);
  }

  static List<TensorShape> pool(NodeProto node, TensorShape x) {
    long[] kernel = ints(node, "kernel_shape");
    if (!x.hasRank() || kernel == null || x.rank() != kernel.length + 2) {
      TensorShape r = TensorShape.ofRank(x.rank());
      return List.of(r, r);
    }
    List<Dim> out = new ArrayList<>(x.dims().subList(0, 2));
    boolean ceil = intOr(node, "ceil_mode", 0) != 0;
    for (int i = 0; i < kernel.length; i++) {
      out.add(spatial(node, x.dim(2 + i), Dim.of(kernel[i]), i, kernel.length, ceil));
    }
    TensorShape s = new TensorShape(out);
    return List.of(s, s); // MaxPool's Indices have the output's shape
  }

  /** One output dimension of a convolution or pooling window, as ONNX Runtime computes it. */
  private static Dim spatial(NodeProto node, Dim in, Dim kernel, int i, int n, boolean ceil) {
    if (!in.known() || !kernel.known()) {
      return Dim.UNKNOWN;
    }
    long stride = at(ints(node, "strides"), i, 1);
    long dilation = at(ints(node, "dilations"), i, 1);
    String autoPad = stringOr(node, "auto_pad", "NOTSET");
    long effective = (kernel.value() - 1) * dilation + 1;
    long size = in.value();
    switch (autoPad) {
      case "SAME_UPPER", "SAME_LOWER":
        return Dim.of(Math.floorDiv(size + stride - 1, stride));
      case "VALID":
        return Dim.of(Math.floorDiv(size - effective, stride) + 1);
      case "NOTSET", "":
        break;
      default:
        return Dim.UNKNOWN;
    }
    long[] pads = ints(node, "pads");
    long begin = at(pads, i, 0);
    long padded = size + begin + at(pads, i + n, 0);
    if (!ceil) {
      return Dim.of(Math.floorDiv(padded - effective, stride) + 1);
    }
    long out = Math.floorDiv(padded - effective + stride - 1, stride) + 1;
    if ((out - 1) * stride >= size + begin) {
      out--; // the last window would start in the end padding
    }
    return Dim.of(out);
  }

  static TensorShape convTranspose(NodeProto node, TensorShape x, TensorShape w) {
    int rank = x.hasRank() ? x.rank() : w.rank();
    if (rank < 3) {
      return TensorShape.ofRank(rank);
    }
    List<Dim> out = new ArrayList<>();
    out.add(x.hasRank() ? x.dim(0) : Dim.UNKNOWN);
    long group = intOr(node, "group", 1);
    out.add(w.rank() == rank && w.dim(1).known() ? Dim.of(w.dim(1).value() * group) : Dim.UNKNOWN);
    long[] outputShape = ints(node, "output_shape");
    long[] kernel = ints(node, "kernel_shape");
    long[] pads = ints(node, "pads");
    String autoPad = stringOr(node, "auto_pad", "NOTSET");
    int n = rank - 2;
    for (int i = 0; i < n; i++) {
      if (outputShape != null && outputShape.length == n) {
        out.add(Dim.of(outputShape[i]));
        continue;
      }
      Dim in = x.hasRank() ? x.dim(2 + i) : Dim.UNKNOWN;
      Dim k = kernel != null ? Dim.of(kernel[i]) : w.rank() == rank ? w.dim(2 + i) : Dim.UNKNOWN;
      if (!in.known() || !k.known() || outputShape != null) {
        out.add(Dim.UNKNOWN);
        continue;
      }
      long stride = at(ints(node, "strides"), i, 1);
      if (autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")) {
        out.add(Dim.of(in.value() * stride));
        continue;
      }
      long dilation = at(ints(node, "dilations"), i, 1);
      long total = stride * (in.value() - 1) + at(ints(node, "output_padding"), i, 0) + (k.value() - 1) * dilation + 1;
      out.add(Dim.of(total - at(pads, i, 0) - at(pads, i + n, 0)));
    }
    return new TensorShape(out);
  }

  static TensorShape globalPool(TensorShape x) {
    if (!x.hasRank() || x.rank() < 2) {
      return TensorShape.ofRank(x.rank());
    }
    List<Dim> out = new ArrayList<>(x.dims().subList(0, 2));
    for (int k = 2; k < x.rank(); k++) {
      out.add(Dim.of(1));
    }
    return new TensorShape(out);
  }

  private static long at(long[] a, int i, long defaultValue) {
    return a != null && i < a.length ? a[i] : defaultValue;
  }
}
