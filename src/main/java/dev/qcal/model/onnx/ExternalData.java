package dev.qcal.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.SparseTensorProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Tensors whose bytes live in external files (ONNX {@code data_location = EXTERNAL} with
 * {@code external_data} entries {@code location}, {@code offset}, {@code length}, {@code checksum}).
 * A location is a path relative to the model file's directory; one that is absolute, escapes that
 * directory with {@code ..}, or resolves (through symbolic links) outside it is refused, as is a file
 * too short for {@code offset + length}. A {@code checksum} entry is accepted and not verified.
 */
public final class ExternalData {

  /** Where one tensor's bytes are: {@code length} is -1 when the entry is absent (then the rest of the file). */
  public record Ref(String location, long offset, long length) {}

  private ExternalData() {}

  /** Whether {@code t} keeps its bytes in an external file. */
  public static boolean isExternal(TensorProto t) {
    return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
  }

  /** Whether any tensor of {@code model} (initializers, Constant and other attribute tensors, subgraphs) is external. */
  public static boolean uses(ModelProto model) {
    boolean[] found = {false};
    forEachTensor(model.getGraph(), t -> {
      found[0] |= isExternal(t);
      return t;
    });
    return found[0];
  }

  /** The distinct locations the model's external tensors name, in graph order. */
  public static Set<String> locations(ModelProto model) {
    Set<String> out = new LinkedHashSet<>();
    forEachTensor(model.getGraph(), t -> {
      if (isExternal(t)) {
        out.add(ref(t).location());
      }
      return t;
    });
    return out;
  }

  /**
   * The parsed {@code external_data} entries of {@code t}.
   *
   * @throws ModelException naming the tensor when {@code location} is missing or offset/length are not
   *     non-negative integers
   */
  public static Ref ref(TensorProto t) {
    String location = null;
    long offset = 0;
    long length = -1;
    for (StringStringEntryProto e : t.getExternalDataList()) {
      switch (e.getKey()) {
        case "location" -> location = e.getValue();
        case "offset" -> offset = number(t, e);
        case "length" -> length = number(t, e);
        default -> { } // checksum (not verified) and keys of newer ONNX versions
      }
    }
    if (location == null || location.isEmpty()) {
      throw new ModelException("tensor '" + t.getName() + "': external data has no 'location' entry");
    }
    return new Ref(location, offset, length);
  }

