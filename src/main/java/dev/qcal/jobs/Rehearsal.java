package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.io.InterchangeFiles;
import dev.qcal.io.QParamsFile;
import dev.qcal.model.CalibrationPlan;
import dev.qcal.model.ExternalData;
import dev.qcal.model.ModelException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fails before the expensive part: runs, on the prepared model and before any data is read, what
 * calibrate does after its data pass that depends on the model and the options alone: the Q/DQ rewrite
 * with a placeholder range for every calibrated activation, the weights' qparams entries, and the
 * writers of {@code qparams.json} and the interchange files (into a scratch folder, then deleted). A
 * model the rewrite rejects is then bad input reported in seconds, not after hours of data. {@code inspect}
 * runs the same rehearsal, so it reports what calibrate would fail on.
 */
public final class Rehearsal {
  private static final Logger LOG = LoggerFactory.getLogger(Rehearsal.class);

  private Rehearsal() {}

  /**
   * Rehearses with {@code options} and no per-tensor config.
   *
   * @param modelDir the prepared model's folder (its external data files are there); scratch files go
   *     there too and are deleted
   * @throws ModelException naming {@code modelName} when the rewrite or a writer would fail
   */
  public static void run(ModelProto prepared, Path modelDir, CalibrationPlan plan, RangeOptions options,
      String modelName) {
    run(prepared, modelDir, plan, options, Map.of(), modelName);
  }

  static void run(ModelProto prepared, Path modelDir, CalibrationPlan plan, RangeOptions options,
      Map<String, TensorOverrides.Override> overrides, String modelName) {
    long t = System.nanoTime();
    Set<String> before = ExternalData.locations(prepared);
    Path scratch = modelDir.resolve("qcal-rehearsal");
    QuantizeStep.Result r = null;
    try {
      r = QuantizeStep.rehearse(prepared, modelDir, plan, options, overrides);
      Files.createDirectories(scratch);
      QParamsFile.Header header = new QParamsFile.Header(modelName, "", 0, 0, options.method(), 0, Map.of());
      QParamsFile.write(scratch.resolve(QParamsFile.NAME), header, r.entries());
      InterchangeFiles.writeTensorRtCache(scratch.resolve(InterchangeFiles.TENSORRT_CACHE),
          options.tensorRtVersion(), r.ranges());
      InterchangeFiles.writeOrtTable(scratch.resolve(InterchangeFiles.ORT_TABLE), r.ranges());
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new ModelException(modelName + ": cannot be quantized as planned (found before reading any data): "
          + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      delete(scratch);
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
  }

  private static void delete(Path p) {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> all = Files.walk(p)) {
      for (Path f : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    } catch (IOException e) {
      LOG.warn("cannot delete the rehearsal's {}: {}", p, e.toString());
    }
  }
}
