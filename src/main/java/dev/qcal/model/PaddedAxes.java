package dev.qcal.model;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.io.Serializable;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which axes of each activation hold padded positions ({@code --pad}): shape inference on the prepared
 * model with pad axis {@code k} of every padded input declared as the fresh symbol {@code qcal_pad_k}
 * (whatever the model declared there, a fixed size included), every other dynamic input dimension keeping
 * the model's symbol (a fresh one when it has none). An activation axis inferred as {@code qcal_pad_k} runs over pad axis k: a
 * sample's valid positions there are those below its true length. An axis of a known size, or of another
 * input's symbol, does not depend on the padded length. Any other axis (unknown, or a size computed from
 * the padded length), or an unknown rank, cannot be traced.
 */
public final class PaddedAxes implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The symbol of pad axis {@code k} is this prefix and {@code k}. */
  public static final String SYMBOL = "qcal_pad_";

  /** Per tensor, per axis: the pad axis it runs over, or -1. */
  private final Map<String, int[]> axes;

  private PaddedAxes(Map<String, int[]> axes) {
    this.axes = axes;
  }

  /**
   * Traces {@code tensors} of {@code model}; {@code padAxes} gives each padded input's pad axes (sample
   * axes, after the batch axis). Throws a {@link ModelException} naming the first tensor that cannot be
   * traced, with {@code remedy} appended.
   */
  public static PaddedAxes trace(ModelProto model, Map<String, int[]> padAxes, List<String> tensors, String remedy) {
    GraphProto.Builder g = model.getGraph().toBuilder().clearValueInfo();
    Set<String> inputSymbols = new HashSet<>();
    Set<String> initializers = new HashSet<>();
    model.getGraph().getInitializerList().forEach(t -> initializers.add(t.getName()));
    for (int i = 0; i < g.getInputCount(); i++) {
      ValueInfoProto in = g.getInput(i);
      if (initializers.contains(in.getName()) || !in.getType().hasTensorType()
          || !in.getType().getTensorType().hasShape()) {
        continue;
      }
      TensorShapeProto.Builder shape = in.getType().getTensorType().getShape().toBuilder();
      int[] pads = padAxes.getOrDefault(in.getName(), new int[0]);
      for (int a = 0; a < shape.getDimCount(); a++) {
        TensorShapeProto.Dimension d = shape.getDim(a);
        String symbol = null;
        for (int k = 0; k < pads.length; k++) {
          if (pads[k] + 1 == a) {
            symbol = SYMBOL + k;
          }
        }
        if (symbol == null && !(d.hasDimValue() && d.getDimValue() >= 0)) {
          // another dynamic size: the model's symbol (shared between inputs), or one of its own; never a pad axis
          symbol = d.hasDimParam() && !d.getDimParam().isEmpty() && !d.getDimParam().startsWith(SYMBOL)
              ? d.getDimParam() : "qcal_in_" + i + "_" + a;
          inputSymbols.add(symbol);
        }
        if (symbol != null) {
          shape.setDim(a, TensorShapeProto.Dimension.newBuilder().setDimParam(symbol));
        }
      }
      ValueInfoProto.Builder v = in.toBuilder();
      v.getTypeBuilder().getTensorTypeBuilder().setShape(shape);
      g.setInput(i, v);
    }
    for (int i = 0; i < g.getOutputCount(); i++) {
      ValueInfoProto.Builder v = g.getOutput(i).toBuilder();
      if (v.getType().hasTensorType()) {
        v.getTypeBuilder().getTensorTypeBuilder().clearShape(); // the declared shapes hold the model's symbols
      }
      g.setOutput(i, v);
    }
    ShapeInference.Result r = ShapeInference.infer(g.build(), OnnxModels.opset(model));
    Map<String, int[]> out = new LinkedHashMap<>();
    for (String t : tensors) {
      TensorShape s = r.shape(t);
      if (!s.hasRank()) {
        throw untraceable(t, "its rank is unknown", remedy);
      }
      int[] k = new int[s.rank()];
      for (int a = 0; a < k.length; a++) {
        TensorShape.Dim d = s.dim(a);
        k[a] = -1;
        if (d.known() || d.symbol() != null && inputSymbols.contains(d.symbol())) {
          continue;
        }
        if (d.symbol() != null && d.symbol().startsWith(SYMBOL)) {
          k[a] = Integer.parseInt(d.symbol().substring(SYMBOL.length()));
          continue;
        }
        throw untraceable(t, "axis " + a + " of its shape " + s + " may depend on the padded length", remedy);
      }
      out.put(t, k);
    }
    return new PaddedAxes(out);
  }

  private static ModelException untraceable(String tensor, String why, String remedy) {
    return new ModelException("--pad: cannot tell the padded positions of tensor '" + tensor + "': " + why + remedy);
  }

  /** {@code tensor}'s axes: the pad axis each runs over, or -1 (a copy). */
  public int[] of(String tensor) {
    return axes.get(tensor).clone();
  }

  /** Whether {@code tensor} has an axis over a pad axis. */
  public boolean padded(String tensor) {
    for (int k : axes.get(tensor)) {
      if (k >= 0) {
        return true;
      }
    }
    return false;
  }
}
