package dev.qcal.model;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Exposes intermediate tensors as extra graph outputs so one inference run yields the activations to calibrate. */
public final class GraphAugmenter {

  private GraphAugmenter() {}

  /**
   * A copy of {@code model} whose outputs are its original outputs followed by each of
   * {@code tensorNames} not already an output, in the given order (duplicates once), each declared
   * FLOAT with an unknown shape.
   *
   * @throws ModelException naming a tensor that no node produces and no graph input provides, or one
   *     declared with a non-FLOAT element type
   */
  public static ModelProto exposeOutputs(ModelProto model, List<String> tensorNames) {
    GraphProto graph = model.getGraph();
    Set<String> available = new HashSet<>();
    for (ValueInfoProto in : graph.getInputList()) {
      available.add(in.getName());
    }
    for (NodeProto n : graph.getNodeList()) {
      available.addAll(n.getOutputList());
    }
    available.remove("");
    Map<String, Integer> declaredTypes = new HashMap<>();
    for (List<ValueInfoProto> infos : List.of(graph.getValueInfoList(), graph.getInputList())) {
      for (ValueInfoProto v : infos) {
        if (v.getType().hasTensorType() && v.getType().getTensorType().getElemType() != 0) {
          declaredTypes.put(v.getName(), v.getType().getTensorType().getElemType());
        }
      }
    }
    Set<String> outputs = new HashSet<>();
    for (ValueInfoProto o : graph.getOutputList()) {
      outputs.add(o.getName());
    }
    GraphProto.Builder b = graph.toBuilder();
    for (String name : tensorNames) {
      if (outputs.contains(name)) {
        continue;
      }
      if (!available.contains(name)) {
        throw new ModelException("cannot expose tensor '" + name + "' of graph '" + graph.getName()
            + "': no node output or graph input has that name");
      }
      Integer type = declaredTypes.get(name);
      if (type != null && type != TensorProto.DataType.FLOAT_VALUE) {
        throw new ModelException("cannot expose tensor '" + name + "' of graph '" + graph.getName() + "': its element type is "
            + TensorProto.DataType.forNumber(type) + ", expected FLOAT");
      }
      b.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
          .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))));
      outputs.add(name);
    }
    return model.toBuilder().setGraph(b).build();
  }
}
