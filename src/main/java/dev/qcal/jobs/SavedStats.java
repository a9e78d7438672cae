package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.io.StatsFiles;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.stats.StatsSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;

/**
 * The statistics {@code quantize} and {@code merge} read: each {@code --stats} read and checked against the model,
 * then, for merge, against the first one (the same prepared opset, statistics settings and tensors) and merged
 * into it in the order given. {@link StatsSet#merge} is exact, associative and commutative, so merging the
 * statistics of runs over parts of a data set gives those of one run over all of it, whatever the order and
 * grouping. Errors are bad input naming the {@code --stats} path, the field and both values.
 */
final class SavedStats {
  private SavedStats() {}

  /**
   * The statistics read, merged (quantize: the one read), and what each {@code --stats} held.
   *
   * @param loaded the merged statistics with their manifest (samples: the sum; input shapes: see {@link #shapes})
   */
  record Read(StatsFiles.Loaded loaded, List<RunRecord.StatsInput> inputs) {}

  /**
   * Reads {@code locations} for {@code command} ({@link QuantizeJob#COMMAND} or {@link QuantizeJob#MERGE}); merge
   * reads only finished outputs ({@link StatsFiles#readFinished}) and refuses a location given twice.
   */
  static Read read(String command, Path model, List<String> locations, Configuration conf) {
    boolean merge = command.equals(QuantizeJob.MERGE);
    String sha = OnnxModels.sha256(model);
    StatsFiles.Loaded first = null;
    String firstLocation = null;
    StatsSet merged = null;
    List<RunRecord.StatsInput> inputs = new ArrayList<>();
    Map<String, String> seen = new LinkedHashMap<>();
    List<Map<String, long[]>> shapes = new ArrayList<>();
    for (String location : locations) {
      StatsFiles.Loaded l = merge ? StatsFiles.readFinished(location, conf) : StatsFiles.read(location, conf);
      StatsFiles.Manifest m = l.manifest();
      if (!sha.equals(m.modelSha256())) {
        throw new DataException(location + ": statistics were collected for the model with SHA-256 "
            + m.modelSha256() + ", not for " + model + " (SHA-256 " + sha + ")");
      }
      if (m.modelTransform() != null) {
        throw new DataException(location + ": statistics were collected on the model as " + m.modelTransform()
            + " rewrote it (model_transform), which " + command + " cannot rebuild from them; run calibrate with the"
            + " same options instead");
      }
      String before = seen.putIfAbsent(l.dir(), location);
      if (before != null) {
        throw new DataException(location + ": the same statistics as --stats " + before + " (" + l.dir()
            + "), given twice; a merge counts each run once");
      }
      if (first == null) {
        first = l;
        firstLocation = location;
        merged = l.stats();
      } else {
        check(location, l, firstLocation, first, merged);
        try {
          merged.merge(l.stats());
        } catch (IllegalArgumentException e) { // a tensor's own state (its channel axis or count) differs
          throw new DataException(location + ": " + e.getMessage() + " (the statistics merged before it first)");
        }
      }
      shapes.add(m.inputShapes());
      inputs.add(new RunRecord.StatsInput(location, l.stats().samples()));
    }
    if (!merge) {
      return new Read(first, inputs);
    }
    StatsFiles.Manifest f = first.manifest();
    StatsFiles.Manifest manifest = new StatsFiles.Manifest(f.formatVersion(), f.modelSha256(), f.preparedOpset(),
        merged.samples(), shapes(shapes), null);
    return new Read(new StatsFiles.Loaded(manifest, merged, null), inputs);
  }

  /** Refuses statistics {@code l} that cannot merge with {@code first}'s: another opset, settings or tensors. */
  private static void check(String location, StatsFiles.Loaded l, String firstLocation, StatsFiles.Loaded first,
      StatsSet merged) {
    int opset = l.manifest().preparedOpset();
    int firstOpset = first.manifest().preparedOpset();
    if (opset != firstOpset) {
      throw new DataException(location + ": prepared_opset is " + opset + ", but " + firstOpset + " in "
          + firstLocation + ": statistics of the model prepared at another opset do not merge");
    }
    StatsSet.Conflict c = merged.conflict(l.stats());
    if (c != null) {
      throw new DataException(location + ": " + c.field() + " is " + c.theirs() + ", but " + c.mine() + " in "
          + firstLocation + ": statistics collected with other settings do not merge");
    }
    if (!l.manifest().inputShapes().keySet().equals(first.manifest().inputShapes().keySet())) {
      throw new DataException(location + ": input_shapes names the inputs " + l.manifest().inputShapes().keySet()
          + ", but " + first.manifest().inputShapes().keySet() + " in " + firstLocation);
    }
  }

  /**
   * The input shapes of merged statistics: those of each run when they agree. Each run records the shape of its
   * first sample, on which the prepared model is verified; with inputs of varying shape they may differ, and any of
   * them verifies the model, so the merge keeps the least (by input name, then dimension by dimension), which does not
   * depend on the order the statistics are given in or grouped.
   */
  static Map<String, long[]> shapes(List<Map<String, long[]>> all) {
    Iterator<Map<String, long[]>> it = all.iterator();
    Map<String, long[]> least = it.next();
    while (it.hasNext()) {
      Map<String, long[]> s = it.next();
      if (compare(s, least) < 0) {
        least = s;
      }
    }
    return least;
  }

  private static int compare(Map<String, long[]> a, Map<String, long[]> b) {
    for (String input : new TreeSet<>(a.keySet())) {
      int c = Arrays.compare(a.get(input), b.get(input));
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }
}
