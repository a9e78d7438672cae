package dev.qcal.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaSparkContext;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Ships content-named files with the job ({@link JavaSparkContext#addFile}) once per SparkContext.
 * The driver keeps its copy for the context's lifetime (under Spark's own files directory, removed
 * when the context stops), because executors started later, e.g. to replace a lost one, fetch it
 * then; and a second run with the same content in the same context reuses the registration
 * instead of registering one name twice, which a cluster's file server refuses.
 */
final class ShippedFiles {
  private ShippedFiles() {}

  /** Ships {@code file}; its name must identify its content. */
  static void ship(JavaSparkContext jsc, Path file) {
    String name = file.getFileName().toString();
    boolean registered = CollectionConverters.asJava(jsc.sc().listFiles()).stream()
        .anyMatch(uri -> uri.endsWith("/" + name));
    if (registered) {
      return;
    }
    try {
      Path kept = Files.createDirectories(Path.of(SparkFiles.getRootDirectory(), "qcal-shipped")).resolve(name);
      Files.copy(file, kept, StandardCopyOption.REPLACE_EXISTING);
      jsc.addFile(kept.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stage " + file + " for the executors: " + e.getMessage(), e);
    }
  }
}
