package dev.qcal.cli;

import dev.qcal.model.PlanOptions;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** Which nodes are quantized: shared by {@code calibrate}, {@code quantize} and {@code inspect}. */
public final class PlanOptionsMixin {
  @Option(names = "--op-types", split = ",", defaultValue = "Conv,Gemm,MatMul", paramLabel = "OP",
      description = "Op types to quantize, comma-separated (default: ${DEFAULT-VALUE}, chosen by measurement on CNNs"
          + " and transformer blocks); the others (Add, Mul, Softmax, LayerNormalization, Gelu, Gather, Where,"
          + " pass-through ops, ...) and why they are not defaults: README 'What is quantized', 'Transformer models',"
          + " and qcal inspect.")
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

  PlanOptions toOptions() {
    Set<String> ops = new LinkedHashSet<>();
    for (String op : opTypes == null ? List.<String>of() : opTypes) {
      if (!op.isBlank() && !PlanOptions.knownOpTypes().contains(op.strip())) {
        throw new UsageException("--op-types '" + op.strip() + "': no quantization rule for it; known: "
            + String.join(",", PlanOptions.knownOpTypes()));
      }
      if (!op.isBlank()) {
        ops.add(op.strip());
      }
    }
    List<String> nodes = excludeNodes == null ? List.of()
        : excludeNodes.stream().map(String::strip).filter(x -> !x.isEmpty()).toList();
    Set<String> exOps = new LinkedHashSet<>();
    if (excludeOpTypes != null) {
      excludeOpTypes.stream().map(String::strip).filter(x -> !x.isEmpty()).forEach(exOps::add);
    }
    return new PlanOptions(ops, nodes, exOps, excludeDepthwise);
  }
}
