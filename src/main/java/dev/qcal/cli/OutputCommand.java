package dev.qcal.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A command that writes one output directory: {@code --out} and {@code --overwrite}, declared once for
 * calibrate, quantize, evaluate and report (picocli finds options in superclasses; they stay fields of each
 * command, as {@code conf/qcal-defaults.conf} keys {@code <command>.out} and {@code <command>.overwrite}).
 * example-data declares its own {@code --out}: a new local directory, never overwritten.
 */
abstract class OutputCommand {
  @Spec CommandSpec spec;

  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "Output directory: a local path or a Hadoop URI (hdfs://...).")
  String out;

  @Option(names = "--overwrite", description = "Replace an existing output directory.")
  boolean overwrite;
}
