package dev.qcal.cli;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.jobs.WorkDir;
import dev.qcal.model.CalibrationPlan;
import dev.qcal.model.ModelPreparer;
import dev.qcal.model.OnnxModels;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code qcal inspect}: a model's inputs, outputs and the tensors calibration would observe. */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description = "Prints the model's inputs and outputs, how it is prepared, and the tensors that would be calibrated.")
public final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "ONNX model.")
  Path model;

  @Option(names = "--input-shape", paramLabel = "NAME=D0,D1,...",
      description = "Full input shape (with batch) used to verify the prepared model, e.g. x=1,3,48,192.")
  List<String> inputShapes;

  @Override
  public Integer call() throws IOException {
    if (!Files.isRegularFile(model)) {
      throw new UsageException("model not found: " + model);
    }
    PrintWriter out = spec.commandLine().getOut();
    ModelProto m = OnnxModels.load(model);
    out.println("model: " + model + " (opset " + OnnxModels.opset(m) + ", sha256 " + OnnxModels.sha256(model) + ")");
    for (ValueInfoProto v : m.getGraph().getInputList()) {
      out.println("input:  " + describe(v));
    }
    for (ValueInfoProto v : m.getGraph().getOutputList()) {
      out.println("output: " + describe(v));
    }
    Map<String, long[]> shapes = new LinkedHashMap<>(CalibrateCommand.parseShapes(inputShapes));
    for (ValueInfoProto v : m.getGraph().getInputList()) {
      var dims = v.getType().getTensorType().getShape().getDimList();
      boolean dynamic = dims.stream().skip(1).anyMatch(d -> !d.hasDimValue());
      if (dynamic && !shapes.containsKey(v.getName()) && m.getGraph().getInitializerList().stream()
          .noneMatch(t -> t.getName().equals(v.getName()))) {
        throw new UsageException("input '" + v.getName() + "' " + describe(v)
            + " has dynamic dimensions: give a full shape to verify the prepared model with, e.g. --input-shape "
            + v.getName() + "=1,...");
      }
    }
    try (WorkDir work = WorkDir.create("qcal-inspect-")) {
      ModelPreparer.Prepared p = ModelPreparer.prepare(model, work.path(), shapes);
      out.println("prepared: opset " + p.sourceOpset() + " -> " + p.opset() + ", " + p.foldedConstants()
          + " constants folded, " + p.foldedBatchNorms() + " batch norms folded"
          + ", outputs verified against the original (max |diff| " + p.maxAbsDiff() + ")");
      CalibrationPlan plan = CalibrationPlan.of(p.model());
      out.println("calibrated activations (" + plan.activations().size() + "):");
      for (String t : plan.activations()) {
        out.println("  " + t);
      }
      out.println("quantized weights (" + plan.weights().size() + "):");
      for (CalibrationPlan.WeightRef w : plan.weights()) {
        out.println("  " + w.initializer() + " (node " + w.node() + ", axis " + w.axis() + ")");
      }
    }
    return Main.OK;
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
