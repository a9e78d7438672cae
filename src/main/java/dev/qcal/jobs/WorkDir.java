package dev.qcal.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A local scratch directory for one command (prepared models), deleted with everything in it on close. */
public final class WorkDir implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkDir.class);
  private final Path path;

  private WorkDir(Path path) {
    this.path = path;
  }

  public static WorkDir create(String prefix) {
    try {
      return new WorkDir(Files.createTempDirectory(prefix));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a scratch directory: " + e.getMessage(), e);
    }
  }

  public Path path() {
    return path;
  }

  @Override
  public void close() {
    try (var s = Files.walk(path)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      LOG.debug("cannot delete {}", path, e);
    }
  }
}
