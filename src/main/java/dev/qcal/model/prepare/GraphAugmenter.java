package dev.qcal.model.prepare;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Exposes intermediate tensors as extra graph outputs so one inference run yields the activations to
 * calibrate, or only their reductions (min, max, a finiteness sum and the shape) when the values
 * themselves are not needed.
 */
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
    Set<String> available = producedTensors(graph);
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

  /**
   * One tensor to reduce inside the graph: its rank (batch dimension included) and the channel axis
   * kept by ReduceMin/ReduceMax (null: reduced over every axis to a scalar).
   */
  public record Reduction(String tensor, int rank, Integer channelAxis) implements java.io.Serializable {
    public Reduction {
      if (channelAxis != null && (channelAxis < 0 || channelAxis >= rank)) {
        throw new IllegalArgumentException("tensor '" + tensor + "': channel axis " + channelAxis + " of rank " + rank);
      }
    }
  }

  /** Output names of reduction {@code k} of {@link #addReductions}: min, max, sum, shape. */
  public static List<String> reductionOutputs(int k) {
    return List.of("qcal_reduce_min_" + k, "qcal_reduce_max_" + k, "qcal_reduce_sum_" + k, "qcal_reduce_shape_" + k);
  }

  /**
   * A copy of {@code model} whose outputs are its original outputs followed by, for each reduction
   * {@code k} in order, {@link #reductionOutputs(int)}: ReduceMin and ReduceMax ({@code keepdims=0})
   * over every axis but the channel axis (FLOAT {@code [C]}, or a scalar without one), ReduceSum over
   * every axis (FLOAT scalar: NaN when a NaN is present) and Shape (INT64 {@code [rank]}). Axes are an
   * attribute before opset 18 and an input from 18 on. Only these small tensors leave ONNX Runtime.
   *
   * @throws ModelException naming a tensor that no node produces and no graph input provides
   */
  public static ModelProto addReductions(ModelProto model, List<Reduction> reductions) {
    GraphProto graph = model.getGraph();
    Set<String> available = producedTensors(graph);
    boolean axesInput = OnnxModels.opset(model) >= 18;
    GraphProto.Builder b = graph.toBuilder();
    Set<String> axesAdded = new HashSet<>();
    for (int k = 0; k < reductions.size(); k++) {
      Reduction r = reductions.get(k);
      if (!available.contains(r.tensor())) {
        throw new ModelException("cannot reduce tensor '" + r.tensor() + "' of graph '" + graph.getName()
            + "': no node output or graph input has that name");
      }
      List<String> out = reductionOutputs(k);
      List<Long> axes = new ArrayList<>();
      if (r.channelAxis() != null) {
        for (int a = 0; a < r.rank(); a++) {
          if (a != r.channelAxis()) {
            axes.add((long) a);
          }
        }
      }
      for (int j = 0; j < 2; j++) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(j == 0 ? "ReduceMin" : "ReduceMax")
            .setName(out.get(j)).addInput(r.tensor()).addOutput(out.get(j)).addAttribute(intAttr("keepdims", 0));
        if (!axes.isEmpty()) {
          if (axesInput) {
            String name = "qcal_reduce_axes_" + r.rank() + "_" + r.channelAxis();
            if (axesAdded.add(name)) {
              b.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                  .addDims(axes.size()).addAllInt64Data(axes));
            }
            n.addInput(name);
          } else {
            n.addAttribute(AttributeProto.newBuilder().setName("axes").setType(AttributeProto.AttributeType.INTS)
                .addAllInts(axes));
          }
        }
        b.addNode(n);
      }
      // ReduceSum takes axes as an input from opset 13; none = every axis
      b.addNode(NodeProto.newBuilder().setOpType("ReduceSum").setName(out.get(2)).addInput(r.tensor())
          .addOutput(out.get(2)).addAttribute(intAttr("keepdims", 0)));
      b.addNode(NodeProto.newBuilder().setOpType("Shape").setName(out.get(3)).addInput(r.tensor()).addOutput(out.get(3)));
      for (int j = 0; j < 4; j++) {
        b.addOutput(ValueInfoProto.newBuilder().setName(out.get(j)).setType(TypeProto.newBuilder()
            .setTensorType(TypeProto.Tensor.newBuilder().setElemType(
                j == 3 ? TensorProto.DataType.INT64_VALUE : TensorProto.DataType.FLOAT_VALUE))));
      }
    }
    return model.toBuilder().setGraph(b).build();
  }

  private static AttributeProto intAttr(String name, long v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
  }

  /** Names of the graph inputs and node outputs (the tensors a graph output or reduction may read). */
  private static Set<String> producedTensors(GraphProto graph) {
    Set<String> available = new HashSet<>();
    for (ValueInfoProto in : graph.getInputList()) {
      available.add(in.getName());
    }
    for (NodeProto n : graph.getNodeList()) {
      available.addAll(n.getOutputList());
    }
    available.remove(""); // omitted optional outputs
    return available;
  }
}
