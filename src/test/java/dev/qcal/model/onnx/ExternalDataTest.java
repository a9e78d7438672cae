package dev.qcal.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.ExternalModels;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.prepare.ModelPreparer;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.runtime.Ort;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models with external data: reading, refused locations, streamed quantization and writing. */
public class ExternalDataTest {
  @TempDir Path tmp;

  private Path externalModel(Path dir) throws IOException {
    ModelProto ext = ExternalModels.externalize(ExternalModels.mlp(), dir, "weights/w.bin", 6);
    return ExternalModels.write(ext, dir.resolve("m.onnx"));
  }

  @Test
  void readsExternalInitializersInAnyChunking() throws IOException {
    Path file = externalModel(tmp.resolve("m"));
    ModelProto m = OnnxModels.load(file);
    assertTrue(ExternalData.uses(m));
    assertEquals(List.of("weights/w.bin"), List.copyOf(ExternalData.locations(m)));
    ModelProto embedded = ExternalModels.mlp();
    assertFalse(ExternalData.isExternal(m.getGraph().getInitializer(2)), "C (5 values) stays inline");
    for (int k = 0; k < 3; k++) {
      TensorProto t = m.getGraph().getInitializer(k);
      assertEquals(k < 2, ExternalData.isExternal(t), t.getName());
      float[] expected = Initializers.floats(embedded.getGraph().getInitializer(k));
      assertArrayEquals(expected, Initializers.floats(t, file.getParent()), t.getName());
      for (int chunk : new int[] {1, 4, 7, 1000}) {
        float[] got = new float[expected.length];
        long[] next = {0};
        Initializers.forEachChunk(t, file.getParent(), chunk, (first, c) -> {
          assertEquals(next[0], first);
          assertTrue(c.remaining() <= chunk);
          next[0] += c.remaining();
          c.get(got, (int) first, c.remaining());
        });
        assertArrayEquals(expected, got, t.getName() + " in chunks of " + chunk);
      }
    }
    ModelException e = assertThrows(ModelException.class, () -> Initializers.floats(m.getGraph().getInitializer(0)));
    assertTrue(e.getMessage().contains("'W'"), e.getMessage());
  }

  /** Activation params for every planned tensor, the same for both models. */
  private static Map<String, QuantParams> params(CalibrationPlan plan) {
    Map<String, QuantParams> p = new LinkedHashMap<>();
    for (String t : plan.activations()) {
      p.put(t, LinearQuant.forRange(-4f, 6f, QuantType.UINT8, false));
    }
    return p;
  }

