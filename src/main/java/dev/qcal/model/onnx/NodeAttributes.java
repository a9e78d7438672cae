package dev.qcal.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.Optional;

/** Reading a node's attributes by name, with the operator's default when absent. */
public final class NodeAttributes {

  private NodeAttributes() {}

  public static Optional<AttributeProto> find(NodeProto node, String name) {
    for (AttributeProto a : node.getAttributeList()) {
      if (a.getName().equals(name)) {
        return Optional.of(a);
      }
    }
    return Optional.empty();
  }

  public static long intOr(NodeProto node, String name, long defaultValue) {
    return find(node, name).map(AttributeProto::getI).orElse(defaultValue);
  }

  public static String stringOr(NodeProto node, String name, String defaultValue) {
    return find(node, name).map(a -> a.getS().toStringUtf8()).orElse(defaultValue);
  }

  /** An INTS attribute, or null when absent. */
  public static long[] ints(NodeProto node, String name) {
    return find(node, name).map(a -> a.getIntsList().stream().mapToLong(Long::longValue).toArray()).orElse(null);
  }

  /** A FLOATS attribute, or null when absent. */
  public static float[] floats(NodeProto node, String name) {
    Optional<AttributeProto> a = find(node, name);
    if (a.isEmpty()) {
      return null;
    }
    float[] f = new float[a.get().getFloatsCount()];
    for (int k = 0; k < f.length; k++) {
      f[k] = a.get().getFloats(k);
    }
    return f;
  }
}
