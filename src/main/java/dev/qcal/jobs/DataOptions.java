package dev.qcal.jobs;

import dev.qcal.data.BadRecords;
import java.util.List;

/**
 * How the calibration data is read and which of it is used.
 *
 * @param maxSamples null, or keep at most this many samples (the smallest hashes of (seed, identity))
 * @param fraction keep samples whose hash falls in this fraction, in (0, 1]
 * @param seed seed of the sample hash
 * @param onBadRecord stop at a bad record, or skip and count it
 * @param format {@code npy}, {@code parquet}, {@code orc}, {@code json}, {@code csv}, {@code delta} or {@code images}; null infers it from {@code --data}
 * @param table null, or a catalog table ({@code catalog.db.table}) read instead of {@code --data}
 * @param query null, or a Spark SQL query read instead of {@code --data}
 * @param preprocess null, or the image preprocessing config file (JSON) for an image folder
 * @param columns per model input, the table column holding it ({@code --input NAME=COLUMN}); default: the input's name
 * @param pads per padded model input, its pad value as given ({@code --pad NAME=VALUE}); empty: no padding
 * @param padStatsInclude whether statistics count padded positions ({@code --pad-stats include}); default not
 * @param mask null, or the mask input of rows already padded ({@code --mask NAME})
 */
public record DataOptions(Long maxSamples, double fraction, long seed, BadRecords.Policy onBadRecord,
    String format, String table, String query, String preprocess, java.util.Map<String, String> columns,
    java.util.Map<String, String> pads, boolean padStatsInclude, String mask) {

  public DataOptions {
    columns = columns == null ? java.util.Map.of() : java.util.Map.copyOf(columns);
    pads = pads == null ? java.util.Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(pads));
  }

  /** Options without a mask. */
  public DataOptions(Long maxSamples, double fraction, long seed, BadRecords.Policy onBadRecord,
      String format, String table, String query, String preprocess, java.util.Map<String, String> columns,
      java.util.Map<String, String> pads, boolean padStatsInclude) {
    this(maxSamples, fraction, seed, onBadRecord, format, table, query, preprocess, columns, pads, padStatsInclude, null);
  }

  /** Options without padding. */
  public DataOptions(Long maxSamples, double fraction, long seed, BadRecords.Policy onBadRecord,
      String format, String table, String query, String preprocess, java.util.Map<String, String> columns) {
    this(maxSamples, fraction, seed, onBadRecord, format, table, query, preprocess, columns, null, false);
  }
  public static final DataOptions DEFAULT = new DataOptions(null, 1.0, 0, BadRecords.Policy.FAIL);

  public DataOptions(Long maxSamples, double fraction, long seed, BadRecords.Policy onBadRecord) {
    this(maxSamples, fraction, seed, onBadRecord, null, null, null, null, null);
  }

  /** These options with {@code --pad} values {@code pads}. */
  public DataOptions withPads(java.util.Map<String, String> pads) {
    return new DataOptions(maxSamples, fraction, seed, onBadRecord, format, table, query, preprocess, columns, pads,
        padStatsInclude, mask);
  }

  /** The column holding model input {@code input}. */
  public String column(String input) {
    return columns.getOrDefault(input, input);
  }

  public boolean samples() {
    return maxSamples != null || fraction < 1.0;
  }

  /** What was read, for reports and messages: the {@code --data} arguments, or the table or query. */
  public List<String> describe(List<String> data) {
    if (table != null) {
      return List.of("table:" + table);
    }
    if (query != null) {
      return List.of("query:" + query);
    }
    return data;
  }
}
