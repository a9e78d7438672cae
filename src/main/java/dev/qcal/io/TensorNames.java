package dev.qcal.io;

import java.nio.charset.StandardCharsets;

/**
 * The tensor names qcal's outputs can carry. JSON (qparams.json, calibration_table.json, run.json,
 * stats.json), stats.bin and report.html carry any name up to {@link #MAX_BYTES}; TensorRT's
 * calibration.cache is one {@code name: hex} line per tensor with no escaping, so a name holding a
 * control character other than tab (NUL, line breaks), U+2028/U+2029 (line breaks to some readers) or
 * the separator {@code ": "} cannot be written there so that every reader reads it back.
 */
public final class TensorNames {
  /**
   * Longest name written, in UTF-8 bytes: below the 50,000 a default Jackson reader accepts as an
   * object key, so every JSON output reads back with stock parsers.
   */
  public static final int MAX_BYTES = 32_768;
  private static final int SHOWN = 120;

  private TensorNames() {}

  /**
   * Why {@code name} cannot be written to every output, or null when it can. {@code inTensorRtCache}:
   * the name also goes to calibration.cache (an activation's range).
   */
  public static String problem(String name, boolean inTensorRtCache) {
    int bytes = name.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_BYTES) {
      return "is " + bytes + " bytes long in UTF-8; qcal writes names of at most " + MAX_BYTES + " bytes";
    }
    if (!inTensorRtCache) {
      return null;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c != '\t' && Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
        return "holds " + String.format("U+%04X", (int) c) + " (a control character or line break), which "
            + InterchangeFiles.TENSORRT_CACHE + " (one 'name: scale' line per tensor, no escaping) cannot carry";
      }
    }
    if (name.contains(": ")) {
      return "holds \": \", the separator of " + InterchangeFiles.TENSORRT_CACHE + "'s 'name: scale' lines";
    }
    return null;
  }

  /**
   * Why ONNX Runtime cannot be asked for tensor {@code name} (a graph input or output, or an exposed
   * activation), or null. Its Java API passes names as JNI's modified UTF-8, which differs from UTF-8
   * for NUL and for characters outside the Basic Multilingual Plane (emoji): such a name is not found.
   */
  public static String runtimeProblem(String name) {
    for (int i = 0; i < name.length(); i = name.offsetByCodePoints(i, 1)) {
      int c = name.codePointAt(i);
      if (c == 0 || Character.isSupplementaryCodePoint(c)) {
        return "holds " + String.format("U+%04X", c) + ", which ONNX Runtime's Java API cannot pass (it passes"
            + " names as modified UTF-8: NUL and characters beyond U+FFFF, such as emoji, are not found)";
      }
    }
    return null;
  }

  /**
   * {@code name} as an error message shows it, on one line: control and format characters (such as
   * a right-to-left override) and backslashes as Java escapes, a long name cut with its length.
   */
  public static String printable(String name) {
    StringBuilder b = new StringBuilder();
    int n = Math.min(name.length(), SHOWN);
    if (n < name.length() && Character.isHighSurrogate(name.charAt(n - 1))) {
      n--;
    }
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      switch (c) {
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\\' -> b.append("\\\\");
        default -> {
          if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    if (n < name.length()) {
      b.append("... (").append(name.length()).append(" characters)");
    }
    return b.toString();
  }
}
