package dev.qcal.cli;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.jobs.RangeOptions;
import dev.qcal.jobs.Rehearsal;
import dev.qcal.jobs.WorkDir;
import dev.qcal.model.onnx.IrVersions;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.prepare.FixedBatch;
import dev.qcal.model.prepare.ModelPreparer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code qcal inspect}: a model's inputs, outputs and the tensors calibration would observe. */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description = "Prints the model's inputs and outputs, how it is prepared, and the tensors that would be calibrated"
        + " with the given --op-types and exclusions (the same options as calibrate and quantize).")
public final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "M.onnx", converter = ModelFile.class,
      description = "ONNX model.")
  Path model;

  @Option(names = "--quantized", paramLabel = "Q.onnx", converter = ModelFile.class,
      description = "A quantized model of --model: print, per node, which inputs and outputs it quantizes.")
  Path quantized;

  @Option(names = "--input-shape", paramLabel = "NAME=D0,D1,...",
      description = "Full input shape (with batch) to verify the prepared model with, e.g. x=1,3,48,192. Without it an"
          + " input with dynamic dimensions past the batch leaves the prepared model unverified (everything else is"
          + " printed).")
  List<String> inputShapes;

  @Mixin RangeOptionsMixin rangeOptions;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    RangeOptions ranges = rangeOptions.toOptions(spec.commandLine().getErr());
    dev.qcal.model.plan.PlanOptions options = ranges.plan();
    ModelProto m = OnnxModels.load(model);
    String sha = OnnxModels.sha256(model);
    ModelProto q = quantized == null ? null : OnnxModels.load(quantized);
    if (q != null) {
      requireQuantizedOf(m, sha, q);
    }
    java.io.StringWriter header = new java.io.StringWriter(); // printed once the model is prepared: all or nothing
    printModel(new PrintWriter(header, true), m, sha);
    Map<String, long[]> shapes = DataFormatMixin.parseShapes("--input-shape", inputShapes);
    ValueInfoProto unshaped = unshapedInput(m, shapes);
    try (WorkDir work = WorkDir.create("qcal-inspect-")) {
      org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
      int opset = ranges.preparedOpset(conf);
      ModelPreparer.Prepared p = unshaped == null ? ModelPreparer.prepare(model, work.path(), shapes, opset)
          : ModelPreparer.transform(model, work.path(), opset, () -> {
            throw new UsageException("preparing " + model + " needs one run of it, and input " + describe(unshaped)
                + " has dynamic dimensions: give its full shape, e.g. " + shapeHint(unshaped));
          }).withoutVerification();
      out.print(header);
      out.println("prepared: opset " + p.sourceOpset() + " -> " + p.opset() + ", " + p.foldedConstants()
          + " constants folded, " + p.foldedBatchNorms() + " batch norms folded" + (p.verified()
              ? ", outputs verified against the original (max |diff| " + p.maxAbsDiff() + ")"
              : "; not verified against the original: input '" + unshaped.getName() + "' has dynamic dimensions"
                  + " past the batch (to verify, give its full shape, e.g. " + shapeHint(unshaped) + ")"));
      if (p.irLowered()) {
        out.println("prepared: " + IrVersions.describe(p.sourceIrVersion(), p.irVersion()));
      }
      CalibrationPlan plan = CalibrationPlan.of(p.model(), options);
      out.println("calibrated activations (" + plan.activations().size() + "):");
      for (String t : plan.activations()) {
        out.println("  " + t);
      }
      out.println("quantized weights (" + plan.weights().size() + "):");
      for (CalibrationPlan.WeightRef w : plan.weights()) {
        out.println("  " + w.initializer() + " (node " + w.node() + ", axis " + w.axis() + ")");
      }
      printNodes(out, plan);
      // what calibrate would fail on after its data pass (the Q/DQ rewrite, the writers), and the types it writes
      ModelProto rehearsed = Rehearsal.run(p.model(), p.file().getParent(), plan, ranges, conf, model.toString());
      out.println("rehearsed: the Q/DQ rewrite of this plan succeeds with placeholder ranges; with these options"
          + " calibrate writes (activations " + ranges.activationType().id() + ", weights " + weights(ranges)
          + (ranges.configFile() == null ? "" : ", per-tensor types from --config") + "):");
      printQuantized(out, rehearsed, "rehearsed model", ranges.weightType().id());
      if (q != null) {
        printQuantized(out, q, "quantized model", null);
      }
    }
    return Main.OK;
  }

  /** The model's header: file, opset, IR version, SHA-256, inputs and outputs, and how it is batched. */
  private void printModel(PrintWriter out, ModelProto m, String sha) {
    out.println("model: " + model + " (opset " + OnnxModels.opset(m) + ", IR version " + m.getIrVersion() + ", sha256 "
        + sha + ")");
    for (ValueInfoProto v : m.getGraph().getInputList()) {
      out.println("input:  " + describe(v));
    }
    for (ValueInfoProto v : m.getGraph().getOutputList()) {
      out.println("output: " + describe(v));
    }
    dev.qcal.jobs.WholeInputs.Described whole = dev.qcal.jobs.WholeInputs.describe(m, model.toString());
    int fixedBatch = whole != null && whole.wholeOnly() ? 0 : FixedBatch.of(m, model.toString());
    if (fixedBatch > 0) {
      out.println("batch: fixed at " + fixedBatch + " samples; calibrate and evaluate feed exactly " + fixedBatch
          + " per batch (--batch-size is ignored)");
    }
    if (whole != null) {
      out.println(whole.line());
    }
  }

  /**
   * The first graph input (not an initializer) with dynamic dimensions past the batch and no {@code
   * --input-shape}: the prepared model cannot be run to verify it; null when every input has a shape.
   */
  private static ValueInfoProto unshapedInput(ModelProto m, Map<String, long[]> shapes) {
    java.util.Set<String> inits = new java.util.HashSet<>();
    m.getGraph().getInitializerList().forEach(t -> inits.add(t.getName()));
    for (ValueInfoProto v : m.getGraph().getInputList()) {
      var dims = v.getType().getTensorType().getShape().getDimList();
      boolean dynamic = dims.stream().skip(1).anyMatch(d -> !d.hasDimValue() || d.getDimValue() <= 0);
      if (dynamic && !shapes.containsKey(v.getName()) && !inits.contains(v.getName())) {
        return v;
      }
    }
    return null;
  }

  /** {@code --input-shape x=1,3,?,?}: the declared shape with batch 1 and a ? for each other dynamic dimension. */
  private static String shapeHint(ValueInfoProto v) {
    var dims = v.getType().getTensorType().getShape().getDimList();
    StringBuilder b = new StringBuilder("--input-shape ").append(v.getName()).append('=');
    for (int i = 0; i < dims.size(); i++) {
      var d = dims.get(i);
      b.append(i > 0 ? "," : "").append(d.hasDimValue() && d.getDimValue() > 0 ? Long.toString(d.getDimValue())
          : i == 0 ? "1" : "?");
    }
    return b.append(" with a number for each ?").toString();
  }

  /**
   * Refuses a {@code --quantized} model that was not made from {@code --model}: its {@code qcal.model_sha256}
   * differs from the model's SHA-256 or, without that metadata (another tool's model), its graph inputs or
   * outputs differ from the model's.
   */
  void requireQuantizedOf(ModelProto m, String sha, ModelProto q) {
    String recorded = q.getMetadataPropsList().stream().filter(e -> e.getKey().equals("qcal.model_sha256"))
        .map(e -> e.getValue()).findFirst().orElse(null);
    if (recorded != null && !recorded.equals(sha)) {
      throw new UsageException("--quantized " + quantized + " was not made from --model " + model
          + ": its qcal.model_sha256 is " + recorded + ", the model's SHA-256 is " + sha);
    }
    for (boolean inputs : new boolean[] {true, false}) {
      List<String> mine = ioNames(m, inputs);
      List<String> theirs = ioNames(q, inputs);
      if (!mine.equals(theirs)) {
        throw new UsageException("--quantized " + quantized + " does not match --model " + model + ": its graph "
            + (inputs ? "inputs " : "outputs ") + theirs + " differ from the model's " + mine);
      }
    }
  }

  /** The names of a graph's inputs fed at run time (initializers left out) or of its outputs. */
  private static List<String> ioNames(ModelProto m, boolean inputs) {
    java.util.Set<String> inits = new java.util.HashSet<>();
    m.getGraph().getInitializerList().forEach(t -> inits.add(t.getName()));
    return (inputs ? m.getGraph().getInputList() : m.getGraph().getOutputList()).stream().map(ValueInfoProto::getName)
        .filter(n -> !inputs || !inits.contains(n)).toList();
  }

  /** Per node of the prepared model: what the plan quantizes, or why it stays FP32. */
  static void printNodes(PrintWriter out, CalibrationPlan plan) {
    Map<String, List<CalibrationPlan.WeightRef>> weights = new LinkedHashMap<>();
    plan.weights().forEach(w -> weights.computeIfAbsent(w.node(), k -> new java.util.ArrayList<>()).add(w));
    long quantizedNodes = plan.nodes().stream().filter(CalibrationPlan.NodeDecision::quantized).count();
    out.println("nodes (" + quantizedNodes + " of " + plan.nodes().size() + " quantized):");
    for (CalibrationPlan.NodeDecision d : plan.nodes()) {
      StringBuilder b = new StringBuilder("  ").append(d.quantized() ? "QDQ  " : "FP32 ").append(d.opType())
          .append(" '").append(d.node()).append("': ");
      if (d.quantized()) {
        b.append(d.reason());
        for (CalibrationPlan.WeightRef w : weights.getOrDefault(d.node(), List.of())) {
          b.append("; weight ").append(w.initializer()).append(" (channel axis ").append(w.axis()).append(')');
          if (w.biasInitializer() != null) {
            b.append(", bias ").append(w.biasInitializer()).append(" int32");
          }
        }
        if (!d.details().isEmpty()) {
          b.append("; ").append(d.details());
        }
      } else {
        b.append(d.reason());
      }
      out.println(b);
    }
    if (!plan.skipped().isEmpty()) {
      out.println("left in float (" + plan.skipped().size() + "):");
      plan.skipped().forEach(s -> out.println("  " + s));
    }
  }

  /**
   * Per compute node of a quantized model (Q/DQ nodes themselves left out): how many of its inputs come
   * from a DequantizeLinear, whether its output feeds a QuantizeLinear, and the integer types (with axis
   * and block size) of those; then its provenance. Conv/ConvTranspose weights kept int8 when the model's
   * weight type is 4-bit say why. {@code rehearsedWeightType}: the weight type of a rehearsal's model (which
   * has no metadata), null for a quantized model given by the user (its metadata is printed).
   */
  static void printQuantized(PrintWriter out, ModelProto q, String label, String rehearsedWeightType) {
    boolean metadata = rehearsedWeightType == null;
    Map<String, ai.onnx.proto.OnnxMl.NodeProto> dqs = new java.util.HashMap<>();
    Map<String, ai.onnx.proto.OnnxMl.NodeProto> quantizers = new java.util.HashMap<>();
    Map<String, Integer> initTypes = new java.util.HashMap<>();
    q.getGraph().getInitializerList().forEach(t -> initTypes.put(t.getName(), t.getDataType()));
    String weightType = metadata ? q.getMetadataPropsList().stream().filter(e -> e.getKey().equals("qcal.weight_type"))
        .map(e -> e.getValue()).findFirst().orElse("int8") : rehearsedWeightType;
    Map<String, String> producerOp = new java.util.HashMap<>();
    Map<String, List<String>> consumerOps = new java.util.HashMap<>();
    for (var n : q.getGraph().getNodeList()) {
      if (n.getOpType().equals("DequantizeLinear")) {
        dqs.put(n.getOutput(0), n);
      }
      if (n.getOpType().equals("QuantizeLinear")) {
        quantizers.put(n.getInput(0), n);
      }
      n.getOutputList().forEach(o -> producerOp.put(o, n.getOpType()));
      n.getInputList().forEach(i -> consumerOps.computeIfAbsent(i, k -> new java.util.ArrayList<>()).add(n.getOpType()));
    }
    List<String> lines = new java.util.ArrayList<>();
    int qdq = 0;
    for (var n : q.getGraph().getNodeList()) {
      if (n.getOpType().equals("QuantizeLinear") || n.getOpType().equals("DequantizeLinear")) {
        qdq++;
        continue;
      }
      long inputs = n.getInputList().stream().filter(i -> !i.isEmpty()).count();
      long dq = n.getInputList().stream().filter(i -> "DequantizeLinear".equals(producerOp.get(i))).count();
      boolean outQ = n.getOutputCount() > 0
          && consumerOps.getOrDefault(n.getOutput(0), List.of()).contains("QuantizeLinear");
      String name = n.getName().isEmpty() ? n.getOpType() + "(" + n.getOutput(0) + ")" : n.getName();
      String what = dq == 0 && !outQ ? "FP32: no input dequantized, output not quantized"
          : dq + "/" + inputs + " inputs dequantized, output " + (outQ ? "quantized" : "float");
      if (dq > 0 || outQ) {
        List<String> types = new java.util.ArrayList<>();
        for (String in : n.getInputList()) {
          var d = dqs.get(in);
          if (d != null) {
            types.add(describeQ(d, initTypes));
          }
        }
        if (outQ) {
          types.add("out " + describeQ(quantizers.get(n.getOutput(0)), initTypes));
        }
        what += " [" + String.join(", ", types) + "]";
        boolean conv = n.getOpType().equals("Conv") || n.getOpType().equals("ConvTranspose");
        if (conv && weightType.endsWith("4") && types.stream().anyMatch(t -> t.startsWith("int8"))) {
          what += "; weight int8, not " + weightType + ": ONNX Runtime has no 4-bit " + n.getOpType() + " kernels";
        }
      }
      lines.add("  " + n.getOpType() + " '" + name + "': " + what);
    }
    out.println(label + ": opset " + OnnxModels.opset(q));
    out.println(label + ": " + lines.size() + " nodes, " + qdq + " QuantizeLinear/DequantizeLinear");
    lines.forEach(out::println);
    for (var e : metadata ? q.getMetadataPropsList() : List.<ai.onnx.proto.OnnxMl.StringStringEntryProto>of()) {
      out.println("metadata: " + e.getKey() + " = " + e.getValue());
    }
  }

  /** The weight options in words: {@code int8 per channel}, {@code int4 per channel, blocks of 32}. */
  private static String weights(RangeOptions r) {
    return r.weightType().id() + (r.weights().perChannel() ? " per channel" : " per tensor")
        + (r.weights().blockSize() > 0 ? ", blocks of " + r.weights().blockSize() : "");
  }

  /**
   * A Q or DQ node's integer type (from its zero point, or its quantized initializer), with axis and block
   * size: {@code uint8}, {@code int8 axis 0}, {@code int4 axis 0 block 32}.
   */
  private static String describeQ(ai.onnx.proto.OnnxMl.NodeProto n, Map<String, Integer> initTypes) {
    Integer type = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? initTypes.get(n.getInput(2)) : null;
    if (type == null && n.getOpType().equals("DequantizeLinear")) {
      type = initTypes.get(n.getInput(0));
    }
    dev.qcal.quant.QuantType t = type == null ? null : dev.qcal.quant.QuantType.ofOnnxElemType(type);
    StringBuilder b = new StringBuilder(t == null ? (type == null ? "uint8" : "type " + type) : t.id());
    for (var a : n.getAttributeList()) {
      if (a.getName().equals("axis")) {
        b.append(" axis ").append(a.getI());
      } else if (a.getName().equals("block_size")) {
        b.append(" block ").append(a.getI());
      }
    }
    return b.toString();
  }

  private static String describe(ValueInfoProto v) {
    StringBuilder b = new StringBuilder(v.getName()).append(" [");
    var dims = v.getType().getTensorType().getShape().getDimList();
    for (int i = 0; i < dims.size(); i++) {
      var d = dims.get(i);
      b.append(i > 0 ? "," : "").append(d.hasDimValue() ? Long.toString(d.getDimValue()) : d.getDimParam().isEmpty() ? "?" : d.getDimParam());
    }
    return b.append("] elem_type ").append(v.getType().getTensorType().getElemType()).toString();
  }
}
