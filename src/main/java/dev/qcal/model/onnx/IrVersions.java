package dev.qcal.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.runtime.Ort;
import java.nio.file.Path;

/**
 * Models whose IR version is newer than ONNX Runtime reads: a copy with the IR version lowered to
 * {@value #RUNTIME_MAX_IR} when the graph needs nothing the newer IR versions added, else a refusal naming
 * both versions.
 *
 * <p>IR versions after 10 add element types (FLOAT4E2M1 = 23 with IR 11, FLOAT8E8M0 = 24 with IR 12, UINT2
 * and INT2 = 25, 26 with IR 13) and newer opsets; the structure of a graph (nodes, initializers, value infos,
 * local functions, which came with IR 10) is unchanged, so a graph using only default-domain opsets up to
 * {@value #RUNTIME_MAX_OPSET} and element types up to {@value #MAX_ELEM_TYPE} means the same under IR
 * {@value #RUNTIME_MAX_IR}.
 */
public final class IrVersions {

  /**
   * The highest IR version ONNX Runtime 1.28.0 reads, found by loading models of IR 10 to 15 (its error for 14:
   * "Unsupported model IR version: 14, max supported IR version: 13"; ai.onnxruntime exposes no constant for
   * it). Raise with the runtime; IrVersionsTest checks it against the runtime.
   */
  public static final long RUNTIME_MAX_IR = 13;

  /**
   * The highest default-domain opset ONNX Runtime 1.28.0 runs, found by loading and running Relu and
   * QuantizeLinear/DequantizeLinear models of opsets 21 to 28 (its error for 27: "Current official support for
   * domain ai.onnx is till opset 26").
   */
  public static final int RUNTIME_MAX_OPSET = 26;

  /**
   * The last element type IR 13 defines: INT2 (ONNX Runtime 1.28.0 loads initializers of types up to 26 and
   * calls 27 "not a valid data type"). The bundled onnx.proto ends at INT4 = 22; element types are read as
   * numbers, so the later ones need no enum constant.
   */
  static final int MAX_ELEM_TYPE = 26;

  private IrVersions() {}

  /**
   * {@code model} itself when ONNX Runtime reads its IR version, else a copy with ir_version
   * {@value #RUNTIME_MAX_IR}.
   *
   * @throws ModelException (one line naming both versions) when the model's default-domain opset or an
   *     element type is newer than the runtime's IR version has
   */
  public static ModelProto lowered(Path file, ModelProto model) {
    long ir = model.getIrVersion();
    if (ir <= RUNTIME_MAX_IR) {
      return model;
    }
    int opset = OnnxModels.opset(model);
    String runtime = "ONNX Runtime " + Ort.version();
    if (opset > RUNTIME_MAX_OPSET) {
      throw new ModelException(file + ": IR version " + ir + " with opset " + opset + "; " + runtime
          + " reads IR versions up to " + RUNTIME_MAX_IR + " and runs opsets up to " + RUNTIME_MAX_OPSET);
    }
    String newer = newerType(model.getGraph());
    if (newer != null) {
      throw new ModelException(file + ": IR version " + ir + " " + newer + ", which IR version " + RUNTIME_MAX_IR
          + " (the highest " + runtime + " reads) lacks");
    }
    return model.toBuilder().setIrVersion(RUNTIME_MAX_IR).build();
  }

  /** The line saying what lowering did, e.g. "IR version 14 lowered to 13 for ONNX Runtime 1.28.0". */
  public static String describe(long from, long to) {
    return "IR version " + from + " lowered to " + to + " for ONNX Runtime " + Ort.version();
  }

  /** Where {@code g} (or a subgraph) uses an element type newer than IR {@value #RUNTIME_MAX_IR}, else null. */
  private static String newerType(GraphProto g) {
    for (TensorProto t : g.getInitializerList()) {
      if (t.getDataType() > MAX_ELEM_TYPE) {
        return "has initializer '" + t.getName() + "' of element type " + t.getDataType();
      }
    }
    for (java.util.List<ValueInfoProto> list : java.util.List.of(g.getInputList(), g.getOutputList(),
        g.getValueInfoList())) {
      for (ValueInfoProto v : list) {
        int type = elemType(v.getType());
        if (type > MAX_ELEM_TYPE) {
          return "declares tensor '" + v.getName() + "' of element type " + type;
        }
      }
    }
    for (NodeProto n : g.getNodeList()) {
      for (AttributeProto a : n.getAttributeList()) {
        String where = "node '" + n.getName() + "' (" + n.getOpType() + ") attribute '" + a.getName() + "'";
        if ((a.getName().equals("to") || a.getName().equals("output_dtype")) && a.getI() > MAX_ELEM_TYPE) {
          return "has " + where + " naming element type " + a.getI();
        }
        if (a.hasT() && a.getT().getDataType() > MAX_ELEM_TYPE) {
          return "has " + where + " of element type " + a.getT().getDataType();
        }
        if (a.hasG()) {
          String inner = newerType(a.getG());
          if (inner != null) {
            return inner;
          }
        }
        for (GraphProto sub : a.getGraphsList()) {
          String inner = newerType(sub);
          if (inner != null) {
            return inner;
          }
        }
      }
    }
    return null;
  }

  private static int elemType(TypeProto t) {
    if (t.hasTensorType()) {
      return t.getTensorType().getElemType();
    }
    if (t.hasSequenceType()) {
      return elemType(t.getSequenceType().getElemType());
    }
    if (t.hasOptionalType()) {
      return elemType(t.getOptionalType().getElemType());
    }
    return 0;
  }
}
