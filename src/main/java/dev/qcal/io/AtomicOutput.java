package dev.qcal.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.PathFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An output directory on any Hadoop file system ({@code file:}, {@code hdfs:}, ...) published all
 * at once. Files are written into a local staging directory ({@link #dir()}); {@link #commit}
 * copies them into a hidden temporary sibling of the target, writes {@code _SUCCESS} there last,
 * and renames the sibling into place (moving an earlier output aside first when {@code --overwrite}
 * allows it, and deleting it after).
 *
 * <p>What a reader can see: the target is either the previous complete output or the new complete
 * one, each with {@code _SUCCESS}. A run that fails or is killed before the final rename leaves the
 * target untouched; its hidden sibling ({@code .NAME.qcal-tmp-*}) never holds {@code _SUCCESS}
 * while files are still arriving. On HDFS and local disks a directory rename is atomic; the only
 * window is between moving the previous output aside and renaming the new one in (two renames): a
 * run killed exactly there leaves the previous output complete in {@code .NAME.qcal-old-*}, and the
 * next {@link #begin} or {@link #checkTarget} on that target renames it back (and drops the killed
 * run's unpublished sibling). Two runs writing the same target at once are not supported.
 */
public final class AtomicOutput implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AtomicOutput.class);
  public static final String SUCCESS = "_SUCCESS";
  static final String TMP = ".qcal-tmp-";
  static final String OLD = ".qcal-old-";

  private final FileSystem fs;
  private final org.apache.hadoop.fs.Path target;
  private final boolean overwrite;
  private final Path staging;
  private Consumer<String> steps = s -> {};
  private org.apache.hadoop.fs.Path temp;
  private boolean committed;

  private AtomicOutput(FileSystem fs, org.apache.hadoop.fs.Path target, boolean overwrite, Path staging) {
    this.fs = fs;
    this.target = target;
    this.overwrite = overwrite;
    this.staging = staging;
  }

  /** Fails early, before any work, when {@code target} exists and may not be replaced. */
  public static void checkTarget(String target, boolean overwrite, Configuration conf) {
    Resolved r = resolve(target, conf);
    try {
      recover(r.fs, r.path);
      FileStatus st = status(r.fs, r.path);
      if (st != null && !overwrite) {
        throw new OutputException(target + ": output already exists (use --overwrite to replace it)");
      }
      if (st != null && !st.isDirectory()) {
        throw new OutputException(target + ": output exists and is not a directory");
      }
      org.apache.hadoop.fs.Path parent = r.path.getParent();
      FileStatus ps = parent == null ? null : status(r.fs, parent);
      if (ps != null && !ps.isDirectory()) {
        throw new OutputException(target + ": parent " + parent + " is not a directory");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(target + ": cannot check output: " + e.getMessage(), e);
    }
  }

  /** Starts an output for {@code target}; write its files into {@link #dir()}, then {@link #commit}. */
  public static AtomicOutput begin(String target, boolean overwrite, Configuration conf) {
    checkTarget(target, overwrite, conf);
    Resolved r = resolve(target, conf);
    try {
      return new AtomicOutput(r.fs, r.path, overwrite, Files.createTempDirectory("qcal-out-"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a local staging directory: " + e.getMessage(), e);
    }
  }

  /** The fully qualified target, e.g. {@code hdfs://nn:8020/models/out} or {@code file:/data/out}. */
  public static String qualified(String target, Configuration conf) {
    return resolve(target, conf).path.toString();
  }

  /** The local staging directory the output's files are written into. */
  public Path dir() {
    return staging;
  }

  public String location() {
    return target.toString();
  }

  /**
   * Fault injection for tests: called after each publishing step ({@code copied:NAME},
   * {@code success-written}, {@code previous-moved-aside}); a hook that throws fails the commit
   * there, one that blocks lets a test kill the process there.
   */
  public AtomicOutput onStep(Consumer<String> hook) {
    this.steps = hook;
    return this;
  }

  /** Publishes the staged files, {@code _SUCCESS} last, and renames them into place. */
  public void commit() {
    org.apache.hadoop.fs.Path parent = target.getParent();
    try {
      List<Path> files = stagedFiles();
      fs.mkdirs(parent);
      temp = new org.apache.hadoop.fs.Path(parent, "." + target.getName() + TMP + UUID.randomUUID());
      if (!fs.mkdirs(temp)) {
        throw new IOException("cannot create " + temp);
      }
      for (Path f : files) {
        String relative = staging.relativize(f).toString().replace(java.io.File.separatorChar, '/');
        fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(f.toUri()),
            new org.apache.hadoop.fs.Path(temp, relative));
        steps.accept("copied:" + relative);
      }
      fs.create(new org.apache.hadoop.fs.Path(temp, SUCCESS), false).close();
      steps.accept("success-written");
      org.apache.hadoop.fs.Path old = null;
      if (fs.exists(target)) {
        if (!overwrite) {
          throw new OutputException(target + ": output appeared while this run was writing");
        }
        old = new org.apache.hadoop.fs.Path(parent, "." + target.getName() + OLD + UUID.randomUUID());
        if (!fs.rename(target, old)) {
          throw new IOException("cannot move the previous output " + target + " aside to " + old);
        }
        steps.accept("previous-moved-aside");
      }
      if (!fs.rename(temp, target)) {
        if (old != null && !fs.exists(target)) {
          fs.rename(old, target);
        }
        throw new IOException("cannot rename " + temp + " to " + target);
      }
      committed = true;
      if (old != null && !fs.delete(old, true)) {
        LOG.warn("Could not delete the previous output, moved aside to {}", old);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(target + ": cannot publish output: " + e.getMessage(), e);
    }
  }

  /** Removes the local staging directory and, unless committed, the temporary sibling. */
  @Override
  public void close() {
    deleteLocal(staging);
    if (!committed && temp != null) {
      try {
        fs.delete(temp, true);
      } catch (IOException e) {
        LOG.warn("Could not delete the unfinished output {}: {}", temp, e.getMessage());
      }
    }
  }

  /** Every staged regular file, subdirectories included, in a stable order; {@code _SUCCESS} is the commit's. */
  private List<Path> stagedFiles() throws IOException {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.walk(staging)) {
      s.filter(Files::isRegularFile).sorted().forEach(f -> {
        if (!staging.relativize(f).toString().equals(SUCCESS)) {
          files.add(f);
        }
      });
    }
    return files;
  }

  /**
   * Renames back a previous output that a run killed between its two final renames left aside:
   * only when the target is missing and the aside copy is complete ({@code _SUCCESS}).
   */
  private static void recover(FileSystem fs, org.apache.hadoop.fs.Path target) throws IOException {
    org.apache.hadoop.fs.Path parent = target.getParent();
    if (parent == null || fs.exists(target) || !fs.exists(parent)) {
      return;
    }
    String prefix = "." + target.getName() + OLD;
    PathFilter aside = p -> p.getName().startsWith(prefix);
    FileStatus newest = null;
    for (FileStatus st : fs.listStatus(parent, aside)) {
      if (st.isDirectory() && fs.exists(new org.apache.hadoop.fs.Path(st.getPath(), SUCCESS))
          && (newest == null || st.getModificationTime() > newest.getModificationTime())) {
        newest = st;
      }
    }
    if (newest != null && fs.rename(newest.getPath(), target)) {
      LOG.warn("Restored the previous output {} from {} (a run was killed while replacing it)", target,
          newest.getPath());
      // that run's own output was complete but never published: drop it, _SUCCESS and all
      String tmp = "." + target.getName() + TMP;
      for (FileStatus st : fs.listStatus(parent, p -> p.getName().startsWith(tmp))) {
        if (fs.exists(new org.apache.hadoop.fs.Path(st.getPath(), SUCCESS))) {
          fs.delete(st.getPath(), true);
        }
      }
    }
  }

  private static FileStatus status(FileSystem fs, org.apache.hadoop.fs.Path p) throws IOException {
    try {
      return fs.getFileStatus(p);
    } catch (java.io.FileNotFoundException e) {
      return null;
    }
  }

  private record Resolved(FileSystem fs, org.apache.hadoop.fs.Path path) {}

  private static Resolved resolve(String target, Configuration conf) {
    try {
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(target);
      FileSystem fs = p.getFileSystem(conf);
      if (fs instanceof LocalFileSystem local) {
        fs = local.getRaw(); // no .crc side files in a local output directory
      }
      return new Resolved(fs, fs.makeQualified(p));
    } catch (IOException | IllegalArgumentException e) {
      throw new OutputException(target + ": cannot use as an output location: " + e.getMessage(), e);
    }
  }

  static void deleteLocal(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("Could not delete {}: {}", root, e.getMessage());
    }
  }
}
