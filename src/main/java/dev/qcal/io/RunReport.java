package dev.qcal.io;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The summary of one run, written as {@code run.json}: what ran, on how much data, how long each
 * stage took. An orchestrator (an Airflow task) pushes it as the run's result.
 */
public final class RunReport {
  public static final String NAME = "run.json";

  private final Map<String, Object> fields = new LinkedHashMap<>();
  private final Map<String, Double> stageSeconds = new LinkedHashMap<>();

  public RunReport put(String key, Object value) {
    fields.put(key, value);
    return this;
  }

  public Object get(String key) {
    return fields.get(key);
  }

  /** Records a stage's wall time in seconds (stages keep the order in which they ran). */
  public RunReport stage(String name, long nanos) {
    stageSeconds.put(name, nanos / 1e9);
    return this;
  }

  public double stageSeconds(String name) {
    return stageSeconds.getOrDefault(name, 0.0);
  }

  public void write(Path file) {
    Map<String, Object> all = new LinkedHashMap<>();
    all.put("format", "qcal.run");
    all.put("format_version", 1);
    all.putAll(fields);
    all.put("stage_seconds", stageSeconds);
    QParamsFile.writeJson(file, all);
  }
}
