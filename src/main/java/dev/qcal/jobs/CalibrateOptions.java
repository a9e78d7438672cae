package dev.qcal.jobs;

import dev.qcal.io.OutputGuard;
import dev.qcal.stats.StatsConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Everything one calibration run needs, validated by the CLI.
 *
 * @param out the output directory, a local path or a Hadoop file system URI ({@code hdfs://...})
 * @param data {@code PATH} for all inputs, or {@code name=PATH} entries, one per model input
 * @param sampleShapes per input name, the shape of one sample of flat (Parquet) data
 * @param partitions repartition the samples into this many partitions; null keeps the source's
 * @param statsConfig histogram sizes and per-tensor channel axes of the collected statistics
 * @param ranges how ranges and parameters are chosen from the statistics
 * @param dataOptions sampling and the bad-record policy
 */
public record CalibrateOptions(
    Path model,
    List<String> data,
    String out,
    boolean overwrite,
    int batchSize,
    Integer partitions,
    Map<String, long[]> sampleShapes,
    StatsConfig statsConfig,
    RangeOptions ranges,
    DataOptions dataOptions,
    Algorithms algorithms) {

  public CalibrateOptions {
    data = List.copyOf(data);
    sampleShapes = Map.copyOf(sampleShapes);
    dataOptions = dataOptions == null ? DataOptions.DEFAULT : dataOptions;
    algorithms = algorithms == null ? Algorithms.NONE : algorithms;
  }

  /** Range setting only. */
  public CalibrateOptions(Path model, List<String> data, String out, boolean overwrite, int batchSize,
      Integer partitions, Map<String, long[]> sampleShapes, StatsConfig statsConfig, RangeOptions ranges,
      DataOptions dataOptions) {
    this(model, data, out, overwrite, batchSize, partitions, sampleShapes, statsConfig, ranges, dataOptions,
        Algorithms.NONE);
  }

  /** What the run reads, by option: the model (and its external data), the data, --preprocess and --config. */
  public List<OutputGuard.Input> inputs() {
    List<OutputGuard.Input> in = new ArrayList<>(OutputGuard.Input.model("--model", model));
    in.addAll(OutputGuard.Input.data("--data", data));
    in.addAll(OutputGuard.Input.hadoop("--preprocess", dataOptions.preprocess()));
    in.addAll(OutputGuard.Input.hadoop("--config", ranges.configFile()));
    return in;
  }

  /** Every sample, failing on the first bad record. */
  public CalibrateOptions(Path model, List<String> data, String out, boolean overwrite, int batchSize,
      Integer partitions, Map<String, long[]> sampleShapes, StatsConfig statsConfig, RangeOptions ranges) {
    this(model, data, out, overwrite, batchSize, partitions, sampleShapes, statsConfig, ranges, DataOptions.DEFAULT);
  }
}
