package dev.qcal.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.data.DataException;
import dev.qcal.stats.StatsCodec;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

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

  /** What {@code stats.json} says about the statistics next to it. */
  /**
   * @param modelTransform null, or what rewrote the prepared model before the statistics were collected on it
   *     ({@code smooth_quant}): such statistics describe a model only the run that made them can rebuild
   */
  public record Manifest(int formatVersion, String modelSha256, int preparedOpset, long samples,
      Map<String, long[]> inputShapes, String modelTransform) {}

  /**
   * Statistics read back from a {@code stats/} directory, with their manifest.
   *
   * @param dir the {@code stats/} directory they were read from, fully qualified ({@code file:/...},
   *     {@code hdfs://...}); null for statistics merged in memory from several
   */
  public record Loaded(Manifest manifest, StatsSet stats, String dir) {}

  /**
   * Writes {@code stats.bin} and {@code stats.json}. {@code inputShapes} are the batch shapes the
   * prepared model was verified on, so a later command can prepare the model the same way.
   */
  public static void write(Path dir, StatsSet stats, String modelSha256, int preparedOpset,
      Map<String, long[]> inputShapes) {
    write(dir, stats, modelSha256, preparedOpset, inputShapes, null);
  }

  /** As above, for statistics collected on the prepared model as {@code modelTransform} rewrote it (null: none). */
  public static void write(Path dir, StatsSet stats, String modelSha256, int preparedOpset,
      Map<String, long[]> inputShapes, String modelTransform) {
    try {
      Files.createDirectories(dir);
      try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(dir.resolve(BIN)), 1 << 16)) {
        StatsCodec.write(stats, out);
      }
    } catch (IOException e) {
      throw new OutputException(DIR + "/" + BIN + ": cannot write: " + e.getMessage(), e);
    }
    ObjectNode m = QParamsFile.JSON.createObjectNode();
    m.put("format", FORMAT);
    m.put("format_version", StatsCodec.VERSION);
    m.put("data_file", BIN);
    m.put("model_sha256", modelSha256);
    m.put("prepared_opset", preparedOpset);
    if (modelTransform != null) {
      m.put("model_transform", modelTransform);
    }
    m.put("samples", stats.samples());
    m.put("histogram_bins", stats.config().histogramBins());
    m.put("channel_histogram_bins", stats.config().channelHistogramBins());
    ObjectNode shapes = m.putObject("input_shapes");
    inputShapes.forEach((name, shape) -> {
      var a = shapes.putArray(name);
      for (long d : shape) {
        a.add(d);
      }
    });
    var tensors = m.putArray("tensors");
    for (TensorStats t : stats.tensors().values()) {
      tensors.add(t.tensor());
    }
    QParamsFile.writeJson(dir.resolve(MANIFEST), m);
  }

  /**
   * Reads a {@code stats/} directory (or the output directory holding one) on any Hadoop file
   * system. Errors name the file and what was expected.
   */
  public static Loaded read(String location, Configuration conf) {
    return read(location, conf, false);
  }

  /**
   * As {@link #read}, for statistics a finished qcal run wrote: the output directory holding {@code stats/}
   * ({@code location}, or the parent of the {@code stats/} directory it names) must hold {@code _SUCCESS}, which
   * {@link AtomicOutput} writes last, so statistics of a run that failed or is still being published are refused.
   */
  public static Loaded readFinished(String location, Configuration conf) {
    return read(location, conf, true);
  }

  private static Loaded read(String location, Configuration conf, boolean finished) {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(location);
    try {
      FileSystem fs = dir.getFileSystem(conf);
      if (!fs.exists(new org.apache.hadoop.fs.Path(dir, MANIFEST)) && fs.exists(new org.apache.hadoop.fs.Path(dir, DIR))) {
        dir = new org.apache.hadoop.fs.Path(dir, DIR);
      }
      org.apache.hadoop.fs.Path manifestFile = new org.apache.hadoop.fs.Path(dir, MANIFEST);
      if (!fs.exists(manifestFile)) {
        throw new DataException(location + ": no statistics here (expected " + DIR + "/" + MANIFEST
            + " as written by qcal calibrate)");
      }
      org.apache.hadoop.fs.Path run = fs.makeQualified(dir).getParent();
      if (finished && (run == null || !fs.exists(new org.apache.hadoop.fs.Path(run, AtomicOutput.SUCCESS)))) {
        throw new DataException(location + ": no " + AtomicOutput.SUCCESS + " in " + run + ", so the run that wrote"
            + " these statistics did not finish (or is still publishing); only a finished calibrate or merge output"
            + " is read");
      }
      JsonNode m;
      try (InputStream in = fs.open(manifestFile)) {
        m = QParamsFile.JSON.readTree(in);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new DataException(manifestFile + ": not valid JSON: " + e.getOriginalMessage());
      }
      Manifest manifest = manifest(m, manifestFile);
      org.apache.hadoop.fs.Path bin = new org.apache.hadoop.fs.Path(dir, m.path("data_file").asText(BIN));
      StatsSet stats;
      try (InputStream in = new java.io.BufferedInputStream(fs.open(bin), 1 << 16)) {
        stats = StatsCodec.read(in);
      } catch (java.io.FileNotFoundException e) {
        throw new DataException(bin + ": missing (named by " + manifestFile + ")");
      } catch (IOException e) {
        throw new DataException(bin + ": " + e.getMessage(), e);
      }
      if (stats.samples() != manifest.samples()) {
        throw new DataException(bin + ": holds " + stats.samples() + " samples but " + manifestFile
            + " says " + manifest.samples());
      }
      return new Loaded(manifest, stats, fs.makeQualified(dir).toString());
    } catch (IOException e) {
      throw new DataException(location + ": cannot read statistics: " + e.getMessage(), e);
    }
  }

  /** The manifest {@code m} read from {@code manifestFile}, its format and version checked. */
  private static Manifest manifest(JsonNode m, org.apache.hadoop.fs.Path manifestFile) {
    if (!FORMAT.equals(m.path("format").asText())) {
      throw new DataException(manifestFile + ": expected format '" + FORMAT + "', found '"
          + m.path("format").asText() + "'");
    }
    int version = m.path("format_version").asInt(-1);
    if (version != StatsCodec.VERSION) {
      throw new DataException(manifestFile + ": statistics format version " + version
          + " cannot be read by this qcal (it reads version " + StatsCodec.VERSION + ")");
    }
    Map<String, long[]> shapes = new LinkedHashMap<>();
    m.path("input_shapes").fields().forEachRemaining(e -> {
      long[] shape = new long[e.getValue().size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = e.getValue().get(i).asLong();
      }
      shapes.put(e.getKey(), shape);
    });
    return new Manifest(version, m.path("model_sha256").asText(), m.path("prepared_opset").asInt(),
        m.path("samples").asLong(), shapes,
        m.path("model_transform").isTextual() ? m.get("model_transform").asText() : null);
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
