package dev.qcal.data;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * How samples of varying length are padded ({@code --pad NAME=VALUE}): per model input, the value its
 * padded positions hold (a one-element array of the input's type) or null for an input not padded.
 * The {@code k}-th pad axis ({@link InputSpec#padAxes()}) of every padded input is one padded length
 * ("pad axis k"): the padded inputs of one sample must have the same true length on it
 * ({@link #trueLengths}), and a batch pads them all to one length: the model's size where it fixes the
 * dimension, else the longest in the batch.
 */
public record Padding(List<InputSpec> inputs, Object[] values) implements Serializable {

  public Padding {
    inputs = List.copyOf(inputs);
    values = values.clone();
  }

  /**
   * The padding of {@code pads} (input name to its VALUE as text) for {@code inputs}; the inputs are
   * returned by {@link #inputs()} marked as padded. Throws an {@link IllegalArgumentException} naming the
   * input for an unknown input, a VALUE that is not a number or does not fit the input's type exactly,
   * or padded inputs of different numbers of pad axes.
   */
  public static Padding of(List<InputSpec> inputs, Map<String, String> pads) {
    Object[] values = new Object[inputs.size()];
    List<InputSpec> marked = new ArrayList<>(inputs);
    for (Map.Entry<String, String> p : pads.entrySet()) {
      int i = indexOf(inputs, p.getKey());
      InputSpec in = inputs.get(i);
      values[i] = value(in, p.getValue());
      marked.set(i, in.withPadding(true));
    }
    int axes = -1;
    for (InputSpec in : marked) {
      if (in.padded()) {
        if (axes >= 0 && in.padAxes().length != axes) {
          throw new IllegalArgumentException("--pad: padded inputs must have the same number of padded axes; '"
              + in.name() + "' " + in.describe() + " has " + in.padAxes().length + ", an earlier one " + axes);
        }
        axes = in.padAxes().length;
      }
    }
    return new Padding(marked, values);
  }

  private static int indexOf(List<InputSpec> inputs, String name) {
    for (int i = 0; i < inputs.size(); i++) {
      if (inputs.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException("--pad " + name + ": the model has no input '" + name + "' (inputs: "
        + inputs.stream().map(InputSpec::name).toList() + ")");
  }

  /** VALUE as a one-element array of {@code in}'s type, exactly. */
  private static Object value(InputSpec in, String text) {
    ElemType t = in.type();
    Object one = t.newArray(1);
    String why;
    String v = text.trim();
    if (t.isFloat()) {
      double d;
      try {
        d = Double.parseDouble(v);
      } catch (NumberFormatException e) {
        why = "'" + text + "' is not a number";
        throw new IllegalArgumentException("--pad " + in.name() + "=" + text + ": " + why);
      }
      why = Elements.putDouble(one, t, 0, d);
    } else {
      long l;
      try {
        l = Long.parseLong(v);
      } catch (NumberFormatException e) {
        why = isNumber(v) ? "'" + text + "' is not an integer, and input '" + in.name() + "' is " + t
            : "'" + text + "' is not a number";
        throw new IllegalArgumentException("--pad " + in.name() + "=" + text + ": " + why);
      }
      why = t == ElemType.BOOL && l != 0 && l != 1 ? l + " is not a bool (0 or 1)" : Elements.putLong(one, t, 0, l);
    }
    if (why != null) {
      throw new IllegalArgumentException("--pad " + in.name() + "=" + text + ": " + why + " (input '" + in.name()
          + "' is " + t + ")");
    }
    return one;
  }

  private static boolean isNumber(String v) {
    try {
      Double.parseDouble(v);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** Whether any input is padded. */
  public boolean any() {
    return Arrays.stream(values).anyMatch(v -> v != null);
  }

  /** The number of pad axes (0 when nothing is padded). */
  public int axes() {
    for (InputSpec in : inputs) {
      if (in.padded()) {
        return in.padAxes().length;
      }
    }
    return 0;
  }

  /**
   * The true length of {@code s} on each pad axis; throws a {@link BadRecordException} naming the source and
   * the inputs when its padded inputs disagree.
   */
  public long[] trueLengths(long[][] shapes, String source) {
    return trueLengths(inputs, shapes, source);
  }

  /** {@link #trueLengths(long[][], String)} for {@code inputs} (some marked padded). */
  public static long[] trueLengths(List<InputSpec> inputs, long[][] shapes, String source) {
    long[] lengths = null;
    String first = null;
    for (int i = 0; i < inputs.size(); i++) {
      InputSpec in = inputs.get(i);
      if (!in.padded()) {
        continue;
      }
      int[] axes = in.padAxes();
      long[] l = new long[axes.length];
      for (int k = 0; k < axes.length; k++) {
        l[k] = shapes[i][axes[k]];
      }
      if (lengths == null) {
        lengths = l;
        first = in.name();
      } else if (!Arrays.equals(lengths, l)) {
        throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, source + ": padded inputs '" + first
            + "' and '" + in.name() + "' have different true lengths " + Arrays.toString(lengths) + " and "
            + Arrays.toString(l) + " on their padded axes");
      }
    }
    return lengths == null ? new long[0] : lengths;
  }

  /**
   * {@code s} with each padded input padded to the model's size on its fixed pad axes (dynamic ones kept),
   * for consumers that batch samples by shape.
   */
  public Sample toFixed(Sample s) {
    Object[] values = s.values().clone();
    long[][] shapes = s.shapes().clone();
    for (int i = 0; i < inputs.size(); i++) {
      InputSpec in = inputs.get(i);
      long[] target = shapes[i].clone();
      for (int a : in.padAxes()) {
        target[a] = Math.max(target[a], in.dims()[a]);
      }
      if (!Arrays.equals(target, shapes[i])) {
        values[i] = padded(values[i], shapes[i], target, this.values[i]);
        shapes[i] = target;
      }
    }
    return new Sample(values, shapes, s.source());
  }

  /**
   * {@code s} with each padded input padded by {@code extra} positions on its dynamic pad axes and to the
   * model's size on its fixed ones: a probe of how tensor shapes follow the padded length.
   */
  public Sample extended(Sample s, long extra) {
    Object[] values = s.values().clone();
    long[][] shapes = s.shapes().clone();
    for (int i = 0; i < inputs.size(); i++) {
      InputSpec in = inputs.get(i);
      if (!in.padded()) {
        continue;
      }
      long[] target = shapes[i].clone();
      for (int a : in.padAxes()) {
        target[a] = in.dims()[a] >= 0 ? in.dims()[a] : target[a] + extra;
      }
      values[i] = padded(values[i], shapes[i], target, this.values[i]);
      shapes[i] = target;
    }
    return new Sample(values, shapes, s.source());
  }

  /**
   * {@code values} (row-major, {@code shape}) laid out in {@code target} (same rank, no dimension smaller)
   * with every position outside {@code shape} holding {@code padOne[0]}: a new array of the same type.
   */
  public static Object padded(Object values, long[] shape, long[] target, Object padOne) {
    int n = (int) Sample.elements(target);
    Object out = java.lang.reflect.Array.newInstance(values.getClass().getComponentType(), n);
    if (n == 0) {
      return out;
    }
    System.arraycopy(padOne, 0, out, 0, 1);
    for (int filled = 1; filled < n; filled *= 2) {
      System.arraycopy(out, 0, out, filled, Math.min(filled, n - filled));
    }
    int rank = shape.length;
    if (rank == 0 || Sample.elements(shape) == 0) {
      return out;
    }
    int run = (int) shape[rank - 1];
    long[] idx = new long[rank]; // idx[rank - 1] stays 0: one run per prefix
    for (int src = 0; src < ElemType.length(values); src += run) {
      long dst = 0;
      for (int a = 0; a < rank; a++) {
        dst = dst * target[a] + idx[a];
      }
      System.arraycopy(values, src, out, (int) dst, run);
      for (int a = rank - 2; a >= 0; a--) {
        if (++idx[a] < shape[a]) {
          break;
        }
        idx[a] = 0;
      }
    }
    return out;
  }
}
