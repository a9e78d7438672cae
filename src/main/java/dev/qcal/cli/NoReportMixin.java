package dev.qcal.cli;

import dev.qcal.jobs.RangeOptions;
import picocli.CommandLine.Option;

/** {@code --no-report}, shared by the commands that write report.html with their outputs (calibrate, quantize). */
public final class NoReportMixin {
  @Option(names = "--no-report", description = "Do not write report.html (its charts cost time on runs nobody reads).")
  boolean noReport;

  /** {@code ranges}, with report.html written unless --no-report. */
  RangeOptions apply(RangeOptions ranges) {
    return ranges.withReport(!noReport);
  }
}
