package dev.qcal;

import static java.util.Map.entry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * report.html from the file formats alone and {@code io} stays below it; within
 * {@code model}, {@code onnx} is the bottom, {@code prepare} and {@code plan} never see each other and only
 * {@code qdq} writes Q/DQ.
 */
class LayeringTest {
  private static final Path MAIN = Path.of("src/main/java/dev/qcal");
  private static final String MODEL_PREPARE = "dev.qcal.model.prepare";
  private static final String MODEL_PLAN = "dev.qcal.model.plan";
  private static final String MODEL_QDQ = "dev.qcal.model.qdq";
  private static final String MODEL_SMOOTH = "dev.qcal.model.smooth";

  /** package -> import prefixes it may not use. */
  private static final Map<String, Set<String>> FORBIDDEN = Map.ofEntries(
      entry("stats", Set.of("org.apache.spark", "org.apache.hadoop", "ai.onnxruntime", "ai.onnx", "dev.qcal.jobs",
          "dev.qcal.runtime", "dev.qcal.model", "dev.qcal.calib", "dev.qcal.quant", "dev.qcal.data", "dev.qcal.io")),
      entry("quant", Set.of("org.apache.spark", "org.apache.hadoop", "ai.onnxruntime", "ai.onnx", "dev.qcal.jobs",
          "dev.qcal.runtime", "dev.qcal.model", "dev.qcal.stats", "dev.qcal.calib", "dev.qcal.data", "dev.qcal.io")),
      entry("calib", Set.of("org.apache.spark", "org.apache.hadoop", "ai.onnxruntime", "ai.onnx", "dev.qcal.jobs",
          "dev.qcal.runtime", "dev.qcal.model", "dev.qcal.data", "dev.qcal.io", "dev.qcal.cli")),
      entry("model", Set.of("org.apache.spark", "ai.onnxruntime", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.report",
          "dev.qcal.io")),
      // model's sub-packages: onnx at the bottom, prepare, plan and smooth beside each other, qdq on top of plan
      entry("model/onnx", Set.of(MODEL_PREPARE, MODEL_PLAN, MODEL_QDQ, MODEL_SMOOTH)),
      entry("model/prepare", Set.of(MODEL_PLAN, MODEL_QDQ)),
      entry("model/plan", Set.of(MODEL_PREPARE, MODEL_QDQ)),
      entry("model/qdq", Set.of(MODEL_PREPARE)),
      entry("model/smooth", Set.of(MODEL_PREPARE, MODEL_PLAN, MODEL_QDQ)),
      entry("data", Set.of("org.apache.spark", "ai.onnxruntime", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.model",
          "dev.qcal.runtime", "dev.qcal.io", "dev.qcal.report")),
      entry("io", Set.of("org.apache.spark", "ai.onnxruntime", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.report",
          "dev.qcal.runtime")),
      entry("report", Set.of("org.apache.spark", "ai.onnxruntime", "ai.onnx", "dev.qcal.jobs", "dev.qcal.cli",
          "dev.qcal.runtime", "dev.qcal.model")),
      entry("runtime", Set.of("org.apache.spark", "dev.qcal.jobs", "dev.qcal.cli", "dev.qcal.io", "dev.qcal.report")),
      entry("examples", Set.of("org.apache.spark", "ai.onnxruntime", "dev.qcal.jobs", "dev.qcal.cli",
          "dev.qcal.runtime")),
      entry("jobs", Set.of("dev.qcal.cli")));

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

  @Test
  void eachModelSubPackageSaysWhatItOwnsAndNeverImports() throws IOException {
    try (Stream<Path> dirs = Files.list(MAIN.resolve("model"))) {
      List<Path> packages = dirs.filter(Files::isDirectory).sorted().toList();
      assertEquals(List.of("onnx", "plan", "prepare", "qdq", "smooth"),
          packages.stream().map(p -> p.getFileName().toString()).toList());
      for (Path p : packages) {
        Path info = p.resolve("package-info.java");
        assertTrue(Files.exists(info) && Files.readString(info).toLowerCase(java.util.Locale.ROOT).contains("never import"), info.toString());
      }
    }
  }
}
