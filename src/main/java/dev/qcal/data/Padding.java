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
 *
 * <p>With a mask ({@code --mask NAME}, {@code mask} its input's index, else -1) the rows are already padded:
 * the inputs of the mask's shape are the padded ones, fed unchanged (no values), and a sample's true length
 * is the number of leading non-zero values of its mask ({@link #maskLength}).
 */
public record Padding(List<InputSpec> inputs, Object[] values, int mask) implements Serializable {

  public Padding {
    inputs = List.copyOf(inputs);
    values = values.clone();
  }

  /** Padding by values ({@code --pad}), no mask. */
  public Padding(List<InputSpec> inputs, Object[] values) {
    this(inputs, values, -1);
  }

  /**
   * {@link #of(List, Map)}, or with {@code mask} (non-null) the padding of rows already padded: the inputs of
   * the mask input's shape are marked padded and their true length is read from the mask. Throws an
   * {@link IllegalArgumentException} naming the input for an unknown mask input, a float one, one that is
   * not {@code [N,L]}, or a mask given with {@code pads}.
   */
  public static Padding of(List<InputSpec> inputs, Map<String, String> pads, String mask) {
    if (mask == null) {
      return of(inputs, pads);
    }
    if (!pads.isEmpty()) {
      throw new IllegalArgumentException("--mask " + mask + ": give --mask (rows already padded, fed unchanged) or"
          + " --pad (rows padded by qcal), not both");
    }
    int m = indexOf(inputs, mask, "--mask");
    InputSpec in = inputs.get(m);
    if (in.type().isFloat()) {
      throw new IllegalArgumentException("--mask " + mask + ": input '" + mask + "' is " + in.type()
          + ", expected an integer or bool mask (1 valid, 0 padding)");
    }
    if (in.dims().length != 1) {
      throw new IllegalArgumentException("--mask " + mask + ": input '" + mask + "' is " + in.describe()
          + ", expected a mask [N,L] over one padded axis");
    }
    List<InputSpec> marked = new ArrayList<>(inputs);
    for (int i = 0; i < inputs.size(); i++) {
      if (Arrays.equals(inputs.get(i).dims(), in.dims())) {
        marked.set(i, inputs.get(i).withPadding(true));
      }
    }
    return new Padding(marked, new Object[inputs.size()], m);
  }

  /** Whether the rows are already padded and a mask input gives the true lengths ({@code --mask}). */
  public boolean masked() {
    return mask >= 0;
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
      int i = indexOf(inputs, p.getKey(), "--pad");
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

  private static int indexOf(List<InputSpec> inputs, String name, String option) {
    for (int i = 0; i < inputs.size(); i++) {
      if (inputs.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException(option + " " + name + ": the model has no input '" + name + "' (inputs: "
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
    return masked() || Arrays.stream(values).anyMatch(v -> v != null);
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

  /** Sample {@code s}'s true lengths: from its mask ({@link #maskLength}), else from its padded inputs' shapes. */
  public long[] trueLengths(Sample s) {
    return masked() ? new long[] {maskLength(inputs, mask, s.values(), s.shapes(), s.source())}
        : trueLengths(s.shapes(), s.source());
  }

  /**
   * The true length of a sample of rows already padded: the number of leading non-zero values of input
   * {@code mask}. Throws a {@link BadRecordException} naming {@code source} and the input when the mask is
   * not ones then zeros, or a padded input's shape is not the mask's (or not the model's fixed size: the rows
   * are fed unchanged).
   */
  public static long maskLength(List<InputSpec> inputs, int mask, Object[] values, long[][] shapes, String source) {
    InputSpec m = inputs.get(mask);
    for (int i = 0; i < inputs.size(); i++) {
      InputSpec in = inputs.get(i);
      if (in.padded() && (!Arrays.equals(shapes[i], shapes[mask]) || in.dims()[0] >= 0 && shapes[i][0] != in.dims()[0])) {
        throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, source + ": input '" + in.name() + "' has shape "
            + Arrays.toString(shapes[i]) + ", expected the shape of mask '" + m.name() + "', " + Arrays.toString(shapes[mask])
            + (in.dims()[0] >= 0 ? " and the model's " + in.describe() : "") + " (--mask: rows already padded, fed unchanged)");
      }
    }
    Object v = values[mask];
    int n = java.lang.reflect.Array.getLength(v);
    int length = 0;
    while (length < n && nonZero(v, length)) {
      length++;
    }
    for (int k = length + 1; k < n; k++) {
      if (nonZero(v, k)) {
        throw new BadRecordException(BadRecordException.BAD_MASK, source + ": mask input '" + m.name()
            + "' is not ones then zeros: position " + k + " is non-zero after a zero at position " + length);
      }
    }
    return length;
  }

  private static boolean nonZero(Object values, int k) {
    Object o = java.lang.reflect.Array.get(values, k);
    return o instanceof Boolean b ? b : ((Number) o).doubleValue() != 0;
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
    if (masked()) {
      return cut(s, extra);
    }
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
   * With a mask: {@code s} with each padded input cut to its true length plus {@code extra} (at most the row
   * length minus 2 plus {@code extra}, so two probes differ) where the model's dimension is dynamic; kept
   * whole where it is fixed.
   */
  private Sample cut(Sample s, long extra) {
    Object[] values = s.values().clone();
    long[][] shapes = s.shapes().clone();
    long rowLength = shapes[mask][0];
    long to = Math.max(0, Math.min(trueLengths(s)[0], rowLength - 2)) + extra;
    for (int i = 0; i < inputs.size(); i++) {
      InputSpec in = inputs.get(i);
      if (!in.padded() || in.dims()[0] >= 0 || to >= rowLength) {
        continue;
      }
      Object cut = java.lang.reflect.Array.newInstance(values[i].getClass().getComponentType(), (int) to);
      System.arraycopy(values[i], 0, cut, 0, (int) to);
      values[i] = cut;
      shapes[i] = new long[] {to};
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
