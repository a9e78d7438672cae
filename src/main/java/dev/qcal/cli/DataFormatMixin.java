package dev.qcal.cli;

import dev.qcal.data.BadRecords;
import dev.qcal.data.SourceFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * How data files are read, declared once for every command that reads data: calibrate's and evaluate's
 * {@code --data} and the fallback's {@code --eval-data} (calibrate, quantize).
 */
public final class DataFormatMixin {
  @Option(names = "--format", paramLabel = SourceFormat.LABEL, completionCandidates = SourceFormat.Names.class,
      description = "Format of the data files: ${COMPLETION-CANDIDATES} (default: inferred from the file names).")
  String format;

  @Option(names = "--preprocess", paramLabel = "FILE",
      description = {"Image preprocessing for an image folder (PNG, JPEG, BMP), a JSON file: color, resize,",
          "center_crop, divide, mean, std, pad, layout (see README; jobs/ppocr-cls-preprocess.json)."})
  String preprocess;

  @Option(names = "--input", paramLabel = "NAME=COLUMN",
      description = "Bind a model input to a table column (default: the column named like the input).")
  List<String> inputColumns;

  @Option(names = "--sample-shape", paramLabel = "NAME=D1,D2,...",
      description = "Shape of one sample of flat (Parquet, JSON, CSV) data, without the batch dimension.")
  List<String> sampleShapes;

  @Option(names = "--on-bad-record", defaultValue = "fail", paramLabel = "fail|skip",
      description = {"A record that cannot be a sample (wrong element count or shape, null or non-numeric value,",
          "undecodable or truncated .npy): fail naming it (exit 2), or skip it and count it per reason in",
          "run.json (skipped_records; reads the data twice). Default: ${DEFAULT-VALUE}."})
  String onBadRecord;

  /** {@code --format}, checked; null when not given. */
  String format() {
    if (format != null && SourceFormat.named(format) == null) {
      throw new UsageException("--format must be " + SourceFormat.choices() + ", got '" + format + "'");
    }
    return format;
  }

  BadRecords.Policy policy() {
    try {
      return BadRecords.Policy.parse(onBadRecord);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--on-bad-record: " + e.getMessage());
    }
  }

  /** {@code --input NAME=COLUMN} bindings by input name (the last of a name counts). */
  Map<String, String> columns() {
    return assignments("--input", "NAME=COLUMN", inputColumns, false);
  }

  /**
   * Values {@code NAME=VALUE} of {@code option} by name, both parts non-empty ({@code form} is the expected form
   * in errors); a name given twice is refused when {@code once}, else the later value counts.
   */
  static Map<String, String> assignments(String option, String form, List<String> values, boolean once) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String v : values == null ? List.<String>of() : values) {
      int eq = v.indexOf('=');
      if (eq <= 0 || eq == v.length() - 1) {
        throw new UsageException(option + " '" + v + "': expected " + form);
      }
      if (m.put(v.substring(0, eq), v.substring(eq + 1)) != null && once) {
        throw new UsageException(option + ": input '" + v.substring(0, eq) + "' is given twice");
      }
    }
    return m;
  }

  /** {@code --sample-shape NAME=D1,D2,...} by input name. */
  Map<String, long[]> sampleShapes() {
    return parseShapes("--sample-shape", sampleShapes);
  }

  /** Shapes {@code NAME=D1,D2,...} of positive dimensions, by name; {@code option} names the option in errors. */
  static Map<String, long[]> parseShapes(String option, List<String> specs) {
    Map<String, long[]> m = new LinkedHashMap<>();
    for (String s : specs == null ? List.<String>of() : specs) {
      int eq = s.indexOf('=');
      String name = eq > 0 ? s.substring(0, eq) : "";
      if (name.isEmpty()) {
        throw new UsageException(option + " '" + s + "': expected NAME=D1,D2,... (e.g. x=3,48,192)");
      }
      try {
        String[] parts = s.substring(eq + 1).split(",");
        long[] shape = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
          shape[i] = Long.parseLong(parts[i].trim());
          if (shape[i] < 1) {
            throw new NumberFormatException();
          }
        }
        m.put(name, shape);
      } catch (NumberFormatException e) {
        throw new UsageException(option + " '" + s + "': dimensions must be positive integers");
      }
    }
    return m;
  }
}
