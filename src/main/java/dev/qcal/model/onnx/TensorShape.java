package dev.qcal.model.onnx;

import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A tensor's static shape as far as it is known: no rank at all, or a rank whose dimensions are each a
 * value, a symbol (a named dynamic dimension) or unknown. Never a guess: what is not known is unknown.
 *
 * @param dims the dimensions, or null when the rank is unknown
 */
public record TensorShape(List<Dim> dims) {

  /** The shape of a tensor nothing is known about. */
  public static final TensorShape UNKNOWN = new TensorShape(null);

  public TensorShape {
    dims = dims == null ? null : Collections.unmodifiableList(new ArrayList<>(dims));
  }

  /**
   * One dimension, or one element of a small integer tensor whose values are propagated (shape
   * arithmetic: values may then be negative, as in a Reshape target's -1).
   *
   * @param value the value, or null when not known
   * @param symbol the name of a dynamic dimension (equal symbols are equal sizes), or null
   */
  public record Dim(Long value, String symbol) {

    public static final Dim UNKNOWN = new Dim(null, null);

    public static Dim of(long value) {
      return new Dim(value, null);
    }

    public static Dim symbol(String name) {
      return name == null || name.isEmpty() ? UNKNOWN : new Dim(null, name);
    }

    public boolean known() {
      return value != null;
    }

    /** True when both are the same value or the same symbol. */
    public boolean sameAs(Dim other) {
      return known() ? value.equals(other.value) : symbol != null && symbol.equals(other.symbol);
    }

    @Override
    public String toString() {
      return known() ? value.toString() : symbol != null ? symbol : "?";
    }
  }

  /** A shape of known values. */
  public static TensorShape of(long... dims) {
    List<Dim> d = new ArrayList<>();
    for (long v : dims) {
      d.add(Dim.of(v));
    }
    return new TensorShape(d);
  }

  /** A shape of known rank whose dimensions are all unknown. */
  public static TensorShape ofRank(int rank) {
    return rank < 0 ? UNKNOWN : new TensorShape(Collections.nCopies(rank, Dim.UNKNOWN));
  }

  /** The shape a value info declares: unknown when it has none. */
  public static TensorShape declared(TypeProto.Tensor t) {
    if (t == null || !t.hasShape()) {
      return UNKNOWN;
    }
    List<Dim> d = new ArrayList<>();
    for (TensorShapeProto.Dimension dim : t.getShape().getDimList()) {
      d.add(dim.hasDimValue() && dim.getDimValue() >= 0 ? Dim.of(dim.getDimValue()) : Dim.symbol(dim.getDimParam()));
    }
    return new TensorShape(d);
  }

  /** The rank, or -1 when unknown. */
  public int rank() {
    return dims == null ? -1 : dims.size();
  }

  public boolean hasRank() {
    return dims != null;
  }

  public Dim dim(int k) {
    return dims.get(k);
  }

  /** True when every dimension is a known value. */
  public boolean fullyKnown() {
    return dims != null && dims.stream().allMatch(Dim::known);
  }

  /** The dimensions as values, when all are known. */
  public long[] values() {
    if (!fullyKnown()) {
      throw new IllegalStateException("shape " + this + " is not fully known");
    }
    return dims.stream().mapToLong(Dim::value).toArray();
  }

  /**
   * This shape completed by {@code other} (another account of the same tensor): a rank known on one side
   * only is taken, and a dimension unknown here takes the other's value or symbol. When both know the
   * rank and disagree, this shape is kept.
   */
  public TensorShape mergedWith(TensorShape other) {
    if (!hasRank()) {
      return other;
    }
    if (!other.hasRank() || other.rank() != rank()) {
      return this;
    }
    List<Dim> d = new ArrayList<>(dims);
    for (int k = 0; k < d.size(); k++) {
      Dim mine = d.get(k);
      Dim theirs = other.dim(k);
      if (!mine.known() && (theirs.known() || mine.symbol() == null)) {
        d.set(k, theirs);
      }
    }
    return new TensorShape(d);
  }

  /** Numpy multidirectional broadcasting; unknown as soon as one rank is. */
  public static TensorShape broadcast(List<TensorShape> ins) {
    int rank = 0;
    for (TensorShape s : ins) {
      if (!s.hasRank()) {
        return UNKNOWN;
      }
      rank = Math.max(rank, s.rank());
    }
    List<Dim> out = new ArrayList<>();
    for (int k = 0; k < rank; k++) {
      Dim result = Dim.of(1);
      boolean unknown = false;
      for (TensorShape s : ins) {
        int j = k - (rank - s.rank());
        Dim d = j < 0 ? Dim.of(1) : s.dim(j);
        if (d.known() && d.value() != 1) {
          result = d; // any other dimension is 1 or this value in a valid model
          unknown = false;
          break;
        }
        if (d.known()) {
          continue;
        }
        if (result.known() || (!unknown && result.sameAs(d))) {
          unknown = unknown || d.symbol() == null;
          result = d;
        } else {
          unknown = true;
        }
      }
      out.add(unknown ? Dim.UNKNOWN : result);
    }
    return new TensorShape(out);
  }

  @Override
  public String toString() {
    return dims == null ? "[unknown rank]" : dims.toString().replace(" ", "");
  }
}
