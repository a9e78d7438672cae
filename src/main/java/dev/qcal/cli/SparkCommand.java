package dev.qcal.cli;

import dev.qcal.jobs.SparkSessions;
import picocli.CommandLine.Option;

/**
 * A command that runs a model over data on Spark (calibrate, evaluate): the options of the job itself,
 * {@code --master} and {@code --batch-size}, declared once.
 */
abstract class SparkCommand extends OutputCommand {
  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master (default: spark-submit's, else local[*]).")
  String master;

  @Option(names = "--batch-size", defaultValue = "16", paramLabel = "N",
      description = "Samples per inference call (default: ${DEFAULT-VALUE}).")
  int batchSize;

  /** {@code --batch-size}, checked. */
  int batchSize() {
    UsageException.requireBatchSize(batchSize);
    return batchSize;
  }

  /** Checks {@code --master} (its form; that a standalone master answers), then opens the session. */
  SparkSessions.Handle openSession(String appName) {
    MasterUrl.check(master);
    return SparkSessions.open(appName, master);
  }
}
