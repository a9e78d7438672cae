package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.data.ElemType;
import dev.qcal.data.InputSpec;
import dev.qcal.io.TensorNames;
import dev.qcal.model.onnx.ModelException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The model inputs that calibration data must feed (graph inputs that are not initializers). When every
 * input fixes its first dimension or has none, each spec carries that dimension ({@link InputSpec#lead()}):
 * its rows may be whole inputs ({@link WholeInputs}); a rank-0 input is then fed whole.
 */
final class ModelInputs {
  private ModelInputs() {}

  static List<InputSpec> of(ModelProto m, String modelName) {
    GraphProto g = m.getGraph();
    Set<String> inits = new HashSet<>();
    for (TensorProto t : g.getInitializerList()) {
      inits.add(t.getName());
    }
    for (ValueInfoProto out : g.getOutputList()) {
      checkRuntimeName(modelName, "output", out.getName());
    }
    boolean wholeable = wholeable(g, inits);
    List<InputSpec> specs = new ArrayList<>();
    for (ValueInfoProto in : g.getInputList()) {
      if (inits.contains(in.getName())) {
        continue;
      }
      checkRuntimeName(modelName, "input", in.getName());
      ElemType type = in.getType().hasTensorType() ? ElemType.ofOnnx(in.getType().getTensorType().getElemType()) : null;
      if (type == null || type == ElemType.UINT16) { // ONNX Runtime's Java API has no uint16 tensors
        String found = !in.getType().hasTensorType() ? "not a tensor"
            : "a " + TensorProto.DataType.forNumber(in.getType().getTensorType().getElemType()) + " tensor";
        throw new ModelException(modelName + ": input '" + TensorNames.printable(in.getName()) + "' is " + found
            + "; qcal feeds float32, float64, float16, int64, int32, int16, int8, uint8 and bool inputs");
      }
      TensorShapeProto shape = in.getType().getTensorType().getShape();
      if (shape.getDimCount() < 1 && !in.getType().getTensorType().hasShape()) {
        throw new ModelException(modelName + ": input '" + in.getName() + "' has no shape; give the model's input"
            + " its shape");
      }
      if (shape.getDimCount() < 1 && !wholeable) {
        throw new ModelException(modelName + ": input '" + in.getName() + "' has no batch dimension, and another"
            + " input's first dimension is dynamic: qcal feeds whole inputs only when every input fixes its first"
            + " dimension or has none");
      }
      for (int i = 0; i < shape.getDimCount(); i++) {
        long v = shape.getDim(i).getDimValue();
        if (shape.getDim(i).hasDimValue() && v < -1) {
          throw new ModelException(modelName + ": input '" + TensorNames.printable(in.getName()) + "' dimension " + i
              + " is " + v + "; a dimension is a size (>= 0), or symbolic or -1 when dynamic");
        }
      }
      if (shape.getDimCount() == 0) {
        specs.add(new InputSpec(in.getName(), new long[0], type, false, 0, true)); // a scalar: fed whole
        continue;
      }
      long[] dims = new long[shape.getDimCount() - 1];
      for (int i = 1; i < shape.getDimCount(); i++) {
        TensorShapeProto.Dimension d = shape.getDim(i);
        dims[i - 1] = d.hasDimValue() && d.getDimValue() > 0 ? d.getDimValue() : -1;
      }
      long lead = wholeable ? shape.getDim(0).getDimValue() : 0;
      specs.add(new InputSpec(in.getName(), dims, type, false, lead, false));
    }
    if (specs.isEmpty()) {
      throw new ModelException(modelName + ": model has no inputs to feed");
    }
    return specs;
  }

  /** Whether every fed input (a tensor) fixes its first dimension (>= 1) or is a scalar. */
  private static boolean wholeable(GraphProto g, Set<String> inits) {
    for (ValueInfoProto in : g.getInputList()) {
      if (inits.contains(in.getName()) || !in.getType().hasTensorType()) {
        continue;
      }
      TensorShapeProto shape = in.getType().getTensorType().getShape();
      if (shape.getDimCount() > 0 && !(shape.getDim(0).hasDimValue() && shape.getDim(0).getDimValue() >= 1)) {
        return false;
      }
    }
    return true;
  }

  private static void checkRuntimeName(String modelName, String role, String name) {
    String problem = TensorNames.runtimeProblem(name);
    if (problem != null) {
      throw new ModelException(modelName + ": " + role + " '" + TensorNames.printable(name) + "' " + problem
          + "; rename it in the model");
    }
  }
}
