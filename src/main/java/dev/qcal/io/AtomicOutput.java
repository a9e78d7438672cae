package dev.qcal.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.UUID;

/**
 * An output directory committed all at once: files are written into a hidden temporary sibling,
 * {@code _SUCCESS} is written last, and the sibling is renamed into place. Until {@link #commit}
 * the target is untouched; a run that fails (or is closed without committing) removes its
 * temporary sibling, so an earlier good output survives and no partial output is ever visible.
 */
public final class AtomicOutput implements AutoCloseable {
  public static final String SUCCESS = "_SUCCESS";

  private final Path target;
  private final Path temp;
  private final boolean overwrite;
  private boolean committed;

  private AtomicOutput(Path target, Path temp, boolean overwrite) {
    this.target = target;
    this.temp = temp;
    this.overwrite = overwrite;
  }

  /** Fails early, before any work, when {@code target} exists and may not be replaced. */
  public static void checkTarget(Path target, boolean overwrite) {
    if (Files.exists(target) && !overwrite) {
      throw new OutputException(target + ": output already exists (use --overwrite to replace it)");
    }
    if (Files.exists(target) && !Files.isDirectory(target)) {
      throw new OutputException(target + ": output exists and is not a directory");
    }
    Path parent = target.toAbsolutePath().getParent();
    if (parent != null && Files.exists(parent) && !Files.isDirectory(parent)) {
      throw new OutputException(target + ": parent " + parent + " is not a directory");
    }
  }

  /** Starts writing an output for {@code target}; write into {@link #dir()}. */
  public static AtomicOutput begin(Path target, boolean overwrite) {
    checkTarget(target, overwrite);
    Path abs = target.toAbsolutePath().normalize();
    try {
      Files.createDirectories(abs.getParent());
      Path temp = abs.resolveSibling("." + abs.getFileName() + ".qcal-tmp-" + UUID.randomUUID());
      Files.createDirectory(temp);
      return new AtomicOutput(abs, temp, overwrite);
    } catch (IOException e) {
      throw new OutputException(target + ": cannot create output: " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return temp;
  }

  /** Writes {@code _SUCCESS} and moves the output into place, replacing an earlier one if allowed. */
  public void commit() {
    try {
      Files.writeString(temp.resolve(SUCCESS), "");
      Path old = null;
      if (Files.exists(target)) {
        if (!overwrite) {
          throw new OutputException(target + ": output appeared while this run was writing");
        }
        old = target.resolveSibling("." + target.getFileName() + ".qcal-old-" + UUID.randomUUID());
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      committed = true;
      if (old != null) {
        deleteTree(old);
      }
    } catch (IOException e) {
      throw new OutputException(target + ": cannot commit output: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (!committed) {
      deleteTree(temp);
    }
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.delete(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
          Files.delete(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
