package dev.qcal.model;
import ai.onnx.proto.OnnxMl.*;
import java.util.*;
public class ScratchOpt {
  public static void main(String[] a) throws Exception {
    ModelProto m = TransformerGraphs.bert(TransformerGraphs.BERT);
    var calib = TransformerQdq.bertBatches(TransformerGraphs.BERT, 1, 16, 8);
    Set<String> ops = new HashSet<>(List.of(a[0].split(",")));
    ModelProto q = TransformerQdq.quantize(m, new PlanOptions(ops, List.of(), Set.of(), false), calib);
    ModelProto opt = TransformerQdq.optimized(q);
    Set<String> inits = new HashSet<>();
    opt.getGraph().getInitializerList().forEach(t -> inits.add(t.getName()));
    for (NodeProto n : opt.getGraph().getNodeList()) {
      if (a.length > 1 && !n.getOpType().matches(a[1])) continue;
      List<String> ins = new ArrayList<>();
      for (String i : n.getInputList()) ins.add(inits.contains(i) ? "@" + i : i);
      System.out.println(n.getOpType() + " " + ins + " -> " + n.getOutputList());
    }
  }
}
