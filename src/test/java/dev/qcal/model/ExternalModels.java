package dev.qcal.model;

import static dev.qcal.model.TestGraphs.floatInfo;
import static dev.qcal.model.TestGraphs.floatTensor;
import static dev.qcal.model.TestGraphs.i;
import static dev.qcal.model.TestGraphs.node;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.Initializers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Small models with weights in external data, written by hand here (independently of the code under
 * test): each FLOAT initializer of at least {@code minValues} values goes to one data file.
 */
public final class ExternalModels {
  private ExternalModels() {}

  /** x[N,8] -> MatMul(W[8,6]) -> Relu -> Gemm(B[5,6], C[5], transB=1) -> y[N,5]; W, B, C pseudo-random. */
  public static ModelProto mlp() {
    return mlp(8, 6, 5);
  }

  /** x[N,in] -> MatMul(W[in,hidden]) -> Relu -> Gemm(B[out,hidden], C[out], transB=1) -> y[N,out]. */
  public static ModelProto mlp(int in, int hidden, int out) {
    return TestGraphs.model(13,
        List.of(node("MatMul", "mm", List.of("x", "W"), List.of("h")),
            node("Relu", "relu", List.of("h"), List.of("r")),
            node("Gemm", "gemm", List.of("r", "B", "C"), List.of("y"), i("transB", 1))),
        List.of(floatInfo("x", -1, in)), List.of(floatInfo("y")),
        List.of(floatTensor("W", new long[] {in, hidden}, TestGraphs.randomFloats(in * hidden, 1)),
            floatTensor("B", new long[] {out, hidden}, TestGraphs.randomFloats(out * hidden, 2)),
            floatTensor("C", new long[] {out}, TestGraphs.randomFloats(out, 3))));
  }

  /** {@code model} with each FLOAT initializer of at least {@code minValues} values moved to {@code dir/location}. */
  public static ModelProto externalize(ModelProto model, Path dir, String location, int minValues) throws IOException {
    Files.createDirectories(dir.resolve(location).getParent());
    ModelProto.Builder b = model.toBuilder();
    long offset = 0;
    try (FileChannel out = FileChannel.open(dir.resolve(location), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      for (int k = 0; k < b.getGraph().getInitializerCount(); k++) {
        TensorProto t = b.getGraph().getInitializer(k);
        float[] v = Initializers.floats(t);
        if (v.length < minValues) {
          continue;
        }
        ByteBuffer bytes = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(v);
        offset += 12; // unaligned on purpose: readers must not assume alignment
        out.write(bytes, offset);
        b.getGraphBuilder().setInitializer(k, external(t, location, offset, v.length * 4L));
        offset += v.length * 4L;
      }
    }
    return b.build();
  }

  /** {@code t}'s header with EXTERNAL data at {@code location}, {@code offset}, {@code length}. */
  public static TensorProto external(TensorProto t, String location, long offset, long length) {
    return t.toBuilder().clearFloatData().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(entry("location", location))
        .addExternalData(entry("offset", Long.toString(offset)))
        .addExternalData(entry("length", Long.toString(length)))
        .build();
  }

  private static StringStringEntryProto entry(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  /** Writes {@code model} as is (external references untouched) to {@code file}. */
  public static Path write(ModelProto model, Path file) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.write(file, model.toByteArray());
    return file;
  }
}
