package dev.qcal.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scripts/qcal}'s class-data sharing, through the launcher itself (after {@code package}, so it finds its
 * jar and classpath and builds nothing): the first calibrate records the archive in {@code target/cds/}, the next
 * run loads qcal's classes from it (the JVM's class-load log says where each class came from) and writes the same
 * bytes, and {@code QCAL_CDS=0} runs without it.
 */
class LauncherClassSharingIT {
  private static final String MODEL = "examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx";
  private static final Path CDS = Path.of("target/cds");

  @TempDir Path tmp;

  @Test
  void theFirstCalibrateRecordsTheClassesTheNextRunMapsWithTheSameOutputs() throws Exception {
    Path data = tmp.resolve("data");
    assertEquals(0, qcal(Map.of(), "example-data", "--out", data.toString(), "--count", "32", "--seed", "5"));
    if (Files.isDirectory(CDS)) { // the archive of an earlier run of this build: record it again
      try (Stream<Path> old = Files.list(CDS)) {
        for (Path f : old.toList()) {
          Files.delete(f);
        }
      }
    }

    assertEquals(0, calibrate(Map.of(), "first"));
    List<Path> archives;
    try (Stream<Path> files = Files.list(CDS)) {
      archives = files.toList();
    }
    assertEquals(1, archives.size(), archives.toString());
    assertTrue(archives.get(0).getFileName().toString().matches("qcal-\\d+\\.jsa"), archives.toString());

    Path shared = tmp.resolve("shared.log");
    assertEquals(0, calibrate(Map.of("QCAL_JAVA_OPTS", "-Xmx2g -Xlog:class+load=info:file=" + shared), "second"));
    assertTrue(Files.readString(shared).contains("dev.qcal.cli.Main source: shared objects file (top)"),
        "the second run maps qcal's classes from the archive");
    Path plain = tmp.resolve("plain.log");
    assertEquals(0, calibrate(Map.of("QCAL_CDS", "0", "QCAL_JAVA_OPTS",
        "-Xmx2g -Xlog:class+load=info:file=" + plain), "plain"));
    assertTrue(Files.readString(plain).contains("dev.qcal.cli.Main source: file:"), "QCAL_CDS=0 loads from the jar");

    for (String f : List.of("qparams.json", "quantized.onnx", "stats/stats.bin")) {
      byte[] first = Files.readAllBytes(tmp.resolve("first").resolve(f));
      assertArrayEquals(first, Files.readAllBytes(tmp.resolve("second").resolve(f)), f);
      assertArrayEquals(first, Files.readAllBytes(tmp.resolve("plain").resolve(f)), f);
    }
  }

  private int calibrate(Map<String, String> env, String out) throws Exception {
    return qcal(env, "calibrate", "--model", MODEL, "--data", tmp.resolve("data/x").toString(), "--out",
        tmp.resolve(out).toString(), "--master", "local[2]", "--no-report");
  }

  private int qcal(Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("scripts/qcal"));
    cmd.addAll(List.of(args));
    Path log = tmp.resolve(args[0] + "-" + System.nanoTime() + ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putIfAbsent("QCAL_JAVA_OPTS", "-Xmx2g");
    pb.environment().putAll(env);
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    Process p = pb.start();
    try {
      assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", cmd) + " timed out:\n" + Files.readString(log));
      if (p.exitValue() != 0) {
        System.err.println(Files.readString(log));
      }
      return p.exitValue();
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }
}
