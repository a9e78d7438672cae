package dev.qcal.model.prepare;

import static dev.qcal.model.QdqTestGraphs.floatValue;
import static dev.qcal.model.QdqTestGraphs.model;
import static dev.qcal.model.QdqTestGraphs.node;
import static dev.qcal.model.QdqTestGraphs.randomFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.qcal.model.QdqTestGraphs;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Identity nodes over initializers folded into their readers, unless a graph output or a subgraph needs them. */
class InitializerIdentitiesTest {

  private static List<String> nodes(ModelProto m) {
    return m.getGraph().getNodeList().stream()
        .map(n -> n.getOpType() + "(" + String.join(",", n.getInputList()) + ")->" + String.join(",", n.getOutputList()))
        .toList();
  }

  @Test
  void chainsFoldToTheInitializerAndGraphOutputsAndSubgraphReadersKeepTheirIdentity() {
    GraphProto body = GraphProto.newBuilder().setName("then")
        .addNode(node("Identity", "inner", List.of("b3"), List.of("t"))).addOutput(floatValue("t", 4)).build();
    NodeProto ifNode = NodeProto.newBuilder().setOpType("If").setName("if").addInput("cond").addOutput("o")
        .addAttribute(AttributeProto.newBuilder().setName("then_branch").setType(AttributeProto.AttributeType.GRAPH)
            .setG(body))
        .addAttribute(AttributeProto.newBuilder().setName("else_branch").setType(AttributeProto.AttributeType.GRAPH)
            .setG(body))
        .build();
    ModelProto m = model(13,
        List.of(node("Identity", "i1", List.of("b"), List.of("b1")),
            node("Identity", "i2", List.of("b1"), List.of("b2")),
            node("Identity", "i3", List.of("b"), List.of("b3")),
            node("Identity", "act", List.of("x"), List.of("xi")),
            node("Add", "add1", List.of("xi", "b1"), List.of("y1")),
            node("Add", "add2", List.of("y1", "b2"), List.of("y")),
            node("Add", "add3", List.of("y", "b3"), List.of("z")),
            ifNode),
        List.of(floatValue("x", 4), QdqTestGraphs.value("cond", ai.onnx.proto.OnnxMl.TensorProto.DataType.BOOL_VALUE)),
        List.of(floatValue("z", 4), floatValue("b2", 4), floatValue("o", 4)),
        List.of(randomFloats("b", 1, 4)));

    ModelProto f = InitializerIdentities.fold(m);

    assertEquals(List.of(
        "Identity(b)->b2", // a graph output: stays, reading the initializer itself
        "Identity(b)->b3", // read inside the If's branches: stays
        "Identity(x)->xi", // over an activation: not touched
        "Add(xi,b)->y1", "Add(y1,b)->y", "Add(y,b)->z", "If(cond)->o"), nodes(f));
    assertEquals(m.getGraph().getOutputList(), f.getGraph().getOutputList());
  }

  @Test
  void aModelWithoutSuchIdentitiesIsReturnedAsIs() {
    ModelProto m = QdqTestGraphs.convRelu(13);
    assertSame(m, InitializerIdentities.fold(m));
  }
}