  private static long number(TensorProto t, StringStringEntryProto e) {
    try {
      long v = Long.parseLong(e.getValue().trim());
      if (v >= 0) {
        return v;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new ModelException("tensor '" + t.getName() + "': external data '" + e.getKey() + "' is '" + e.getValue()
        + "', expected a non-negative integer");
  }

  /** The bytes a tensor of this element type and shape holds, or -1 for variable-size types (strings). */
  static long expectedBytes(TensorProto t) {
    int width = switch (TensorProto.DataType.forNumber(t.getDataType())) {
      case FLOAT, INT32, UINT32 -> 4;
      case DOUBLE, INT64, UINT64, COMPLEX64 -> 8;
      case COMPLEX128 -> 16;
      case INT8, UINT8, BOOL, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ -> 1;
      case INT16, UINT16, FLOAT16, BFLOAT16 -> 2;
      default -> -1;
    };
    if (width < 0) {
      return -1;
    }
    long n = 1;
    for (long d : t.getDimsList()) {
      n = Math.multiplyExact(n, d);
    }
    return Math.multiplyExact(n, width);
  }

  /**
   * Checks every external tensor of a model read from {@code modelFile}: its location stays inside the
   * model's directory and its file holds {@code offset + length} bytes.
   *
   * @throws ModelException with a one-line message naming the model, the tensor and the path
   */
  public static void check(ModelProto model, Path modelFile) {
    Path dir = directory(modelFile);
    forEachTensor(model.getGraph(), t -> {
      if (isExternal(t)) {
        try {
          span(dir, t);
        } catch (ModelException e) {
          throw new ModelException(modelFile + ": " + e.getMessage(), e);
        }
      }
      return t;
    });
  }

  /** The directory external locations of {@code modelFile} are relative to. */
  public static Path directory(Path modelFile) {
    Path parent = modelFile.toAbsolutePath().getParent();
    return parent == null ? Path.of("/") : parent;
  }

  /** An external tensor's file and its byte range, checked. */
  record Span(Path file, long offset, long length) {}

  /**
   * Resolves an external tensor against {@code dir}.
   *
   * @throws ModelException naming the tensor and the location when the location is absolute, escapes
   *     {@code dir}, resolves outside it, is not a regular file, or is too short
   */
  static Span span(Path dir, TensorProto t) {
    if (dir == null) {
      throw new ModelException("tensor '" + t.getName() + "' keeps its data in an external file, which needs the"
          + " model's directory to read");
    }
    Ref ref = ref(t);
    String name = "tensor '" + t.getName() + "': external data location '" + ref.location() + "'";
    Path rel;
    try {
      rel = Path.of(ref.location());
    } catch (java.nio.file.InvalidPathException e) {
      throw new ModelException(name + " is not a valid path (" + e.getReason() + ")");
    }
    if (rel.isAbsolute() || ref.location().startsWith("/") || ref.location().startsWith("\\")) {
      throw new ModelException(name + " is absolute, expected a path relative to the model's directory " + dir);
    }
    Path normal = rel.normalize();
    if (normal.startsWith("..")) {
      throw new ModelException(name + " escapes the model's directory " + dir);
    }
    Path file = dir.resolve(normal);
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.exists(file)) {
      throw new ModelException(name + ": file " + file + " not found");
    }
    Path real;
    Path realDir;
    try {
      real = file.toRealPath();
      realDir = dir.toRealPath();
    } catch (IOException e) {
      throw new ModelException(name + ": cannot resolve " + file + " (" + e + ")", e);
    }
    if (!real.startsWith(realDir)) {
      throw new ModelException(name + ": " + file + " resolves to " + real + ", outside the model's directory " + realDir);
    }
    if (!Files.isRegularFile(real)) {
      throw new ModelException(name + ": " + file + " is not a regular file");
    }
    long size;
    try {
      size = Files.size(real);
    } catch (IOException e) {
      throw new ModelException(name + ": cannot read " + file + " (" + e + ")", e);
    }
    long expected = expectedBytes(t);
    long length = ref.length() >= 0 ? ref.length() : expected >= 0 ? expected : size - ref.offset();
    if (expected >= 0 && length != expected) {
      throw new ModelException(name + " has length " + length + ", but its type and shape need " + expected + " bytes");
    }
    if (ref.offset() > size || length > size - ref.offset()) {
      throw new ModelException(name + ": " + file + " holds " + size + " bytes, expected at least offset "
          + ref.offset() + " + length " + length + " = " + (ref.offset() + length));
    }
    return new Span(real, ref.offset(), length);
  }

  /**
   * {@code model} with every tensor passed through {@code edit}: graph initializers, sparse initializers'
   * values and indices, tensors of node attributes (Constant values and others) and, recursively, those of
   * subgraphs. {@code edit} returns the tensor to keep (the same object when unchanged).
   */
  public static ModelProto mapTensors(ModelProto model, UnaryOperator<TensorProto> edit) {
    return model.toBuilder().setGraph(forEachTensor(model.getGraph(), edit)).build();
  }

  /** {@code model} with each external location renamed by {@code rename} (the same name when it returns null). */
  public static ModelProto relocate(ModelProto model, UnaryOperator<String> rename) {
    return mapTensors(model, t -> {
      if (!isExternal(t)) {
        return t;
      }
      TensorProto.Builder b = t.toBuilder();
      for (int i = 0; i < b.getExternalDataCount(); i++) {
        StringStringEntryProto e = b.getExternalData(i);
        if (e.getKey().equals("location")) {
          String to = rename.apply(e.getValue());
          if (to != null) {
            b.setExternalData(i, e.toBuilder().setValue(to));
          }
        }
      }
      return b.build();
    });
  }

  private static GraphProto forEachTensor(GraphProto g, UnaryOperator<TensorProto> edit) {
    GraphProto.Builder b = null;
    for (int i = 0; i < g.getInitializerCount(); i++) {
      TensorProto t = g.getInitializer(i);
      TensorProto e = edit.apply(t);
      if (e != t) {
        b = b == null ? g.toBuilder() : b;
        b.setInitializer(i, e);
      }
    }
    for (int i = 0; i < g.getSparseInitializerCount(); i++) {
      SparseTensorProto s = g.getSparseInitializer(i);
      SparseTensorProto e = sparse(s, edit);
      if (e != s) {
        b = b == null ? g.toBuilder() : b;
        b.setSparseInitializer(i, e);
      }
    }
    for (int i = 0; i < g.getNodeCount(); i++) {
      NodeProto n = g.getNode(i);
      NodeProto.Builder nb = null;
      for (int a = 0; a < n.getAttributeCount(); a++) {
        AttributeProto attr = n.getAttribute(a);
        AttributeProto e = attribute(attr, edit);
        if (e != attr) {
          nb = nb == null ? n.toBuilder() : nb;
          nb.setAttribute(a, e);
        }
      }
      if (nb != null) {
        b = b == null ? g.toBuilder() : b;
        b.setNode(i, nb);
      }
    }
    return b == null ? g : b.build();
  }

  private static SparseTensorProto sparse(SparseTensorProto s, UnaryOperator<TensorProto> edit) {
    TensorProto v = edit.apply(s.getValues());
    TensorProto ix = edit.apply(s.getIndices());
    return v == s.getValues() && ix == s.getIndices() ? s : s.toBuilder().setValues(v).setIndices(ix).build();
  }

  private static AttributeProto attribute(AttributeProto a, UnaryOperator<TensorProto> edit) {
    AttributeProto.Builder b = null;
    if (a.hasT()) {
      TensorProto e = edit.apply(a.getT());
      if (e != a.getT()) {
        b = a.toBuilder().setT(e);
      }
    }
    List<TensorProto> tensors = new ArrayList<>(a.getTensorsList());
    boolean changed = false;
    for (int i = 0; i < tensors.size(); i++) {
      TensorProto e = edit.apply(tensors.get(i));
      changed |= e != tensors.get(i);
      tensors.set(i, e);
    }
    if (changed) {
      b = (b == null ? a.toBuilder() : b).clearTensors().addAllTensors(tensors);
    }
    if (a.hasSparseTensor()) {
      SparseTensorProto e = sparse(a.getSparseTensor(), edit);
      if (e != a.getSparseTensor()) {
        b = (b == null ? a.toBuilder() : b).setSparseTensor(e);
      }
    }
    if (a.hasG()) {
      GraphProto e = forEachTensor(a.getG(), edit);
      if (e != a.getG()) {
        b = (b == null ? a.toBuilder() : b).setG(e);
      }
    }
    List<GraphProto> graphs = new ArrayList<>(a.getGraphsList());
    changed = false;
    for (int i = 0; i < graphs.size(); i++) {
      GraphProto e = forEachTensor(graphs.get(i), edit);
      changed |= e != graphs.get(i);
      graphs.set(i, e);
    }
    if (changed) {
      b = (b == null ? a.toBuilder() : b).clearGraphs().addAllGraphs(graphs);
    }
    return b == null ? a : b.build();
  }
}
