package dev.qcal.cli;

import dev.qcal.jobs.DataOptions;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Where the data comes from, which of it is used and how samples of different lengths are padded, declared
 * once for calibrate and evaluate: {@code --data} (declared by each command), or a catalog table or a query;
 * sampling by hash; {@code --pad}.
 */
public final class DataSelectionMixin {
  @Option(names = "--table", paramLabel = "[CATALOG.]DB.TABLE",
      description = "Read a catalog table (spark.table) instead of --data; columns named like the inputs.")
  String table;

  @Option(names = "--query", paramLabel = "SQL",
      description = "Read the result of a Spark SQL query instead of --data; columns named like the inputs.")
  String query;

  @Option(names = "--max-samples", paramLabel = "N",
      description = {"Use at most N samples: those with the smallest hash of (seed, file and row; for a",
          "table's or query's row, its values); the same whatever the partitioning. Reads the data twice."})
  Long maxSamples;

  @Option(names = "--sample-fraction", defaultValue = "1.0", paramLabel = "F",
      description = {"Use the samples whose hash of (seed, file and row, or row values) falls in fraction F of (0, 1]",
          "(default: ${DEFAULT-VALUE})."})
  double sampleFraction;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
      description = "Seed of the sample hash for --max-samples and --sample-fraction (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--pad", paramLabel = "NAME=VALUE", split = ",",
      description = {"Pad input NAME with VALUE (repeat per padded input): samples of different lengths share a",
          "batch, padded at the end to the longest in it (to the model's size where it fixes the dimension)."})
  List<String> pads;

  /** {@code --pad NAME=VALUE} options by input name; a name given twice is refused. */
  Map<String, String> pads() {
    return DataFormatMixin.assignments("--pad", "NAME=VALUE", pads, true);
  }

  /**
   * The data options of {@code data} (the command's {@code --data}, null or empty when not given) read as
   * {@code f} says, checked: exactly one of --data, --table and --query.
   */
  DataOptions toOptions(List<String> data, DataFormatMixin f, Map<String, String> pads, boolean padStatsInclude,
      String mask) {
    if (maxSamples != null && (maxSamples < 1 || maxSamples > Integer.MAX_VALUE - 8)) {
      throw new UsageException("--max-samples must be in [1, " + (Integer.MAX_VALUE - 8) + "], got " + maxSamples);
    }
    if (!(sampleFraction > 0 && sampleFraction <= 1)) {
      throw new UsageException("--sample-fraction must be in (0, 1], got " + sampleFraction);
    }
    boolean hasData = data != null && !data.isEmpty();
    int sources = (hasData ? 1 : 0) + (table == null ? 0 : 1) + (query == null ? 0 : 1);
    if (sources != 1) {
      throw new UsageException("give exactly one of --data, --table and --query");
    }
    String format = f.format();
    if (format != null && !hasData) {
      throw new UsageException("--format applies to --data only");
    }
    return new DataOptions(maxSamples, sampleFraction, seed, f.policy(), format, table, query, f.preprocess,
        f.columns(), pads, padStatsInclude, mask);
  }
}
