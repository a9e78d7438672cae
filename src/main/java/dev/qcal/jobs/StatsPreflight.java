package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsMemory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;

/**
 * Checks made once the plan is known and before the data pass, from each calibrated tensor's shape for
 * one sample ({@link PaddedBatches#shapes}): {@code --channel-axis} names calibrated tensors and axes within their rank, and the
 * statistics state fits the heap of the JVMs that hold it (see {@link StatsMemory}).
 */
final class StatsPreflight {
  private static final Pattern LOCAL = Pattern.compile("local(?:\\[\\s*([0-9]+|\\*)\\s*(?:,\\s*[0-9]+\\s*)?])?");

  private StatsPreflight() {}

  /** Refuses {@code --channel-axis} overrides of tensors that are not calibrated; before any inference. */
  static void checkAxisNames(StatsConfig config, List<String> tensors) {
    for (String t : config.axes().keySet()) {
      if (!tensors.contains(t)) {
        throw new DataException("--channel-axis " + t + "=" + config.axes().get(t) + ": the model has no calibrated"
            + " tensor '" + t + "' (" + tensors.size() + " tensors are calibrated; see qcal inspect)");
      }
    }
  }

  /**
   * Per tensor, the channel count of its per-channel statistics (0: per tensor only); refuses a
   * {@code --channel-axis} beyond the tensor's rank.
   */
  static Map<String, Integer> channels(StatsConfig config, Map<String, long[]> shapes) {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long[] shape = e.getValue();
      Integer axis = config.channelAxis(e.getKey(), shape.length);
      if (axis != null && axis >= shape.length) {
        throw new DataException("--channel-axis " + e.getKey() + "=" + axis + ": tensor '" + e.getKey() + "' has rank "
            + shape.length + " (shape " + Arrays.toString(shape) + " for one sample), so AXIS must be in [-1, "
            + (shape.length - 1) + "]");
      }
      out.put(e.getKey(), axis == null ? 0 : (int) shape[axis]);
    }
    return out;
  }

  /** Refuses a statistics state that the driver's or an executor's heap cannot hold, with the figures. */
  static void checkMemory(SparkContext sc, StatsConfig config, Map<String, Integer> channels) {
    String why = StatsMemory.refusal(config, channels, holders(sc.master(), sc.getConf(), Runtime.getRuntime().maxMemory(),
        Runtime.getRuntime().availableProcessors()));
    if (why != null) {
      throw new DataException(why);
    }
  }

  /**
   * Who holds states at once: every running task its own and, in treeAggregate's merges, a second one
   * (two per task slot); the driver's final merge two more. A local master runs all of it in the driver.
   */
  static List<StatsMemory.Holder> holders(String master, SparkConf conf, long driverHeap, int cpus) {
    int taskCpus = Math.max(1, conf.getInt("spark.task.cpus", 1));
    List<StatsMemory.Holder> out = new ArrayList<>();
    Matcher m = LOCAL.matcher(master);
    if (m.matches()) {
      int threads = m.group(1) == null ? 1 : m.group(1).equals("*") ? cpus : Integer.parseInt(m.group(1));
      int slots = Math.max(1, threads / taskCpus);
      out.add(new StatsMemory.Holder("driver (" + master + ": " + slots + " task slots x 2, and 2 for the final merge)",
          driverHeap, 2 * slots + 2));
      return out;
    }
    int slots = Math.max(1, conf.getInt("spark.executor.cores", 1) / taskCpus);
    out.add(new StatsMemory.Holder("executor (spark.executor.memory; " + slots + " task slots x 2)",
        conf.getSizeAsBytes("spark.executor.memory", "1g"), 2 * slots));
    out.add(new StatsMemory.Holder("driver (the final merge)", driverHeap, 2));
    return out;
  }
}
