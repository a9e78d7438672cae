package dev.qcal.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.DataException;
import dev.qcal.io.HadoopFiles;
import dev.qcal.io.OutputException;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.RunReport;
import dev.qcal.io.StatsFiles;
import dev.qcal.stats.StatsSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;

/**
 * Reads what a report draws from out of a run directory (local or any Hadoop file system): its
 * qparams.json (through {@link QParamsFile#read}), run.json, statistics and an optional eval.json,
 * each checked for its format and for belonging to the same model.
 */
public final class RunDirectory {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RunDirectory() {}

  /** The report of an output directory being written on the local disk, with its statistics in memory. */
  public static ReportData ofLocalRun(Path dir, StatsSet stats) {
    QParamsFile.Contents qparams = QParamsFile.read(dir.resolve(QParamsFile.NAME));
    Path run = dir.resolve(RunReport.NAME);
    return ReportData.of(qparams, Files.exists(run) ? readLocal(run) : null, stats, null);
  }

  private static JsonNode readLocal(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new OutputException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * The statistics a report of {@code runDir} draws from when no {@code --stats} is given: the run's
   * own {@code stats/}, else those its run.json names (a quantize output).
   *
   * @throws DataException when run.json is missing or of another format, or there are none
   */
  public static String statsOf(String runDir, Configuration conf) {
    readQParams(runDir, conf); // the same first complaint as read's for a directory that is no run
    return statsOf(runDir, readRun(runDir, conf), conf);
  }

  private static JsonNode readQParams(String runDir, Configuration conf) {
    return HadoopFiles.readJson(new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(runDir), QParamsFile.NAME),
        QParamsFile.FORMAT, " (is " + runDir + " a calibrate or quantize output directory?)", conf);
  }

  private static JsonNode readRun(String runDir, Configuration conf) {
    return HadoopFiles.readJson(new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(runDir), RunReport.NAME), RunReport.FORMAT,
        "", conf);
  }

  private static String statsOf(String runDir, JsonNode run, Configuration conf) {
    org.apache.hadoop.fs.Path own = new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(runDir), StatsFiles.DIR);
    if (HadoopFiles.exists(own, conf)) {
      return own.toString();
    }
    if (run.path("stats").isTextual()) {
      return run.get("stats").asText();
    }
    throw new DataException(runDir + ": no " + StatsFiles.DIR + "/ here and run.json names no statistics; give --stats DIR");
  }

  /**
   * The report of a finished run directory (local or any Hadoop file system).
   *
   * @param runDir a calibrate or quantize output directory (qparams.json, run.json)
   * @param statsLocation statistics to use, or null: the run's {@code stats/}, else those its run.json names
   * @param evalLocation an evaluate output directory or its eval.json, or null
   * @throws DataException naming the file when something is missing, unreadable, of another format,
   *     or the statistics belong to another model
   */
  public static ReportData read(String runDir, String statsLocation, String evalLocation, Configuration conf) {
    QParamsFile.Contents qparams = QParamsFile.read(readQParams(runDir, conf));
    JsonNode run = readRun(runDir, conf);
    String stats = statsLocation != null ? statsLocation : statsOf(runDir, run, conf);
    StatsFiles.Loaded loaded = StatsFiles.read(stats, conf);
    String sha = qparams.header().modelSha256();
    if (!sha.equals(loaded.manifest().modelSha256())) {
      throw new DataException(stats + ": statistics of the model with SHA-256 " + loaded.manifest().modelSha256()
          + ", but " + new org.apache.hadoop.fs.Path(runDir, QParamsFile.NAME) + " quantized the model with SHA-256 "
          + sha);
    }
    org.apache.hadoop.fs.Path evalFile = evalLocation == null ? null : evalFile(evalLocation);
    JsonNode eval = evalFile == null ? null
        : HadoopFiles.readJson(evalFile, "qcal.eval", " (give an evaluate output directory or its eval.json)", conf);
    if (eval != null) {
      requireSameModels(runDir, qparams.header(), evalFile, eval, conf);
    }
    return ReportData.of(qparams, run, loaded.stats(), eval);
  }

  private static org.apache.hadoop.fs.Path evalFile(String evalLocation) {
    org.apache.hadoop.fs.Path e = new org.apache.hadoop.fs.Path(evalLocation);
    return evalLocation.endsWith(".json") ? e : new org.apache.hadoop.fs.Path(e, "eval.json");
  }

  /**
   * Refuses an eval.json of other models than the run's: its FP32 model's SHA-256 must be the one the run's
   * qparams.json quantized, and its quantized model's that of the run's quantized.onnx (when the run has one).
   */
  private static void requireSameModels(String runDir, QParamsFile.Header header, org.apache.hadoop.fs.Path evalFile,
      JsonNode eval, Configuration conf) {
    JsonNode fp32 = eval.path("fp32");
    if (!header.modelSha256().equals(fp32.path("sha256").asText(""))) {
      throw new DataException(evalFile + " compared with the FP32 model " + fp32.path("path").asText("?")
          + " (SHA-256 " + fp32.path("sha256").asText("none") + "), not the run's " + header.modelPath()
          + " (SHA-256 " + header.modelSha256() + ", " + new org.apache.hadoop.fs.Path(runDir, QParamsFile.NAME)
          + ")");
    }
    JsonNode evaluated = eval.path("quantized");
    org.apache.hadoop.fs.Path quantized = new org.apache.hadoop.fs.Path(runDir, "quantized.onnx");
    if (!HadoopFiles.exists(quantized, conf)) {
      return;
    }
    String own = HadoopFiles.sha256(quantized, conf);
    if (!own.equals(evaluated.path("sha256").asText(""))) {
      throw new DataException(evalFile + " evaluated the quantized model " + evaluated.path("path").asText("?")
          + " (SHA-256 " + evaluated.path("sha256").asText("none") + "), not the run's " + quantized + " (SHA-256 "
          + own + ")");
    }
  }
}
