package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.onnx.TensorShape;
import dev.qcal.model.prepare.ShapeInference;
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

  /** An axis inference left open, decided by {@link #resolve}. */
  static final int UNKNOWN = -3;

  /** Per tensor, per axis: the pad axis it runs over, -1, or {@link #UNKNOWN}; null: rank unknown. */
  private final Map<String, int[]> axes;
  private final String option;
  private final String remedy;

  private PaddedAxes(Map<String, int[]> axes, String option, String remedy) {
    this.axes = axes;
    this.option = option;
    this.remedy = remedy;
  }

  /**
   * Traces {@code tensors} of {@code model}; {@code padAxes} gives each padded input's pad axes (sample
   * axes, after the batch axis). Axes inference cannot decide are left to {@link #resolve}, whose error
   * names the option that asked for the exclusion ({@code --pad} or {@code --mask}) and the tensor, with
   * {@code remedy} appended.
   */
  public static PaddedAxes trace(ModelProto model, Map<String, int[]> padAxes, List<String> tensors, String option,
      String remedy) {
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
      TensorShapeProto shape = symbolic(in.getType().getTensorType().getShape(),
          padAxes.getOrDefault(in.getName(), new int[0]), i, inputSymbols);
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
      out.put(t, batchFirst(option, t, axesOf(r.shape(t), inputSymbols), remedy));
    }
    return new PaddedAxes(out, option, remedy);
  }

  /**
   * {@code k}, refused when tensor {@code t}'s first axis runs over a pad axis: its batch axis is not first (a
   * sequence-first {@code [L, N, H]} activation, or a {@code [L, H]} one with no batch axis), and the per-row
   * boxes of valid positions assume the batch axis first.
   */
  private static int[] batchFirst(String option, String t, int[] k, String remedy) {
    if (k != null && k.length > 0 && k[0] >= 0) {
      throw untraceable(option, t, "its first axis runs over the padded length (a sequence-first tensor, or one"
          + " without a batch axis), and positions are left out per row along a first batch axis", remedy);
    }
    return k;
  }

  /**
   * Input {@code i}'s {@code shape} as inference sees it: pad axis k ({@code pads[k]}, after the batch axis)
   * the symbol {@code qcal_pad_k}, another dynamic dimension the model's symbol (shared between inputs) or
   * one of its own, added to {@code inputSymbols}; a fixed dimension kept.
   */
  private static TensorShapeProto symbolic(TensorShapeProto declared, int[] pads, int i, Set<String> inputSymbols) {
    TensorShapeProto.Builder shape = declared.toBuilder();
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
    return shape.build();
  }

  /**
   * Per axis of an inferred shape: the pad axis it runs over, -1 (a known size or an input's other symbol)
   * or {@link #UNKNOWN}; null when the rank is unknown.
   */
  private static int[] axesOf(TensorShape s, Set<String> inputSymbols) {
    if (!s.hasRank()) {
      return null;
    }
    int[] k = new int[s.rank()];
    for (int a = 0; a < k.length; a++) {
      TensorShape.Dim d = s.dim(a);
      k[a] = -1;
      if (d.known() || d.symbol() != null && inputSymbols.contains(d.symbol())) {
        continue;
      }
      k[a] = d.symbol() != null && d.symbol().startsWith(SYMBOL)
          ? Integer.parseInt(d.symbol().substring(SYMBOL.length())) : UNKNOWN;
    }
    return k;
  }

  /** Whether inference decided every axis of every tensor. */
  public boolean complete() {
    return axes.values().stream().allMatch(k -> k != null && java.util.Arrays.stream(k).noneMatch(x -> x == UNKNOWN));
  }

  /**
   * Decides the axes inference left open from two runs of the model on one sample padded to two lengths:
   * {@code shapesA} (every tensor's shape, batch axis included) at pad lengths {@code lengthsA} (one per pad
   * axis) and {@code shapesB} at {@code lengthsB}. An open axis whose size is the same in both runs, and
   * not a pad length, does not depend on it; one whose size is pad axis k's length in both runs, with
   * different lengths, runs over pad axis k; any other throws a {@link ModelException} naming the tensor.
   */
  public PaddedAxes resolve(Map<String, long[]> shapesA, long[] lengthsA, Map<String, long[]> shapesB,
      long[] lengthsB) {
    Map<String, int[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, int[]> e : axes.entrySet()) {
      String t = e.getKey();
      long[] a = shapesA.get(t);
      long[] b = shapesB.get(t);
      int[] k = e.getValue();
      if (a == null || b == null || a.length != b.length || k != null && k.length != a.length) {
        throw untraceable(option, t, "its rank is unknown to shape inference and not the same in two runs", remedy);
      }
      k = k == null ? filled(a.length) : k.clone();
      for (int x = 0; x < k.length; x++) {
        if (k[x] != UNKNOWN) {
          continue;
        }
        int found = -1;
        for (int p = 0; p < lengthsA.length; p++) {
          if (a[x] == lengthsA[p] && b[x] == lengthsB[p]) {
            found = lengthsA[p] != lengthsB[p] ? p : -2; // -2: a fixed pad length, ambiguous
          }
        }
        if (found >= 0) {
          k[x] = found;
        } else if (found == -1 && a[x] == b[x]) {
          k[x] = -1;
        } else {
          throw untraceable(option, t, "axis " + x + " (size " + a[x] + " and " + b[x] + " at pad lengths "
              + java.util.Arrays.toString(lengthsA) + " and " + java.util.Arrays.toString(lengthsB)
              + ") may depend on the padded length", remedy);
        }
      }
      out.put(t, batchFirst(option, t, k, remedy));
    }
    return new PaddedAxes(out, option, remedy);
  }

  private static int[] filled(int n) {
    int[] k = new int[n];
    java.util.Arrays.fill(k, UNKNOWN);
    return k;
  }

  private static ModelException untraceable(String option, String tensor, String why, String remedy) {
    return new ModelException(option + ": cannot tell the padded positions of tensor '" + tensor + "': " + why + remedy);
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
