package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.qcal.quant.QuantType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * Test-only preparation of the PaddleOCR classifier example: ONNX Runtime BASIC optimization folds the
 * Constants and BatchNorms, then the opset is set to 13 with Clip bounds and Slice parameters turned from
 * attributes into initializer inputs (all the opset 9 to 13 changes this model needs).
 */
final class QdqExampleModel {

  static final Path EXAMPLE = Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx");
  static final String INPUT = "x";
  static final String OUTPUT = "softmax_0.tmp_0";

  private QdqExampleModel() {}

  static ModelProto prepared(Path workDir) throws IOException, OrtException {
    Path basic = workDir.resolve("basic.onnx");
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
      o.setOptimizedModelFilePath(basic.toString());
      OrtEnvironment.getEnvironment().createSession(EXAMPLE.toString(), o).close();
    }
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(basic));
    ModelProto.Builder mb = m.toBuilder().clearOpsetImport();
    for (OperatorSetIdProto o : m.getOpsetImportList()) {
      boolean dflt = o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx");
      mb.addOpsetImport(dflt ? o.toBuilder().setVersion(13).build() : o);
    }
    GraphProto.Builder g = mb.getGraphBuilder();
    for (int i = 0; i < g.getNodeCount(); i++) {
      NodeProto n = g.getNode(i);
      if (n.getOpType().equals("Clip")) {
        g.setNode(i, clipToInputs(n, g));
      } else if (n.getOpType().equals("Slice")) {
        g.setNode(i, sliceToInputs(n, g));
      }
    }
    return mb.build();
  }

  private static NodeProto clipToInputs(NodeProto n, GraphProto.Builder g) {
    NodeProto.Builder b = n.toBuilder().clearAttribute();
    String lo = "";
    String hi = "";
    for (AttributeProto a : n.getAttributeList()) {
      String name = n.getOutput(0) + "_" + a.getName();
      g.addInitializer(QdqTensors.floatTensor(name, new long[0], new float[] {a.getF()}));
      if (a.getName().equals("min")) {
        lo = name;
      } else if (a.getName().equals("max")) {
        hi = name;
      } else {
        throw new IllegalStateException("Clip " + n.getName() + " has unexpected attribute " + a.getName());
      }
    }
    return b.addInput(lo).addInput(hi).build();
  }

  private static NodeProto sliceToInputs(NodeProto n, GraphProto.Builder g) {
    NodeProto.Builder b = n.toBuilder().clearAttribute();
    for (String attr : List.of("starts", "ends", "axes")) {
      AttributeProto a = n.getAttributeList().stream().filter(x -> x.getName().equals(attr)).findFirst()
          .orElse(null);
      if (a == null) {
        continue;
      }
      String name = n.getOutput(0) + "_" + attr;
      ByteBuffer buf = ByteBuffer.allocate(8 * a.getIntsCount()).order(ByteOrder.LITTLE_ENDIAN);
      a.getIntsList().forEach(buf::putLong);
      g.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
          .addDims(a.getIntsCount()).setRawData(com.google.protobuf.ByteString.copyFrom(buf.array())).build());
      b.addInput(name);
    }
    return b.build();
  }

  /**
   * A batch [n,3,48,192] in the model's [-1, 1] range: a light background with dark vertical strokes in a
   * band, like a line of text; the band sits high or low so both orientations occur.
   */
  static float[] pseudoText(long seed, int n) {
    Random r = new Random(seed);
    int h = 48;
    int w = 192;
    float[] x = new float[n * 3 * h * w];
    for (int s = 0; s < n; s++) {
      float[] img = new float[h * w];
      java.util.Arrays.fill(img, 0.8f + 0.2f * r.nextFloat());
      int top = 6 + r.nextInt(10);
      int bottom = 30 + r.nextInt(12);
      for (int col = 4 + r.nextInt(6); col < w - 8; col += 3 + r.nextInt(7)) {
        int width = 1 + r.nextInt(3);
        int y0 = top + (r.nextBoolean() ? r.nextInt(8) : 0);
        int y1 = bottom - (r.nextBoolean() ? r.nextInt(8) : 0);
        float ink = -1f + 0.4f * r.nextFloat();
        for (int y = y0; y < y1; y++) {
          for (int c = col; c < Math.min(w, col + width); c++) {
            img[y * w + c] = ink;
          }
        }
      }
      for (int ch = 0; ch < 3; ch++) {
        System.arraycopy(img, 0, x, (s * 3 + ch) * h * w, h * w);
      }
    }
    return x;
  }

  static int countOps(ModelProto m, String op) {
    return (int) m.getGraph().getNodeList().stream().filter(nd -> nd.getOpType().equals(op)).count();
  }

  static boolean isInt8(TensorProto t) {
    return t.getDataType() == QuantType.INT8.onnxElemType();
  }
}
