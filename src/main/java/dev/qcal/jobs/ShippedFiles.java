package dev.qcal.jobs;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.OnnxModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaSparkContext;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Ships content-named files with the job ({@link JavaSparkContext#addFile}) once per SparkContext.
 * The driver keeps its copy for the context's lifetime (in Spark's own files directory, removed
 * when the context stops), because executors started later, e.g. to replace a lost one, fetch it
 * then; and a second run with the same content in the same context reuses the registration
 * instead of registering one name twice, which a cluster's file server refuses. The kept copy is a
 * hard link where possible, placed where Spark fetches added files to ({@code SparkFiles.get(name)}),
 * so Spark finds it there and copies nothing: a model's gigabytes of external data are not
 * duplicated on the driver (nor on local-mode executors, which share that directory).
 *
 * <p>The one way qcal's jobs ship models: {@link #shipModel} for a model in memory (prepared, augmented,
 * quantized), {@link #shipFile} for a model file run as it is.
 */
final class ShippedFiles {
  private ShippedFiles() {}

  /** A shipped model: its file name on the executors ({@code SparkFiles.get}) and the SHA-256 of that file. */
  record Shipped(String fileName, String sha256) implements java.io.Serializable {}

  /**
   * Ships {@code model} as {@code PREFIX-<sha>.onnx}. A model with external data (locations relative to
   * {@code modelDir}) ships each data file as {@code PREFIX-data-<sha of its bytes>.bin}, and the shipped
   * model names those files, so executors find them next to it in their files directory and its SHA-256
   * identifies the weights too. Files are staged in {@code work}.
   */
  static Shipped shipModel(JavaSparkContext jsc, ModelProto model, Path modelDir, Path work, String prefix) {
    ModelProto shipped = model;
    if (ExternalData.uses(model)) {
      Map<String, String> names = new LinkedHashMap<>();
      for (String location : ExternalData.locations(model)) {
        Path data = modelDir.resolve(location);
        Path named = work.resolve(prefix + "-data-" + OnnxModels.sha256(data).substring(0, 20) + ".bin");
        if (!Files.exists(named)) {
          linkOrCopy(data, named);
        }
        ship(jsc, named);
        names.put(location, named.getFileName().toString());
      }
      shipped = ExternalData.relocate(model, names::get);
    }
    Path staged = work.resolve(prefix + "-staged.onnx");
    OnnxModels.save(shipped, staged);
    String sha = OnnxModels.sha256(staged);
    Path named = work.resolve(prefix + "-" + sha.substring(0, 20) + ".onnx");
    try {
      Files.move(staged, named, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ship(jsc, named);
    return new Shipped(named.getFileName().toString(), sha);
  }

  /**
   * Ships the model file {@code model} (SHA-256 {@code sha}) as it is, as {@code qcal-eval-<sha>.onnx}:
   * copied, or saved from {@code proto} when that was {@code lowered} from it; a model with external data
   * as {@link #shipModel} does. The same model given twice is shipped once.
   */
  static Shipped shipFile(JavaSparkContext jsc, Path work, Path model, ModelProto proto, String sha,
      boolean lowered) {
    String prefix = "qcal-eval-" + sha.substring(0, 20);
    if (ExternalData.uses(proto)) {
      return shipModel(jsc, proto, ExternalData.directory(model), work, prefix);
    }
    Path named = work.resolve(prefix + ".onnx");
    try {
      if (!Files.exists(named)) {
        if (lowered) {
          OnnxModels.save(proto, named);
        } else {
          Files.copy(model, named);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ship(jsc, named);
    return new Shipped(named.getFileName().toString(), sha);
  }

  /** Ships {@code file}; its name must identify its content. */
  static void ship(JavaSparkContext jsc, Path file) {
    String name = file.getFileName().toString();
    boolean registered = CollectionConverters.asJava(jsc.sc().listFiles()).stream()
        .anyMatch(uri -> uri.endsWith("/" + name));
    if (registered) {
      return;
    }
    try {
      Path kept = Files.createDirectories(Path.of(SparkFiles.getRootDirectory())).resolve(name);
      Files.deleteIfExists(kept);
      linkOrCopy(file, kept);
      jsc.addFile(kept.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stage " + file + " for the executors: " + e.getMessage(), e);
    }
  }

  /** A hard link where the file system allows (large data files are not copied), else a copy. */
  private static void linkOrCopy(Path from, Path to) {
    try {
      try {
        Files.createLink(to, from.toRealPath());
      } catch (IOException | UnsupportedOperationException e) {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stage " + from + " as " + to + ": " + e.getMessage(), e);
    }
  }
}
