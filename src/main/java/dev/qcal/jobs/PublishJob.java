package dev.qcal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.data.DataException;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.HadoopFiles;
import dev.qcal.io.OutputGuard;
import dev.qcal.io.QParamsFile;
import java.io.IOException;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * {@code publish}: the last step of a scheduled calibration. Copies a candidate run (a {@code calibrate},
 * {@code merge} or {@code quantize} output) to a stable location, atomically, when a trigger says the
 * deployed parameters should change and the candidate passes its quality gate; otherwise leaves the stable
 * location exactly as it was.
 *
 * <p>Triggers, in order: {@code --force}; nothing published there yet; {@code drift.json} (from
 * {@code qcal drift}) saying the data drifted; the schedule ({@code --republish-after N}: N days or more since
 * the publication's date). The gate: with {@code --eval}, an {@code eval.json} of the candidate's own
 * {@code quantized.onnx} whose lowest top-1 agreement and SQNR over the outputs are at least the thresholds.
 * A candidate that is already the published one is kept.
 *
 * <p>The stable location then holds every file of the candidate run (its {@code stats/} included, so it can be
 * the baseline of the next drift check), the {@code eval.json} and {@code drift.json} that decided, and
 * {@code published.json}: the date, the reason, the candidate and the gate's figures.
 */
public final class PublishJob {
  static final String COMMAND = "publish";
  /** What the stable location says about its publication. */
  public static final String PUBLISHED = "published.json";
  static final String FORMAT = "qcal.published";
  static final String QUANTIZED = "quantized.onnx";
  static final String EVAL = "eval.json";
  static final String DRIFT = "drift.json";
  /** The commands whose outputs hold a quantized model to publish. */
  static final Set<String> CANDIDATES = Set.of("calibrate", "quantize", "merge");

  private PublishJob() {}

  /**
   * @param candidate the run to publish (an output directory, local or Hadoop)
   * @param out the stable location
   * @param date the publication's date (the scheduler's run date)
   * @param drift a {@code qcal drift} output directory or its drift.json, or null
   * @param republishAfterDays publish when the publication is at least this many days old, or null
   * @param eval an {@code evaluate} output directory or its eval.json, or null
   * @param minAgreement the lowest top-1 agreement of any output the gate accepts, or null
   * @param minSqnrDb the lowest output SQNR (dB) the gate accepts, or null
   */
  public record Options(String candidate, String out, boolean overwrite, LocalDate date, String drift,
      Integer republishAfterDays, String eval, Double minAgreement, Double minSqnrDb, boolean force) {
    public List<OutputGuard.Input> inputs() {
      List<OutputGuard.Input> in = new ArrayList<>(OutputGuard.Input.hadoop("--candidate", candidate));
      in.addAll(OutputGuard.Input.hadoop("--drift", drift));
      in.addAll(OutputGuard.Input.hadoop("--eval", eval));
      return in;
    }
  }

  /** What happened: {@link Outcome#PUBLISHED}, {@link Outcome#KEPT} (no trigger) or {@link Outcome#REFUSED} (gate). */
  public enum Outcome { PUBLISHED, KEPT, REFUSED }

  /** The outcome and why, in words a log line carries. */
  public record Result(Outcome outcome, String why) {}

  /** The publication at the stable location: its date and quantized model's SHA-256; null fields when none. */
  record Current(LocalDate date, String quantizedSha256) {}

  /** Refuses, before anything is read, an {@code --out} that overlaps an input or may not be replaced. */
  public static void checkOutput(Options o, List<OutputGuard.Input> more, Configuration conf) {
    OutputGuard.check(COMMAND, o.out(), o.overwrite(), conf, o.inputs(), more);
  }

  public static Result run(Options o, Configuration conf) {
    checkOutput(o, List.of(), conf);
    Path candidate = new Path(o.candidate());
    List<String> files = candidateFiles(o.candidate(), conf);
    JsonNode qparams = HadoopFiles.readJson(new Path(candidate, QParamsFile.NAME), QParamsFile.FORMAT, "", conf);
    String quantizedSha = HadoopFiles.sha256(new Path(candidate, QUANTIZED), conf);
    Current current = current(o.out(), conf);
    JsonNode drift = o.drift() == null ? null : HadoopFiles.readJson(jsonIn(o.drift(), DRIFT, conf), null, "", conf);
    String trigger = trigger(o, current, quantizedSha, drift == null ? null : driftVerdict(drift, o.drift()));
    if (trigger == null) {
      return new Result(Outcome.KEPT, kept(o, current, quantizedSha, drift != null));
    }
    JsonNode eval = o.eval() == null ? null : HadoopFiles.readJson(jsonIn(o.eval(), EVAL, conf), "qcal.eval", "", conf);
    Map<String, Object> gate = new LinkedHashMap<>();
    String refused = eval == null ? null : gate(o, eval, quantizedSha, gate);
    if (refused != null) {
      return new Result(Outcome.REFUSED, refused);
    }
    write(o, conf, candidate, files, qparams, quantizedSha, current, trigger, gate, drift, eval);
    return new Result(Outcome.PUBLISHED, trigger);
  }

  /** The files of the candidate's marker; refuses a directory that is not a complete output with a model. */
  private static List<String> candidateFiles(String candidate, Configuration conf) {
    JsonNode marker = AtomicOutput.marker(candidate, conf);
    if (marker == null) {
      throw new DataException("--candidate " + candidate + ": no " + AtomicOutput.SUCCESS + " marker: not a"
          + " complete qcal output (a run that failed or is still writing)");
    }
    String command = marker.path("command").asText();
    if (!CANDIDATES.contains(command)) {
      throw new DataException("--candidate " + candidate + ": an output of qcal " + command
          + ", expected one of calibrate, merge or quantize (it holds no quantized model)");
    }
    List<String> files = new ArrayList<>();
    marker.path("files").forEach(f -> files.add(f.asText()));
    for (String f : files) {
      // the marker is another run's file: no name may leave the staging directory
      if (f.isEmpty() || f.startsWith("/") || f.equals("..") || f.startsWith("../") || f.contains("/../")
          || f.endsWith("/..") || f.contains("\\")) {
        throw new DataException("--candidate " + candidate + ": its marker lists a file outside the directory: " + f);
      }
    }
    if (!files.contains(QUANTIZED) || !files.contains(QParamsFile.NAME)) {
      throw new DataException("--candidate " + candidate + ": the output lists no " + QUANTIZED + " and "
          + QParamsFile.NAME + " (files: " + files + ")");
    }
    return files;
  }

  /** The publication at {@code out}, or one with null fields when nothing is published there yet. */
  static Current current(String out, Configuration conf) {
    Path published = new Path(new Path(AtomicOutput.qualified(out, conf)), PUBLISHED);
    if (!HadoopFiles.exists(published, conf)) {
      return new Current(null, null);
    }
    JsonNode p = HadoopFiles.readJson(published, FORMAT, "", conf);
    try {
      return new Current(LocalDate.parse(p.path("date").asText()), p.path("quantized_sha256").asText());
    } catch (java.time.format.DateTimeParseException e) {
      throw new DataException(published + ": date '" + p.path("date").asText() + "' is not YYYY-MM-DD");
    }
  }

  /** {@code location}, or {@code location/name} when {@code location} is a directory. */
  private static Path jsonIn(String location, String name, Configuration conf) {
    Path p = new Path(location);
    try {
      return p.getFileSystem(conf).getFileStatus(p).isDirectory() ? new Path(p, name) : p;
    } catch (java.io.FileNotFoundException e) {
      throw new DataException(location + ": not found");
    } catch (IOException e) {
      throw new DataException(location + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Whether {@code drift.json} (format {@code qcal.drift}) says the data drifted (true), or not (false). */
  static boolean driftVerdict(JsonNode drift, String location) {
    String verdict = drift.path("verdict").asText();
    if (!DriftJob.FORMAT.equals(drift.path("format").asText()) || !verdict.equals("ok") && !verdict.equals("drift")) {
      throw new DataException("--drift " + location + ": expected a drift.json of qcal drift (format '"
          + DriftJob.FORMAT + "', verdict 'ok' or 'drift')");
    }
    return verdict.equals("drift");
  }

  /** Why to publish, or null: no trigger fires. */
  static String trigger(Options o, Current current, String quantizedSha, Boolean drifted) {
    if (o.force()) {
      return "forced (--force)";
    }
    if (current.date() == null) {
      return "first publication";
    }
    if (quantizedSha.equals(current.quantizedSha256())) {
      return null;
    }
    if (Boolean.TRUE.equals(drifted)) {
      return "drift (" + o.drift() + ")";
    }
    long age = ChronoUnit.DAYS.between(current.date(), o.date());
    if (o.republishAfterDays() != null && age >= o.republishAfterDays()) {
      return "schedule: " + age + " days since " + current.date() + " (--republish-after " + o.republishAfterDays()
          + ")";
    }
    return null;
  }

  private static String kept(Options o, Current current, String quantizedSha, boolean driftGiven) {
    if (quantizedSha.equals(current.quantizedSha256())) {
      return "the published model (" + current.date() + ") is the candidate's";
    }
    long age = ChronoUnit.DAYS.between(current.date(), o.date());
    return (driftGiven ? "no drift" : "no drift check") + ", published " + current.date() + " (" + age + " days ago"
        + (o.republishAfterDays() == null ? ", no --republish-after" : " < --republish-after "
            + o.republishAfterDays()) + ")";
  }

  /**
   * The gate on {@code eval}: null when it passes, else why not. Puts the figures into {@code gate}.
   *
   * @throws DataException when eval.json is of another quantized model, or lacks a figure a threshold needs
   */
  static String gate(Options o, JsonNode eval, String quantizedSha, Map<String, Object> gate) {
    String evaluated = eval.path("quantized").path("sha256").asText();
    if (!quantizedSha.equals(evaluated)) {
      throw new DataException("--eval " + o.eval() + ": evaluated the quantized model with SHA-256 " + evaluated
          + ", not the candidate's " + QUANTIZED + " (" + quantizedSha + ")");
    }
    Double agreement = lowest(eval, "top1_agreement");
    Double sqnr = lowest(eval, "sqnr_db");
    gate.put("eval_samples", eval.path("samples").asLong());
    gate.put("top1_agreement", agreement);
    gate.put("min_agreement", o.minAgreement());
    gate.put("sqnr_db", sqnr);
    gate.put("min_sqnr_db", o.minSqnrDb());
    List<String> failed = new ArrayList<>();
    if (o.minAgreement() != null) {
      if (agreement == null) {
        throw new DataException("--eval " + o.eval() + ": no output has a top-1 agreement (--gate-agreement needs a"
            + " classification output)");
      }
      if (agreement < o.minAgreement()) {
        failed.add("top-1 agreement " + agreement + " < --gate-agreement " + o.minAgreement());
      }
    }
    if (o.minSqnrDb() != null) {
      if (sqnr == null) {
        throw new DataException("--eval " + o.eval() + ": no output has an SQNR");
      }
      if (sqnr < o.minSqnrDb()) {
        failed.add("SQNR " + sqnr + " dB < --gate-sqnr " + o.minSqnrDb());
      }
    }
    return failed.isEmpty() ? null : String.join("; ", failed);
  }

  /** The lowest {@code field} over eval.json's outputs, null when no output has it. */
  private static Double lowest(JsonNode eval, String field) {
    Double low = null;
    for (JsonNode out : eval.path("outputs")) {
      JsonNode v = out.path(field);
      if (v.isNumber() && (low == null || v.asDouble() < low)) {
        low = v.asDouble();
      }
    }
    return low;
  }

  private static void write(Options o, Configuration conf, Path candidate, List<String> files, JsonNode qparams,
      String quantizedSha, Current current, String trigger, Map<String, Object> gate, JsonNode drift, JsonNode eval) {
    try (AtomicOutput out = AtomicOutput.begin(o.out(), COMMAND, o.overwrite(), conf)) {
      for (String f : files) {
        HadoopFiles.copyToLocal(new Path(candidate, f), out.dir().resolve(f), conf);
      }
      if (drift != null) {
        QParamsFile.writeJson(out.dir().resolve(DRIFT), drift);
      }
      if (eval != null) {
        QParamsFile.writeJson(out.dir().resolve(EVAL), eval);
      }
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("format", FORMAT);
      p.put("format_version", 1);
      p.put("date", o.date().toString());
      p.put("reason", trigger);
      p.put("candidate", AtomicOutput.qualified(o.candidate(), conf));
      p.put("quantized_sha256", quantizedSha);
      p.put("model_sha256", qparams.path("model").path("sha256").asText());
      p.put("method", qparams.path("method").asText());
      p.put("samples", qparams.path("samples").asLong());
      p.put("gate", gate.isEmpty() ? null : gate);
      p.put("previous", current.date() == null ? null
          : Map.of("date", current.date().toString(), "quantized_sha256", current.quantizedSha256()));
      QParamsFile.writeJson(out.dir().resolve(PUBLISHED), p);
      out.commit();
    }
  }
}
