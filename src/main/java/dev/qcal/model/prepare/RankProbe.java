package dev.qcal.model.prepare;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.GraphNames;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ranks of tensors that shape inference cannot decide, learned from one run of the model: a copy of
 * the graph gets a {@code Shape} node per tensor whose output is exposed, and the length of what it
 * returns is the rank. Any element type works (only the shape is read); the copy is saved next to the
 * model, so relative external data locations still resolve, and deleted after the run.
 */
public final class RankProbe {

  private static final Logger LOG = LoggerFactory.getLogger(RankProbe.class);

  /** The probe model's file name in the work folder. */
  static final String FILE = "rank-probe.onnx";

  private RankProbe() {}

  /**
   * The rank of each of {@code tensors} when {@code model} runs on {@code inputs}.
   *
   * @param workDir where {@code model}'s external data files (if any) are, and where the probe is saved
   * @throws ModelException naming the tensor no node produces, or when ONNX Runtime cannot run the model
   */
  public static Map<String, Integer> ranks(ModelProto model, Path workDir, Set<String> tensors,
      Map<String, float[]> inputs, Map<String, long[]> shapes) {
    GraphProto graph = model.getGraph();
    Set<String> used = new HashSet<>();
    Set<String> available = new HashSet<>();
    for (ValueInfoProto v : graph.getInputList()) {
      used.add(v.getName());
      available.add(v.getName());
    }
    for (TensorProto t : graph.getInitializerList()) {
      used.add(t.getName());
      available.add(t.getName());
    }
    for (NodeProto n : graph.getNodeList()) {
      used.add(n.getName());
      used.addAll(n.getInputList());
      used.addAll(n.getOutputList());
      available.addAll(n.getOutputList());
    }
    GraphProto.Builder b = graph.toBuilder();
    Map<String, String> shapeOutputs = new LinkedHashMap<>();
    for (String tensor : tensors) {
      if (!available.contains(tensor)) {
        throw new ModelException("cannot learn the rank of '" + tensor + "' in graph '" + graph.getName()
            + "': no node output or graph input has that name");
      }
      String name = GraphNames.unique("qcal_rank_probe_" + shapeOutputs.size(), used);
      b.addNode(NodeProto.newBuilder().setOpType("Shape").setName(name).addInput(tensor).addOutput(name));
      b.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
          .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.INT64_VALUE))));
      shapeOutputs.put(tensor, name);
    }
    Path file = workDir.resolve(FILE);
    OnnxModels.save(model.toBuilder().setGraph(b).build(), file);
    Map<String, float[]> out;
    try {
      out = Ort.run(file, inputs, shapes);
    } catch (Ort.Failure e) {
      throw new ModelException("cannot learn the rank of " + tensors + " from a run of the model: " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        LOG.debug("cannot delete {}: {}", file, e.toString());
      }
    }
    Map<String, Integer> ranks = new LinkedHashMap<>();
    shapeOutputs.forEach((tensor, name) -> ranks.put(tensor, out.get(name).length));
    LOG.info("learned from one run: ranks {}", ranks);
    return ranks;
  }
}
