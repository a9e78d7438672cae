package dev.qcal.cli;

import dev.qcal.jobs.PublishJob;
import dev.qcal.jobs.SparkSessions;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qcal publish}: a scheduled run's candidate to a stable location, when a trigger fires and the gate passes. */
@Command(
    name = "publish",
    mixinStandardHelpOptions = true,
    description = {
      "Publishes a calibrate, merge or quantize output to a stable location.",
      "Copies --candidate to --out, atomically (_SUCCESS last), when a trigger fires:",
      "nothing published there yet, --drift's drift.json found drift, the publication",
      "is --republish-after days old, or --force; and only when the candidate's",
      "eval.json (--eval) meets --gate-agreement and --gate-sqnr. --out then holds the",
      "candidate's files, the eval.json and drift.json that decided, and",
      "published.json (date, reason, gate figures, the previous publication).",
      "Exit codes: 0 published or kept (no trigger; --out untouched); 4 refused by the",
      "gate (--out untouched); 2 bad input; 3 failure."
    })
public final class PublishCommand extends OutputCommand implements Callable<Integer> {
  @Option(names = "--candidate", required = true, paramLabel = "DIR",
      description = "The run to publish: a calibrate, merge or quantize output directory (local or hdfs://).")
  String candidate;

  @Option(names = "--date", paramLabel = "YYYY-MM-DD",
      description = "The publication's date, e.g. the scheduler's run date (default: today, UTC).")
  String date;

  @Option(names = "--drift", paramLabel = "DIR",
      description = "A qcal drift output (or its drift.json): publish when it found drift.")
  String drift;

  @Option(names = "--republish-after", paramLabel = "DAYS",
      description = "Publish when the current publication is at least DAYS days older than --date.")
  Integer republishAfter;

  @Option(names = "--eval", paramLabel = "DIR",
      description = "An evaluate output directory (or its eval.json) of the run's quantized model; an evaluation of"
          + " other models (another SHA-256) is refused.")
  String eval;

  @Option(names = "--gate-agreement", paramLabel = "A",
      description = "Gate: the lowest top-1 agreement with FP32 of any output, in [0, 1] (needs --eval).")
  Double minAgreement;

  @Option(names = "--gate-sqnr", paramLabel = "DB",
      description = "Gate: the lowest output SQNR in dB (needs --eval).")
  Double minSqnr;

  @Option(names = "--force", description = "Publish whatever the triggers say (the gate still applies).")
  boolean force;

  @Override
  public Integer call() {
    PublishJob.Options o = new PublishJob.Options(candidate, out, overwrite, date(), drift, republishAfter(), eval,
        minAgreement(), minSqnr, force);
    PublishJob.checkOutput(o, QcalDefaults.inputs(), SparkSessions.hadoopConf());
    PublishJob.Result r = PublishJob.run(o, SparkSessions.hadoopConf());
    switch (r.outcome()) {
      case PUBLISHED -> spec.commandLine().getOut().println("qcal: published " + candidate + " to " + out + ": "
          + r.why());
      case KEPT -> spec.commandLine().getOut().println("qcal: kept " + out + ": " + r.why());
      case REFUSED -> {
        spec.commandLine().getErr().println("qcal: not published: " + r.why() + "; " + out + " is unchanged");
        return Main.THRESHOLD;
      }
    }
    return Main.OK;
  }

  private LocalDate date() {
    if (date == null) {
      return LocalDate.now(ZoneOffset.UTC);
    }
    try {
      return LocalDate.parse(date);
    } catch (DateTimeParseException e) {
      throw new UsageException("--date must be YYYY-MM-DD, got '" + date + "'");
    }
  }

  private Integer republishAfter() {
    if (republishAfter != null && republishAfter < 0) {
      throw new UsageException("--republish-after must be >= 0 days, got " + republishAfter);
    }
    return republishAfter;
  }

  private Double minAgreement() {
    if ((minAgreement != null || minSqnr != null) && eval == null) {
      throw new UsageException("--gate-agreement and --gate-sqnr need --eval (the candidate's eval.json)");
    }
    if (minAgreement != null && !(minAgreement >= 0 && minAgreement <= 1)) {
      throw new UsageException("--gate-agreement must be in [0, 1], got " + minAgreement);
    }
    if (minSqnr != null && !Double.isFinite(minSqnr)) {
      throw new UsageException("--gate-sqnr must be a finite number of dB, got " + minSqnr);
    }
    return minAgreement;
  }
}
