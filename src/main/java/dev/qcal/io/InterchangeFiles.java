package dev.qcal.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Ranges in the formats other tools read: a TensorRT calibration cache and an ONNX Runtime-style
 * calibration table.
 */
public final class InterchangeFiles {
  public static final String TENSORRT_CACHE = "calibration.cache";
  public static final String ORT_TABLE = "calibration_table.json";

  private InterchangeFiles() {}

  /**
   * TensorRT's calibration cache: first line {@code TRT-<version>-EntropyCalibration2}, then one
   * line per tensor {@code name: <8 hex digits>}, the big-endian IEEE-754 bits of the float32 scale
   * {@code amax / 127} with {@code amax = max(|range min|, |range max|)} (TensorRT's symmetric int8).
   */
  public static void writeTensorRtCache(Path file, String trtVersion, Map<String, float[]> ranges) {
    StringBuilder b = new StringBuilder("TRT-").append(trtVersion).append("-EntropyCalibration2\n");
    for (Map.Entry<String, float[]> e : ranges.entrySet()) {
      float amax = Math.max(Math.abs(e.getValue()[0]), Math.abs(e.getValue()[1]));
      float scale = amax / 127f;
      b.append(e.getKey()).append(": ")
          .append(String.format(Locale.ROOT, "%08x", Float.floatToRawIntBits(scale))).append('\n');
    }
    try {
      Files.writeString(file, b, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new OutputException(file + ": cannot write: " + e.getMessage(), e);
    }
  }

  /** {@code {"tensor": [min, max], ...}}: the chosen ranges, as ONNX Runtime's calibrators tabulate them. */
  public static void writeOrtTable(Path file, Map<String, float[]> ranges) {
    ObjectNode root = QParamsFile.JSON.createObjectNode();
    for (Map.Entry<String, float[]> e : ranges.entrySet()) {
      ArrayNode a = root.putArray(e.getKey());
      a.add(e.getValue()[0]);
      a.add(e.getValue()[1]);
    }
    QParamsFile.writeJson(file, root);
  }
}
