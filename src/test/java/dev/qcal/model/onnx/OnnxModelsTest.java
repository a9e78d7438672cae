package dev.qcal.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import dev.qcal.model.TestGraphs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelsTest {

  @TempDir Path dir;

  @Test
  void loadsTheExampleModel() {
    ModelProto m = OnnxModels.load(TestGraphs.EXAMPLE);
    assertEquals(9, OnnxModels.opset(m));
    assertEquals(8, m.getIrVersion());
    assertEquals("x", m.getGraph().getInput(0).getName());
    assertEquals("softmax_0.tmp_0", m.getGraph().getOutput(0).getName());
  }

  @Test
  void missingFile() {
    Path missing = dir.resolve("nope.onnx");
    ModelException e = assertThrows(ModelException.class, () -> OnnxModels.load(missing));
    assertEquals("model not found: " + missing, e.getMessage());
  }

  @Test
  void textFileIsNotAModel() throws Exception {
    Path text = dir.resolve("readme.onnx");
    Files.writeString(text, "this is a text file, not a model\n", StandardCharsets.UTF_8);
    ModelException e = assertThrows(ModelException.class, () -> OnnxModels.load(text));
    assertTrue(e.getMessage().startsWith(text + ": not an ONNX model ("), e.getMessage());
  }

  @Test
  void emptyFileIsNotAModel() throws Exception {
    Path empty = Files.createFile(dir.resolve("empty.onnx"));
    ModelException e = assertThrows(ModelException.class, () -> OnnxModels.load(empty));
    assertEquals(empty + ": not an ONNX model (no graph in 0 bytes)", e.getMessage());
  }

  @Test
  void graphWithoutNodesIsNotAModel() {
    Path file = dir.resolve("nodes.onnx");
    ModelProto m = TestGraphs.model(13, List.of(), List.of(TestGraphs.floatInfo("x", 1)), List.of(), List.of());
    OnnxModels.save(m, file);
    ModelException e = assertThrows(ModelException.class, () -> OnnxModels.load(file));
    assertEquals(file + ": not an ONNX model (graph has no nodes)", e.getMessage());
  }

  @Test
  void folderIsNamedAsOne() {
    ModelException e = assertThrows(ModelException.class, () -> OnnxModels.load(dir));
    assertEquals(dir + " is a directory, expected an .onnx model file", e.getMessage());
  }

  @Test
  void saveLoadRoundTripAndHash() throws Exception {
    ModelProto m = OnnxModels.load(TestGraphs.EXAMPLE);
    Path copy = dir.resolve("sub/copy.onnx");
    OnnxModels.save(m, copy);
    assertEquals(m, OnnxModels.load(copy));
    assertEquals(List.of(copy.getFileName()), Files.list(copy.getParent()).map(Path::getFileName).toList(),
        "no temporary file left");
    String hash = OnnxModels.sha256(TestGraphs.EXAMPLE);
    assertTrue(hash.matches("[0-9a-f]{64}"), hash);
    assertEquals(hash, OnnxModels.sha256(TestGraphs.EXAMPLE));
    Path abc = Files.writeString(dir.resolve("abc"), "abc");
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", OnnxModels.sha256(abc));
  }

  @Test
  void opsetAcceptsBothDefaultDomainSpellings() {
    ModelProto m = TestGraphs.model(11, List.of(), List.of(), List.of(), List.of());
    ModelProto aliased = m.toBuilder().clearOpsetImport()
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("ai.onnx").setVersion(12)).build();
    assertEquals(11, OnnxModels.opset(m));
    assertEquals(12, OnnxModels.opset(aliased));
    ModelException e = assertThrows(ModelException.class, () -> OnnxModels.opset(m.toBuilder().clearOpsetImport().build()));
    assertEquals("model 'tiny' imports no default-domain (ai.onnx) opset", e.getMessage());
  }
}
