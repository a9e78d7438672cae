package dev.qcal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.qcal.data.DataException;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.HadoopFiles;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.RunReport;
import dev.qcal.io.StatsFiles;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The two sides {@code qcal drift} compares, read and checked before anything is computed: each a run's statistics
 * ({@code stats/} or the output directory holding it) and, where that run's output directory has one, its
 * {@code qparams.json} and {@code run.json}. A run's output directory must be complete ({@code _SUCCESS}); both
 * sides must belong to the same model and calibrate the same tensors. Every refusal is a {@link DataException}
 * naming the file or tensor.
 */
final class DriftInputs {

  private DriftInputs() {}

  /**
   * One side as found at {@code location}.
   *
   * @param runDir the output directory the location is or lies in, null for statistics on their own
   * @param stats the statistics, or null (a baseline of qparams.json only)
   * @param qparams the run's qparams.json, or null
   * @param run the run's run.json, or null
   */
  record Side(String location, String runDir, StatsFiles.Loaded stats, QParamsFile.Contents qparams,
      JsonNode qparamsJson, JsonNode run) {
    String sha256() {
      return stats != null ? stats.manifest().modelSha256() : qparams.header().modelSha256();
    }

    /** The file that names the side's model: stats.json, else qparams.json. */
    String shaSource() {
      return stats != null ? location + " (" + StatsFiles.DIR + "/" + StatsFiles.MANIFEST + ")"
          : runDir + "/" + QParamsFile.NAME;
    }

    /** The tensors qparams.json calibrated (not those sharing another's parameters or fixed by the op). */
    List<String> deployed() {
      List<String> names = new ArrayList<>();
      for (QParamsFile.Stored s : qparams.activations()) {
        if (s.entry().paramsFrom() == null && !"op_defined".equals(s.entry().method())) {
          names.add(s.name());
        }
      }
      return names;
    }
  }

  /** Reads {@code --baseline} (statistics, qparams.json or both) and {@code --current} (statistics) and checks them. */
  static Side[] read(String baseline, String current, Configuration conf) {
    Side b = side("--baseline", baseline, false, conf);
    Side c = side("--current", current, true, conf);
    check(b, c);
    return new Side[] {b, c};
  }

  private static Side side(String option, String location, boolean needStats, Configuration conf) {
    try {
      Path dir = new Path(location);
      FileSystem fs = dir.getFileSystem(conf);
      if (!fs.exists(dir)) {
        throw new DataException(option + " " + location + ": not found");
      }
      boolean manifest = fs.exists(new Path(dir, StatsFiles.MANIFEST));
      boolean statsDir = fs.exists(new Path(new Path(dir, StatsFiles.DIR), StatsFiles.MANIFEST));
      Path runDir = statsDir || fs.exists(new Path(dir, QParamsFile.NAME)) ? dir
          : manifest && dir.getParent() != null && (fs.exists(new Path(dir.getParent(), QParamsFile.NAME))
              || fs.exists(new Path(dir.getParent(), RunReport.NAME))) ? dir.getParent() : null;
      if (runDir != null && !fs.exists(new Path(runDir, AtomicOutput.SUCCESS))) {
        throw new DataException(option + " " + runDir + ": no " + AtomicOutput.SUCCESS
            + " here, so not a complete qcal output (still being written, or left by a run that failed)");
      }
      StatsFiles.Loaded stats = manifest || statsDir || needStats ? StatsFiles.read(location, conf) : null;
      Path q = runDir == null ? null : new Path(runDir, QParamsFile.NAME);
      JsonNode qjson = q != null && fs.exists(q) ? HadoopFiles.readJson(q, QParamsFile.FORMAT, "", conf) : null;
      if (stats == null && qjson == null) {
        throw new DataException(option + " " + location + ": neither statistics (" + StatsFiles.DIR + "/"
            + StatsFiles.MANIFEST + ") nor a " + QParamsFile.NAME + " here");
      }
      Path r = runDir == null ? null : new Path(runDir, RunReport.NAME);
      JsonNode run = r != null && fs.exists(r) ? HadoopFiles.readJson(r, RunReport.FORMAT, "", conf) : null;
      return new Side(location, runDir == null ? null : runDir.toString(), stats,
          qjson == null ? null : QParamsFile.read(qjson), qjson, run);
    } catch (IOException e) {
      throw new DataException(option + " " + location + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Same model, no rewritten model, histograms to compare, the same tensors. */
  private static void check(Side b, Side c) {
    String sha = c.sha256();
    if (!sha.equals(b.sha256())) {
      throw new DataException("--baseline " + b.shaSource() + " belongs to the model with SHA-256 " + b.sha256()
          + ", but --current " + c.shaSource() + " to the model with SHA-256 " + sha);
    }
    if (b.stats() != null && b.qparams() != null && !sha.equals(b.qparams().header().modelSha256())) {
      throw new DataException("--baseline " + b.runDir() + "/" + QParamsFile.NAME + " quantized the model with SHA-256 "
          + b.qparams().header().modelSha256() + ", not the model of its statistics and of --current (" + sha + ")");
    }
    for (Side s : new Side[] {b, c}) {
      String transform = s.stats() != null ? s.stats().manifest().modelTransform()
          : s.qparamsJson().path("algorithms").has("smooth_quant") ? "smooth_quant" : null;
      if (transform != null) {
        throw new DataException((s == b ? "--baseline " : "--current ") + s.location() + ": collected on the model as "
            + transform + " rewrote it (from its own data), so its tensors are not those of another run; drift"
            + " compares runs of the unmodified model");
      }
    }
    if (c.stats().stats().config().histogramBins() == 0) {
      throw new DataException("--current " + c.location() + ": the statistics hold no histograms (collected with"
          + " --histogram-bins 0); drift needs the current histograms");
    }
    Set<String> current = c.stats().stats().tensors().keySet();
    if (b.stats() != null) {
      sameTensors(b.location(), b.stats().stats().tensors().keySet(), c.location(), current);
    }
    if (b.qparams() != null) {
      for (String t : b.deployed()) {
        if (!current.contains(t)) {
          throw new DataException("tensor sets differ: '" + t + "' is quantized by --baseline " + b.runDir() + "/"
              + QParamsFile.NAME + " but has no statistics in --current " + c.location());
        }
      }
    }
  }

  private static void sameTensors(String bLocation, Set<String> b, String cLocation, Set<String> c) {
    Set<String> onlyB = new LinkedHashSet<>(b);
    onlyB.removeAll(c);
    Set<String> onlyC = new LinkedHashSet<>(c);
    onlyC.removeAll(b);
    if (!onlyB.isEmpty()) {
      throw new DataException("tensor sets differ: " + onlyB.size() + " tensor(s) of --baseline " + bLocation
          + " are not in --current " + cLocation + ", first '" + onlyB.iterator().next() + "'");
    }
    if (!onlyC.isEmpty()) {
      throw new DataException("tensor sets differ: " + onlyC.size() + " tensor(s) of --current " + cLocation
          + " are not in --baseline " + bLocation + ", first '" + onlyC.iterator().next() + "'");
    }
  }
}
