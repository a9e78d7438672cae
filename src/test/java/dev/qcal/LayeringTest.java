package dev.qcal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Holds the package map's one-way dependencies: the maths never sees Spark, Hadoop or ONNX
 * Runtime ({@code stats} and {@code quant} import no other qcal package, {@code calib} only those
 * two); only {@code runtime} talks to ONNX Runtime; only {@code jobs} and {@code cli} to Spark;
 * {@code data} reads samples without knowing models or files written; {@code report} draws
 * report.html from the file formats alone and {@code io} stays below it.
 */
class LayeringTest {
  private static final Path MAIN = Path.of("src/main/java/dev/qcal");

  /** package -> import prefixes it may not use. */
  private static final Map<String, Set<String>> FORBIDDEN = Map.of(
      "stats", Set.of("org.apache.spark", "org.apache.hadoop", "ai.onnxruntime", "ai.onnx", "dev.qcal.jobs",
          "dev.qcal.runtime", "dev.qcal.model", "dev.qcal.calib", "dev.qcal.quant", "dev.qcal.data", "dev.qcal.io"),
      "quant", Set.of("org.apache.spark", "org.apache.hadoop", "ai.onnxruntime", "ai.onnx", "dev.qcal.jobs",
          "dev.qcal.runtime", "dev.qcal.model", "dev.qcal.stats", "dev.qcal.calib", "dev.qcal.data", "dev.qcal.io"),
      "calib", Set.of("org.apache.spark", "org.apache.hadoop", "ai.onnxruntime", "ai.onnx", "dev.qcal.jobs",
          "dev.qcal.runtime", "dev.qcal.model", "dev.qcal.data", "dev.qcal.io", "dev.qcal.cli"),
      "model", Set.of("org.apache.spark", "ai.onnxruntime", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.report",
          "dev.qcal.io"),
      "data", Set.of("org.apache.spark", "ai.onnxruntime", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.model",
          "dev.qcal.runtime", "dev.qcal.io", "dev.qcal.report"),
      "io", Set.of("org.apache.spark", "ai.onnxruntime", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.report",
          "dev.qcal.runtime"),
      "report", Set.of("org.apache.spark", "ai.onnxruntime", "ai.onnx", "dev.qcal.jobs", "dev.qcal.cli",
          "dev.qcal.runtime", "dev.qcal.model"),
      "runtime", Set.of("org.apache.spark", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.io", "dev.qcal.report"),
      "examples", Set.of("org.apache.spark", "ai.onnxruntime", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.runtime"),
      "jobs", Set.of("dev.qcal.cli"));

  @Test
  void packagesImportOnlyDownwards() throws IOException {
    List<String> violations = new ArrayList<>();
    for (Map.Entry<String, Set<String>> e : FORBIDDEN.entrySet()) {
      Path dir = MAIN.resolve(e.getKey());
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
          for (String line : Files.readAllLines(f)) {
            String l = line.strip();
            if (!l.startsWith("import ")) {
              continue;
            }
            String what = l.substring(7).replace("static ", "");
            for (String bad : e.getValue()) {
              if (what.startsWith(bad + ".")) {
                violations.add(MAIN.relativize(f) + ": " + l);
              }
            }
          }
        }
      }
    }
    assertEquals(List.of(), violations);
  }
}
