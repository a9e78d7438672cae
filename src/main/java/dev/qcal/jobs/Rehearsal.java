package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.data.DataException;
import dev.qcal.io.InterchangeFiles;
import dev.qcal.io.QParamsFile;
import dev.qcal.io.StatsFiles;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsSet;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fails before the expensive part: runs, on the prepared model and before any data is read, what
 * calibrate does after its data pass, on placeholder statistics (the values 0 and 1 for every calibrated
 * activation, histograms as configured): choosing ranges with the method and per-tensor config, the
 * Q/DQ rewrite, the weights' qparams entries, and the writers of {@code qparams.json}, the interchange
 * files and {@code stats/} (into a scratch folder, then deleted). Only what depends on the data itself
 * (a tensor with no finite value) is left to the pass. A model the rewrite rejects is then bad input
 * reported in seconds, not after hours of data. {@code inspect} runs the same rehearsal, so it reports
 * what calibrate would fail on.
 */
public final class Rehearsal {
  private static final Logger LOG = LoggerFactory.getLogger(Rehearsal.class);

  private Rehearsal() {}

  /**
   * Rehearses with {@code options} (their per-tensor config read from {@code conf}'s file systems) and default
   * statistics settings; returns the rehearsed Q/DQ model (its placeholder ranges mean nothing; its node
   * types, axes and block sizes are those a run with these options writes).
   *
   * @param modelDir the prepared model's folder (its external data files are there); scratch files go
   *     there too and are deleted
   * @throws ModelException naming {@code modelName} when the rewrite or a writer would fail
   */
  public static ModelProto run(ModelProto prepared, Path modelDir, CalibrationPlan plan, RangeOptions options,
      Configuration conf, String modelName) {
    Map<String, TensorOverrides.Override> overrides =
        TensorOverrides.read(options.configFile(), conf, List.copyOf(plan.activations()));
    return run(prepared, modelDir, plan, options, StatsConfig.defaults(), overrides, modelName);
  }

  /** Rehearses with the run's statistics settings ({@code config}'s histogram bins) and per-tensor config. */
  static ModelProto run(ModelProto prepared, Path modelDir, CalibrationPlan plan, RangeOptions options,
      StatsConfig config, Map<String, TensorOverrides.Override> overrides, String modelName) {
    long t = System.nanoTime();
    Set<String> before = ExternalData.locations(prepared);
    QuantizeStep.Result r = null;
    try (WorkDir work = WorkDir.create("qcal-rehearsal-")) {
      Path scratch = work.path();
      StatsSet stats = placeholder(plan, config);
      r = QuantizeStep.run(prepared, modelDir, plan, stats, options, overrides);
      QParamsFile.Header header = new QParamsFile.Header(modelName, "", 0, 0, options.method(), 0, Map.of());
      QParamsFile.write(scratch.resolve(QParamsFile.NAME), header, r.entries());
      InterchangeFiles.writeTensorRtCache(scratch.resolve(InterchangeFiles.TENSORRT_CACHE),
          options.tensorRtVersion(), r.ranges());
      InterchangeFiles.writeOrtTable(scratch.resolve(InterchangeFiles.ORT_TABLE), r.ranges());
      StatsFiles.write(scratch.resolve(StatsFiles.DIR), stats, "", 0, Map.of());
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new ModelException(modelName + ": cannot be quantized as planned (found before reading any data): "
          + e.getMessage(), e);
    } catch (DataException e) {
      // e.g. a range method that needs the histograms --histogram-bins 0 does not collect
      throw new DataException(e.getMessage() + " (found before reading any data)", e);
    } finally {
      if (r != null) {
        // the rewrite of weights in external data writes a new data file next to the model
        for (String location : ExternalData.locations(r.rewrite().model())) {
          if (!before.contains(location)) {
            delete(modelDir.resolve(location));
          }
        }
      }
    }
    LOG.info("{}: Q/DQ rewrite rehearsed with placeholder ranges in {} s ({} activations, {} weights)", modelName,
        (System.nanoTime() - t) / 1e9, plan.activations().size(), r.rewrite().weightParams().size());
    return r.rewrite().model();
  }

  /** Statistics of one batch holding the values 0 and 1 for each calibrated activation. */
  static StatsSet placeholder(CalibrationPlan plan, StatsConfig config) {
    StatsSet s = StatsSet.empty(List.copyOf(plan.activations()),
        new StatsConfig(config.histogramBins(), 0, Map.of()));
    for (String t : plan.activations()) {
      s.add(t, FloatBuffer.wrap(new float[] {0f, 1f}), new long[] {2});
    }
    return s.countBatch(1);
  }

  private static void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("cannot delete the rehearsal's {}: {}", file, e.toString());
    }
  }
}
