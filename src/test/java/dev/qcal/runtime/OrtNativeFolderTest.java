package dev.qcal.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A process that loads ONNX Runtime leaves nothing in its temporary folder. */
class OrtNativeFolderTest {
  /** Loads ONNX Runtime (extracting its native libraries) and runs a model, then exits. */
  public static void main(String[] args) throws Exception {
    try (var s = Ort.env().createSession(Path.of(args[0]).toString())) {
      System.out.println("inputs " + s.getInputNames());
    }
  }

  @Test
  void noOnnxRuntimeFolderIsLeftInTheTemporaryFolder(@TempDir Path tmp) throws Exception {
    Path javaTmp = Files.createDirectories(tmp.resolve("java-tmp"));
    Path log = tmp.resolve("child.log");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djava.io.tmpdir=" + javaTmp, "-cp", System.getProperty("java.class.path"), OrtNativeFolderTest.class.getName(),
        Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx").toAbsolutePath().toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not finish");
    String out = Files.readString(log);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("inputs [x]"), out);
    try (Stream<Path> s = Files.list(javaTmp)) {
      List<String> left = s.map(f -> f.getFileName().toString()).toList();
      assertEquals(List.of(), left, "left in java.io.tmpdir");
    }
  }
}
