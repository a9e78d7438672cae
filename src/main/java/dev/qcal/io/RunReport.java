package dev.qcal.io;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code run.json} file: the summary of one run (what ran, on how much data, how long each stage
 * took) that an orchestrator (an Airflow task) pushes as the run's result. This class owns its name and
 * format header and writes it; the jobs fill its fields from one typed record ({@code jobs.RunRecord}).
 */
public final class RunReport {
  public static final String NAME = "run.json";
  /** The {@code format} field of the file. */
  public static final String FORMAT = "qcal.run";

  private final Map<String, Object> fields = new LinkedHashMap<>();

  /** Adds a field (fields keep the order in which they were put). */
  public RunReport put(String key, Object value) {
    fields.put(key, value);
    return this;
  }

  /** Writes the fields put so far as {@code file}, after the format header. */
  public void write(Path file) {
    write(file, fields);
  }

  /** Writes {@code fields}, in their order, as {@code file}, after the format header. */
  public static void write(Path file, Map<String, Object> fields) {
    Map<String, Object> all = new LinkedHashMap<>();
    all.put("format", FORMAT);
    all.put("format_version", 1);
    all.putAll(fields);
    QParamsFile.writeJson(file, all);
  }
}
