package dev.qcal.cli;

import dev.qcal.model.plan.OnnxOpTypes;
import dev.qcal.model.plan.PlanOptions;
import java.io.PrintWriter;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** Which nodes are quantized: shared by {@code calibrate}, {@code quantize} and {@code inspect}. */
public final class PlanOptionsMixin {
  @Option(names = "--op-types", split = ",", defaultValue = "Conv,Gemm,MatMul,LSTM,GRU", paramLabel = "OP",
      description = "Op types to quantize, comma-separated (default: ${DEFAULT-VALUE}, chosen by measurement on CNNs"
          + " and transformer blocks); the others (Add, Mul, Softmax, LayerNormalization, Gelu, Gather, Where,"
          + " pass-through ops, ...) and why they are not defaults: README 'What is quantized', 'Transformer models',"
          + " and qcal inspect. ONNX Runtime's contrib ops: com.microsoft.Attention, com.microsoft.SkipLayerNormalization"
          + " (a plain name selects the com.microsoft op too; each node is matched by its domain)."
          + " Relu and Clip are accepted (they are folded into a quantized producer's output);"
          + " an ONNX op type with no rule gets one warning and its nodes stay FP32; a name that is no ONNX op"
          + " type is an error.")
  List<String> opTypes;

  @Option(names = "--exclude-nodes", split = ",", paramLabel = "NAME",
      description = "Nodes left in FP32: names or glob patterns (* and ?), comma-separated; each must match a node.")
  List<String> excludeNodes;

  @Option(names = "--exclude-op-types", split = ",", paramLabel = "OP",
      description = "Op types left in FP32, comma-separated.")
  List<String> excludeOpTypes;

  @Option(names = "--exclude-depthwise", defaultValue = "false",
      description = "Leave depthwise Convs (one input channel per group) in FP32 (default: ${DEFAULT-VALUE}).")
  boolean excludeDepthwise;

  /**
   * The options, checked: a name that is no ONNX op type is a usage error (with the closest op type); for an op
   * type with no rule one warning line goes to {@code err} and its nodes stay FP32.
   */
  PlanOptions toOptions(PrintWriter err) {
    Set<String> ops = new LinkedHashSet<>();
    for (String op : opTypes == null ? List.<String>of() : opTypes) {
      String o = op.strip();
      if (o.isEmpty()) {
        continue;
      }
      if (!OnnxOpTypes.contains(o)) {
        String near = OnnxOpTypes.closest(o);
        throw new UsageException("--op-types '" + o + "': not an ONNX op type"
            + (near == null ? "" : "; did you mean " + near + "?"));
      }
      ops.add(o);
    }
    List<String> nodes = excludeNodes == null ? List.of()
        : excludeNodes.stream().map(String::strip).filter(x -> !x.isEmpty()).toList();
    Set<String> exOps = new LinkedHashSet<>();
    if (excludeOpTypes != null) {
      excludeOpTypes.stream().map(String::strip).filter(x -> !x.isEmpty()).forEach(exOps::add);
    }
    PlanOptions options = new PlanOptions(ops, nodes, exOps, excludeDepthwise);
    for (String op : options.unruledOpTypes()) {
      err.println("qcal: warning: --op-types " + op + ": no quantization rule for this op type; its nodes stay FP32");
    }
    return options;
  }
}
