package dev.qcal.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Runtime starts in a JVM whose command line is as long as a Spark executor's (a classpath of tens of
 * kilobytes). ONNX Runtime Java 1.29.0 does not: its native library matches /proc/self/cmdline with a
 * recursive regular expression on its first environment, which overflows a 1 MB thread stack past about
 * 3 KB (SIGSEGV, exit 139).
 */
class OrtLongCommandLineTest {
  /** Creates the ONNX Runtime environment on the main thread (default stack) and prints its version. */
  public static void main(String[] args) {
    System.out.println("onnxruntime " + Ort.version());
  }

  @Test
  void onnxRuntimeStartsUnderA32KbCommandLine(@TempDir Path tmp) throws Exception {
    Path log = tmp.resolve("child.log");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dqcal.test.padding=" + "x".repeat(32 * 1024), "-cp", System.getProperty("java.class.path"),
        OrtLongCommandLineTest.class.getName())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not finish");
    String out = Files.readString(log);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("onnxruntime " + Ort.version()), out);
  }
}
