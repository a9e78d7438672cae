package dev.qcal.model.plan;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.ModelException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The nodes {@link PlanOptions} leave in FP32, with the reason; exclusions that match nothing are errors. */
final class NodeExclusions {
  private final PlanOptions options;
  private final QdqGraph graph;
  private final Map<String, Pattern> patterns = new LinkedHashMap<>();
  private final java.util.Set<String> matched = new java.util.HashSet<>();

  NodeExclusions(PlanOptions options, QdqGraph graph) {
    this.options = options;
    this.graph = graph;
    for (String p : options.excludeNodes()) {
      patterns.put(p, glob(p));
    }
  }

  /** Why {@code n} is excluded, or null. */
  String reason(NodeProto n) {
    for (Map.Entry<String, Pattern> e : patterns.entrySet()) {
      if (e.getValue().matcher(n.getName()).matches() || e.getValue().matcher(graph.id(n)).matches()) {
        matched.add(e.getKey());
        return "excluded by --exclude-nodes " + e.getKey();
      }
    }
    if (options.excludeOpTypes().contains(n.getOpType())) {
      return "excluded by --exclude-op-types " + n.getOpType();
    }
    if (options.excludeOpTypes().contains(QdqOpRules.key(n))) {
      return "excluded by --exclude-op-types " + QdqOpRules.key(n);
    }
    if (options.excludeDepthwise() && isDepthwise(n)) {
      return "depthwise Conv excluded by --exclude-depthwise";
    }
    return null;
  }

  /** Conv with group > 1 and one input channel per group (weight [M, 1, k...]). */
  boolean isDepthwise(NodeProto n) {
    if (!n.getOpType().equals("Conv") || QdqGraph.intAttr(n, "group", 1) <= 1) {
      return false;
    }
    TensorProto w = graph.initializer(QdqGraph.input(n, 1));
    return w != null && w.getDimsCount() >= 2 && w.getDims(1) == 1;
  }

  void checkAllMatched() {
    List<String> unmatched = patterns.keySet().stream().filter(p -> !matched.contains(p)).toList();
    if (!unmatched.isEmpty()) {
      throw new ModelException("--exclude-nodes " + String.join(", ", unmatched)
          + ": matches no node of the model (node names are matched whole; use * for any run of characters)");
    }
  }

  /** {@code *} is any run of characters, {@code ?} any one; everything else is literal. */
  static Pattern glob(String g) {
    StringBuilder re = new StringBuilder();
    StringBuilder lit = new StringBuilder();
    for (char c : g.toCharArray()) {
      if (c == '*' || c == '?') {
        if (lit.length() > 0) {
          re.append(Pattern.quote(lit.toString()));
          lit.setLength(0);
        }
        re.append(c == '*' ? ".*" : ".");
      } else {
        lit.append(c);
      }
    }
    if (lit.length() > 0) {
      re.append(Pattern.quote(lit.toString()));
    }
    return Pattern.compile(re.toString());
  }
}
