package dev.qcal.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.data.DataException;
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
   * UTF-8; the format has no escaping, so a name {@link TensorNames#problem} refuses is bad input
   * (callers check the names before the data pass; this is the last guard).
   */
  public static void writeTensorRtCache(Path file, String trtVersion, Map<String, float[]> ranges) {
    StringBuilder b = new StringBuilder("TRT-").append(trtVersion).append("-EntropyCalibration2\n");
    for (Map.Entry<String, float[]> e : ranges.entrySet()) {
      String problem = TensorNames.problem(e.getKey(), true);
      if (problem != null) {
        throw new DataException(TENSORRT_CACHE + ": tensor '" + TensorNames.printable(e.getKey()) + "' " + problem);
      }
      float amax = Math.max(Math.abs(e.getValue()[0]), Math.abs(e.getValue()[1]));
      float scale = amax / 127f;
      b.append(e.getKey()).append(": ")
          .append(String.format(Locale.ROOT, "%08x", Float.floatToRawIntBits(scale))).append('\n');
    }
    try {
      Files.write(file, b.toString().getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new OutputException(file.getFileName() + ": cannot write: " + e.getMessage(), e);
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