  @Test
  void quantizingExternalWeightsEqualsTheEmbeddedModelAndWritesItsOwnDataFile() throws IOException {
    Path dir = tmp.resolve("m");
    Path file = externalModel(dir);
    ModelProto ext = OnnxModels.load(file);
    ModelProto embedded = ExternalModels.mlp();
    CalibrationPlan plan = CalibrationPlan.of(embedded);
    assertEquals(plan.activations(), CalibrationPlan.of(ext).activations());
    QdqRewriter.Result e = QdqRewriter.rewrite(QdqRewriter.Request.of(embedded, plan, params(plan)));
    QdqRewriter.Result x = QdqRewriter.rewrite(QdqRewriter.Request.of(ext, CalibrationPlan.of(ext), params(plan))
        .withModelDir(dir));
    assertEquals(e.weightParams(), x.weightParams());
    assertEquals(2, e.weightParams().values().stream().filter(p -> p.type() == QuantType.INT8).count());

    Path out = tmp.resolve("out/quantized.onnx");
    List<Path> written = OnnxModels.save(x.model(), dir, out);
    Path data = tmp.resolve("out/quantized.onnx.data");
    assertEquals(List.of(out, data), written);
    ModelProto loaded = OnnxModels.load(out);
    assertEquals(List.of("quantized.onnx.data"), List.copyOf(ExternalData.locations(loaded)));
    Map<String, TensorProto> byName = new HashMap<>();
    loaded.getGraph().getInitializerList().forEach(t -> byName.put(t.getName(), t));
    assertEquals(e.model().getGraph().getInitializerCount(), byName.size());
    int external = 0;
    for (TensorProto want : e.model().getGraph().getInitializerList()) {
      TensorProto got = byName.get(want.getName());
      assertEquals(want.getDataType(), got.getDataType(), want.getName());
      assertEquals(want.getDimsList(), got.getDimsList(), want.getName());
      byte[] bytes;
      if (ExternalData.isExternal(got)) {
        external++;
        ExternalData.Ref ref = ExternalData.ref(got);
        assertEquals(0, ref.offset() % 64, "aligned offset of " + want.getName());
        bytes = read(data, ref.offset(), ref.length());
      } else {
        bytes = got.getRawData().toByteArray();
      }
      assertArrayEquals(want.getRawData().toByteArray(), bytes, want.getName());
    }
    assertEquals(2, external, "the int8 weights W and B are external, small tensors inline");
    assertEquals(e.model().getGraph().getNodeList(), loaded.getGraph().getNodeList());
    try (var s = Files.list(dir)) {
      assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("qcal-quantized-")),
          "quantized weights were streamed to a file next to the prepared model");
    }

    // ONNX Runtime loads the external data and computes what the embedded quantized model computes
    Path embeddedFile = tmp.resolve("embedded/quantized.onnx");
    OnnxModels.save(e.model(), embeddedFile);
    float[] input = TestGraphs.randomFloats(3 * 8, 9);
    Map<String, float[]> in = Map.of("x", input);
    Map<String, long[]> shapes = Map.of("x", new long[] {3, 8});
    assertArrayEquals(Ort.run(embeddedFile, in, shapes).get("y"), Ort.run(out, in, shapes).get("y"));
  }

  /**
   * Every weight scheme on external weights (streamed in chunks) gives the embedded model's parameters,
   * notes and quantized bytes: per tensor, per channel uint8, int4/uint4 per channel, blocked int4/uint4
   * (MatMul blocks along rows, a transB Gemm's along columns, short last blocks), and weight scales raised
   * for the int32 bias (widenForBias) with a tiny 16-bit input scale.
   */
  @Test
  void everyWeightSchemeStreamsExternalWeightsAsTheEmbeddedModelQuantizesThem() throws IOException {
    ModelProto base = ExternalModels.mlp(40, 24, 7);
    ModelProto m21 = base.toBuilder().setIrVersion(10)
        .setOpsetImport(0, base.getOpsetImport(0).toBuilder().setVersion(21)).build();
    Path dir = tmp.resolve("schemes");
    ModelProto ext = ExternalModels.externalize(m21, dir, "w.bin", 100); // W [40,24] and B [7,24] external
    CalibrationPlan plan = CalibrationPlan.of(m21);
    Map<String, QuantParams> tiny = new LinkedHashMap<>();
    for (String t : plan.activations()) {
      tiny.put(t, LinearQuant.forRange(-1e-3f, 1e-3f, QuantType.UINT16, false));
    }
    List<Object[]> cases = List.of(
        new Object[] {new dev.qcal.quant.WeightSpec(QuantType.INT8, false, 0), params(plan)},
        new Object[] {new dev.qcal.quant.WeightSpec(QuantType.UINT8, true, 0), params(plan)},
        new Object[] {new dev.qcal.quant.WeightSpec(QuantType.INT4, true, 0), params(plan)},
        new Object[] {new dev.qcal.quant.WeightSpec(QuantType.UINT4, false, 0), params(plan)},
        new Object[] {new dev.qcal.quant.WeightSpec(QuantType.INT4, true, 16), params(plan)},
        new Object[] {new dev.qcal.quant.WeightSpec(QuantType.UINT4, true, 16), params(plan)},
        new Object[] {new dev.qcal.quant.WeightSpec(QuantType.INT8, true, 0), tiny},
        new Object[] {new dev.qcal.quant.WeightSpec(QuantType.INT8, false, 0), tiny});
    int k = 0;
    for (Object[] c : cases) {
      dev.qcal.quant.WeightSpec spec = (dev.qcal.quant.WeightSpec) c[0];
      @SuppressWarnings("unchecked")
      Map<String, QuantParams> ap = (Map<String, QuantParams>) c[1];
      String what = spec + (ap == tiny ? " (16-bit input, raised weight scales)" : "");
      QdqRewriter.Result e = QdqRewriter.rewrite(QdqRewriter.Request.of(m21, plan, ap).withWeights(spec));
      QdqRewriter.Result x = QdqRewriter.rewrite(QdqRewriter.Request.of(ext, CalibrationPlan.of(ext), ap)
          .withModelDir(dir).withWeights(spec));
      assertEquals(e.weightParams(), x.weightParams(), what);
      assertEquals(e.notes(), x.notes(), what);
      assertEquals(e.skipped(), x.skipped(), what);
      if (ap == tiny) {
        assertTrue(x.notes().stream().anyMatch(n -> n.contains("raised")), what + ": " + x.notes());
      }
      Path out = tmp.resolve("schemes-out-" + k + "/quantized.onnx");
      Path data = tmp.resolve("schemes-out-" + k + "/quantized.onnx.data");
      OnnxModels.save(x.model(), dir, out);
      ModelProto loaded = OnnxModels.load(out);
      Map<String, TensorProto> byName = new HashMap<>();
      loaded.getGraph().getInitializerList().forEach(t -> byName.put(t.getName(), t));
      int external = 0;
      for (TensorProto want : e.model().getGraph().getInitializerList()) {
        TensorProto got = byName.get(want.getName());
        assertEquals(want.getDataType(), got.getDataType(), what + " " + want.getName());
        assertEquals(want.getDimsList(), got.getDimsList(), what + " " + want.getName());
        byte[] bytes = got.getRawData().toByteArray();
        if (ExternalData.isExternal(got)) {
          external++;
          ExternalData.Ref ref = ExternalData.ref(got);
          bytes = read(data, ref.offset(), ref.length());
        }
        assertArrayEquals(want.getRawData().toByteArray(), bytes, what + " " + want.getName());
      }
      assertTrue(external >= 1, what);
      assertEquals(e.model().getGraph().getNodeList(), loaded.getGraph().getNodeList(), what);
      // ONNX Runtime runs the streamed model as it runs the embedded one
      Path embeddedFile = tmp.resolve("schemes-embedded-" + k + "/quantized.onnx");
      OnnxModels.save(e.model(), embeddedFile);
      Map<String, float[]> in = Map.of("x", TestGraphs.randomFloats(3 * 40, 9));
      Map<String, long[]> shapes = Map.of("x", new long[] {3, 40});
      assertArrayEquals(Ort.run(embeddedFile, in, shapes).get("y"), Ort.run(out, in, shapes).get("y"), what);
      k++;
    }
  }

  private static byte[] read(Path file, long offset, long length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) length);
    try (FileChannel c = FileChannel.open(file)) {
      while (b.hasRemaining()) {
        if (c.read(b, offset + b.position()) < 0) {
          throw new IOException("short file");
        }
      }
    }
    return b.array();
  }

  @Test
  void modelWithoutExternalDataIsSavedAsOneFileUnlessOverTheProtobufLimit() throws IOException {
    ModelProto m = ExternalModels.mlp();
    Path one = tmp.resolve("a/m.onnx");
    assertEquals(List.of(one), OnnxModels.save(m, null, one));
    assertFalse(Files.exists(tmp.resolve("a/m.onnx.data")));
    assertEquals(m, OnnxModels.load(one));

    // a limit below the model's size forces its large initializers out, as a model over 2 GB would
    Path big = tmp.resolve("b/m.onnx");
    ModelProto raw = withRawData(m);
    assertEquals(List.of(big, tmp.resolve("b/m.onnx.data")), OnnxModels.save(raw, null, big, 100));
    ModelProto loaded = OnnxModels.load(big);
    long external = loaded.getGraph().getInitializerList().stream().filter(ExternalData::isExternal).count();
    assertEquals(0, external, "all three initializers are under the 1 KiB threshold");
    // make them large enough to move
    ModelProto large = withRawData(TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm", List.of("x", "W"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 2, 64)), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("W", new long[] {64, 32}, TestGraphs.randomFloats(64 * 32, 5)))));
    Path l = tmp.resolve("c/m.onnx");
    OnnxModels.save(large, null, l, 100);
    ModelProto back = OnnxModels.load(l);
    assertTrue(ExternalData.isExternal(back.getGraph().getInitializer(0)));
    assertArrayEquals(Initializers.floats(large.getGraph().getInitializer(0)),
        Initializers.floats(back.getGraph().getInitializer(0), l.getParent()));
  }

  public static ModelProto withRawData(ModelProto m) {
    ModelProto.Builder b = m.toBuilder();
    for (int k = 0; k < b.getGraph().getInitializerCount(); k++) {
      TensorProto t = b.getGraph().getInitializer(k);
      float[] v = Initializers.floats(t);
      ByteBuffer bytes = ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      bytes.asFloatBuffer().put(v);
      b.getGraphBuilder().setInitializer(k, t.toBuilder().clearFloatData()
          .setRawData(com.google.protobuf.ByteString.copyFrom(bytes.array())));
    }
    return b.build();
  }

  /** Writes the MLP with W's location replaced by {@code location} into {@code dir}; W's bytes stay in w.bin. */
  static Path withLocation(Path dir, String location) throws IOException {
    ModelProto ext = ExternalModels.externalize(ExternalModels.mlp(), dir, "w.bin", 6);
    ModelProto.Builder b = ext.toBuilder();
    TensorProto w = b.getGraph().getInitializer(0);
    ExternalData.Ref ref = ExternalData.ref(w);
    b.getGraphBuilder().setInitializer(0, ExternalModels.external(w, location, ref.offset(), ref.length()));
    return ExternalModels.write(b.build(), dir.resolve("m.onnx"));
  }

  private void assertRefused(Path model, String... fragments) {
    ModelException e = assertThrows(ModelException.class, () -> OnnxModels.load(model));
    String m = e.getMessage();
    assertTrue(m.startsWith(model.toString() + ": tensor 'W': external data location"), m);
    for (String f : fragments) {
      assertTrue(m.contains(f), "'" + m + "' should contain '" + f + "'");
    }
    assertFalse(m.contains("\n"), m);
  }

  @Test
  void refusesAbsoluteLocations() throws IOException {
    Path outside = tmp.resolve("outside.bin");
    Files.write(outside, new byte[4096]);
    assertRefused(withLocation(tmp.resolve("m"), outside.toString()), "'" + outside + "'", "is absolute");
  }

  @Test
  void refusesLocationsEscapingTheModelDirectory() throws IOException {
    Files.write(tmp.resolve("w.bin"), new byte[4096]);
    assertRefused(withLocation(tmp.resolve("m"), "../w.bin"), "'../w.bin'", "escapes the model's directory");
    assertRefused(withLocation(tmp.resolve("n"), "sub/../../w.bin"), "'sub/../../w.bin'", "escapes");
  }

  @Test
  void allowsDotDotThatStaysInside() throws IOException {
    Path dir = tmp.resolve("m");
    Files.createDirectories(dir.resolve("sub"));
    Path model = withLocation(dir, "sub/../w.bin");
    assertEquals(3, OnnxModels.load(model).getGraph().getInitializerCount());
  }

  @Test
  void refusesSymlinksResolvingOutside() throws IOException {
    Path dir = tmp.resolve("m");
    Path model = withLocation(dir, "link.bin");
    Path outside = tmp.resolve("real.bin");
    Files.copy(dir.resolve("w.bin"), outside);
    Files.createSymbolicLink(dir.resolve("link.bin"), outside);
    assertRefused(model, "'link.bin'", "resolves to " + outside.toRealPath(), "outside the model's directory");
    // a link that stays inside is fine
    Path inside = withLocation(tmp.resolve("k"), "inside.bin");
    Files.createSymbolicLink(tmp.resolve("k/inside.bin"), tmp.resolve("k/w.bin"));
    assertEquals(3, OnnxModels.load(inside).getGraph().getInitializerCount());
  }

  @Test
  void refusesFilesTooShortOrMissing() throws IOException {
    Path dir = tmp.resolve("m");
    Path model = withLocation(dir, "short.bin");
    Files.write(dir.resolve("short.bin"), new byte[100]);
    // W [8, 6] floats at offset 12: 192 bytes from 12
    assertRefused(model, dir.resolve("short.bin").toString(), "holds 100 bytes", "offset 12 + length 192");
    Path missing = withLocation(tmp.resolve("n"), "nothing.bin");
    assertRefused(missing, "not found");
  }

  @Test
  void refusesALengthThatDisagreesWithTheShape() throws IOException {
    Path dir = tmp.resolve("m");
    ModelProto ext = ExternalModels.externalize(ExternalModels.mlp(), dir, "w.bin", 6);
    ModelProto.Builder b = ext.toBuilder();
    TensorProto w = b.getGraph().getInitializer(0);
    b.getGraphBuilder().setInitializer(0, ExternalModels.external(w, "w.bin", 12, 100));
    assertRefused(ExternalModels.write(b.build(), dir.resolve("m.onnx")), "has length 100", "need 192 bytes");
  }

  @Test
  void checksConstantNodeTensorsToo() throws IOException {
    Path dir = tmp.resolve("m");
    Files.createDirectories(dir);
    Files.write(tmp.resolve("c.bin"), new byte[64]);
    TensorProto c = ExternalModels.external(TestGraphs.floatTensor("cval", new long[] {5}), "../c.bin", 0, 20);
    NodeProto constant = NodeProto.newBuilder().setOpType("Constant").addOutput("k").addAttribute(
        AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(c)).build();
    ModelProto m = TestGraphs.model(13,
        List.of(constant, TestGraphs.node("Add", "add", List.of("x", "k"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", 2, 5)), List.of(TestGraphs.floatInfo("y")), List.of());
    Path file = ExternalModels.write(m, dir.resolve("m.onnx"));
    ModelException e = assertThrows(ModelException.class, () -> OnnxModels.load(file));
    assertTrue(e.getMessage().contains("tensor 'cval': external data location '../c.bin' escapes"), e.getMessage());
  }

  @Test
  void preparationFoldsAnExternalConstantAndKeepsWeightsExternal() throws IOException {
    Path dir = tmp.resolve("m");
    // y = x W + C with W [64, 32] an external initializer and C the value of a Constant node with external data
    ModelProto inline = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm", List.of("x", "W"), List.of("h")),
            TestGraphs.node("Add", "add", List.of("h", "C"), List.of("y"))),
        List.of(TestGraphs.floatInfo("x", -1, 64)), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("W", new long[] {64, 32}, TestGraphs.randomFloats(64 * 32, 7)),
            TestGraphs.floatTensor("C", new long[] {32}, TestGraphs.randomFloats(32, 8))));
    ModelProto ext = ExternalModels.externalize(inline, dir, "w.bin", 1);
    TensorProto bias = ext.getGraph().getInitializer(1);
    NodeProto constant = NodeProto.newBuilder().setOpType("Constant").addOutput("C").addAttribute(
        AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(bias)).build();
    ModelProto.Builder b = ext.toBuilder();
    b.getGraphBuilder().addNode(0, constant).removeInitializer(1);
    Path file = ExternalModels.write(b.build(), dir.resolve("m.onnx"));
    Path work = tmp.resolve("work");
    ModelPreparer.Prepared p = ModelPreparer.prepare(file, work, Map.of("x", new long[] {2, 64}));
    assertEquals(1, p.foldedConstants());
    assertEquals(work, p.file().getParent());
    assertEquals(List.of(ModelPreparer.OPTIMIZED_DATA_FILE), List.copyOf(ExternalData.locations(p.model())));
    TensorProto w = p.model().getGraph().getInitializerList().stream().filter(t -> t.getName().equals("W"))
        .findFirst().orElseThrow();
    assertTrue(ExternalData.isExternal(w), "ONNX Runtime wrote W (8 KiB) to the optimized model's data file");
    assertArrayEquals(Initializers.floats(inline.getGraph().getInitializer(0)), Initializers.floats(w, work));
    assertTrue(p.maxAbsDiff() <= 1e-4, "verified against the original: " + p.maxAbsDiff());
  }

  @Test
  void externalModelWithNothingToFoldIsUsedAsIsWithItsDataLinked() throws IOException {
    Path dir = tmp.resolve("m");
    Path file = externalModel(dir);
    Path work = tmp.resolve("work");
    ModelPreparer.Prepared p = ModelPreparer.prepare(file, work, Map.of("x", new long[] {2, 8}));
    assertEquals(OnnxModels.load(file).getGraph(), p.model().getGraph());
    assertTrue(Files.isSameFile(dir.resolve("weights/w.bin"), work.resolve("weights/w.bin")), "hard link, not a copy");
    assertFalse(Files.exists(work.resolve(ModelPreparer.OPTIMIZED_FILE)), "ONNX Runtime wrote no second copy");
    assertEquals(0.0, p.maxAbsDiff());
    // the prepared model in the work folder reads the same weights
    ModelProto prepared = OnnxModels.load(p.file());
    assertArrayEquals(Initializers.floats(ExternalModels.mlp().getGraph().getInitializer(0)),
        Initializers.floats(prepared.getGraph().getInitializer(0), work));
  }
}
