package dev.qcal.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.stats.StatsCodec;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The merged statistics of a run, kept under {@code --out/stats/} so that ranges can be chosen
 * again without running the model: {@code stats.bin} (format in {@link StatsCodec}) and
 * {@code stats.json}, a small manifest naming the model the statistics belong to.
 */
public final class StatsFiles {
  public static final String DIR = "stats";
  public static final String BIN = "stats.bin";
  public static final String MANIFEST = "stats.json";
  public static final String FORMAT = "qcal.stats";

  private StatsFiles() {}

  public static void write(Path dir, StatsSet stats, String modelSha256, int preparedOpset) {
    try {
      Files.createDirectories(dir);
      try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(dir.resolve(BIN)), 1 << 16)) {
        StatsCodec.write(stats, out);
      }
    } catch (IOException e) {
      throw new OutputException(dir.resolve(BIN) + ": cannot write: " + e.getMessage(), e);
    }
    ObjectNode m = QParamsFile.JSON.createObjectNode();
    m.put("format", FORMAT);
    m.put("format_version", StatsCodec.VERSION);
    m.put("data_file", BIN);
    m.put("model_sha256", modelSha256);
    m.put("prepared_opset", preparedOpset);
    m.put("samples", stats.samples());
    m.put("histogram_bins", stats.config().histogramBins());
    m.put("channel_histogram_bins", stats.config().channelHistogramBins());
    var tensors = m.putArray("tensors");
    for (TensorStats t : stats.tensors().values()) {
      tensors.add(t.tensor());
    }
    QParamsFile.writeJson(dir.resolve(MANIFEST), m);
  }

  /** Size of the state as it travels between executors and driver (Java serialization). */
  public static long stateBytes(StatsSet stats) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(stats);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.size();
  }
}
