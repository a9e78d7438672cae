package dev.qcal.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.PathFilter;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An output directory on any Hadoop file system ({@code file:}, {@code hdfs:}, ...) published all
 * at once. Files are written into a local staging directory ({@link #dir()}); {@link #commit}
 * copies them into a hidden temporary sibling of the target, writes {@code _SUCCESS} there last,
 * and renames the sibling into place (moving an earlier output aside first when {@code --overwrite}
 * allows it, and deleting it after).
 *
 * <p>{@code _SUCCESS} holds a small JSON marker ({@code format} {@value #MARKER_FORMAT}) naming the
 * command and every file it wrote. {@code --overwrite} replaces only an empty directory or an
 * output of the same command holding nothing but the files its marker lists (or, written before
 * markers, an empty {@code _SUCCESS} beside a {@code run.json} or {@code eval.json} of that
 * command); anything else is refused.
 *
 * <p>What a reader can see: the target is either the previous complete output or the new complete
 * one, each with {@code _SUCCESS}. Renames are atomic or fail: on the local file system they are
 * {@code rename(2)} ({@link StandardCopyOption#ATOMIC_MOVE}; Hadoop's local rename falls back to
 * copy-then-delete), on HDFS a namenode rename. A target that is a mount point cannot be renamed
 * and is refused before any work. A publish that fails after moving the previous output aside
 * ({@code .NAME.qcal-old-*}) moves it back; a run killed between the two final renames leaves it
 * complete aside, and the next {@link #begin} or {@link #checkTarget} on that target renames it back
 * (and drops the killed run's unpublished sibling {@code .NAME.qcal-tmp-*}). Two runs writing the
 * same target at once are not supported.
 */
public final class AtomicOutput implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AtomicOutput.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String SUCCESS = "_SUCCESS";
  static final String MARKER_FORMAT = "qcal.output";
  static final String TMP = ".qcal-tmp-";
  static final String OLD = ".qcal-old-";
  private static final int MARKER_MAX_BYTES = 1 << 20;

  private final Calls fs;
  private final org.apache.hadoop.fs.Path target;
  private final String command;
  private final boolean overwrite;
  private final Path staging;
  private final Map<String, Object> notes = new LinkedHashMap<>();
  private Consumer<String> steps = s -> {};
  private org.apache.hadoop.fs.Path temp;
  private boolean committed;

  private AtomicOutput(Calls fs, org.apache.hadoop.fs.Path target, String command, boolean overwrite, Path staging) {
    this.fs = fs;
    this.target = target;
    this.command = command;
    this.overwrite = overwrite;
    this.staging = staging;
  }

  /**
   * Fails early, before any work, when {@code target} exists and may not be replaced by an output
   * of {@code command}: without {@code overwrite}, or when it is not an empty directory or an
   * earlier output of {@code command}, or cannot be replaced atomically (a mount point).
   */
  public static void checkTarget(String target, String command, boolean overwrite, Configuration conf) {
    Resolved r = resolve(target, conf);
    Calls calls = new Calls(r.fs);
    try {
      recover(calls, r.path);
      FileStatus st = status(r.fs, r.path);
      if (st != null && !overwrite) {
        throw new OutputException(target + ": output already exists (use --overwrite to replace it)");
      }
      if (st != null && st.isDirectory() && calls.isMountPoint(r.path)) {
        throw new OutputException(target + ": is a mount point, which cannot be replaced atomically; give a"
            + " directory inside it as the output");
      }
      if (st != null) {
        String why = st.isDirectory() ? notReplaceable(r.fs, r.path, command) : "is a file, not a directory";
        if (why != null) {
          throw new OutputException(target + ": " + why + "; --overwrite replaces only an empty directory or an"
              + " earlier output of qcal " + command);
        }
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

  /**
   * Starts an output of {@code command} (e.g. {@code calibrate}) for {@code target}; write its files
   * into {@link #dir()}, then {@link #commit}.
   */
  public static AtomicOutput begin(String target, String command, boolean overwrite, Configuration conf) {
    checkTarget(target, command, overwrite, conf);
    Resolved r = resolve(target, conf);
    try {
      return new AtomicOutput(new Calls(r.fs), r.path, command, overwrite, Files.createTempDirectory("qcal-out-"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a local staging directory: " + e.getMessage(), e);
    }
  }

  /** The fully qualified target, e.g. {@code hdfs://nn:8020/models/out} or {@code file:/data/out}. */
  public static String qualified(String target, Configuration conf) {
    return resolve(target, conf).path.toString();
  }

  /** The marker in {@code target}'s {@code _SUCCESS} as a JSON tree, or null when there is none. */
  public static JsonNode marker(String target, Configuration conf) {
    Resolved r = resolve(target, conf);
    try {
      return readMarker(r.fs, r.path);
    } catch (IOException e) {
      throw new UncheckedIOException(target + ": cannot read " + SUCCESS + ": " + e.getMessage(), e);
    }
  }

  /** The local staging directory the output's files are written into. */
  public Path dir() {
    return staging;
  }

  public String location() {
    return target.toString();
  }

  /** Adds a field to the marker's {@code notes} (e.g. the options that made the output). */
  public AtomicOutput note(String key, Object value) {
    notes.put(key, value);
    return this;
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

  /**
   * Fault injection for tests: {@code hook} is called before each file-system call of the commit,
   * by name ({@link Calls}), and fails that call by throwing.
   */
  AtomicOutput beforeCall(Calls.Hook hook) {
    fs.hook = hook;
    return this;
  }

  /** Publishes the staged files, {@code _SUCCESS} last, and renames them into place. */
  public void commit() {
    org.apache.hadoop.fs.Path parent = target.getParent();
    org.apache.hadoop.fs.Path old = null;
    try {
      List<String> files = stagedFiles();
      fs.mkdirs(parent, "mkdirs:parent");
      temp = new org.apache.hadoop.fs.Path(parent, "." + target.getName() + TMP + UUID.randomUUID());
      fs.mkdirs(temp, "mkdirs:temp");
      for (String relative : files) {
        fs.copy(staging.resolve(relative), new org.apache.hadoop.fs.Path(temp, relative), "copy:" + relative);
        steps.accept("copied:" + relative);
      }
      fs.create(new org.apache.hadoop.fs.Path(temp, SUCCESS), markerBytes(files), "create:" + SUCCESS);
      steps.accept("success-written");
      if (fs.fs.exists(target)) {
        if (!overwrite) {
          throw new OutputException(target + ": output appeared while this run was writing");
        }
        String why = notReplaceable(fs.fs, target, command);
        if (why != null) {
          throw new OutputException(target + ": " + why + " (changed while this run was writing); not replaced");
        }
        org.apache.hadoop.fs.Path aside = new org.apache.hadoop.fs.Path(parent,
            "." + target.getName() + OLD + UUID.randomUUID());
        fs.rename(target, aside, "rename:aside");
        old = aside;
        steps.accept("previous-moved-aside");
      }
      fs.rename(temp, target, "rename:into-place");
      committed = true;
    } catch (IOException | RuntimeException e) {
      if (old != null) {
        moveBack(old, e);
      }
      if (e instanceof IOException io) {
        throw new UncheckedIOException(target + ": cannot publish output: " + e.getMessage() + previousOutput(old), io);
      }
      throw (RuntimeException) e;
    }
    if (old != null) {
      try {
        fs.delete(old, "delete:old");
      } catch (IOException e) {
        LOG.warn("Could not delete the previous output, moved aside to {}: {}", old, e.getMessage());
      }
    }
  }

  /** Where a failed publish left the previous output, for its message. */
  private String previousOutput(org.apache.hadoop.fs.Path old) {
    if (old == null) {
      return fs.exists(target) ? " (the previous output is untouched)" : "";
    }
    return fs.exists(old) ? " (the previous output is complete in " + old + "; the next run on " + target
        + " renames it back)" : " (the previous output is back in place)";
  }

  /** After a failed publish, renames the previous output back into place (the target is still free). */
  private void moveBack(org.apache.hadoop.fs.Path old, Exception failure) {
    try {
      if (!fs.fs.exists(target)) {
        fs.rename(old, target, "rename:back");
      }
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
      LOG.error("The previous output of {} is complete in {}; the next run on {} renames it back", target, old,
          target);
    }
  }

  /** Removes the local staging directory and, unless committed, the temporary sibling. */
  @Override
  public void close() {
    deleteLocal(staging);
    if (!committed && temp != null) {
      try {
        fs.fs.delete(temp, true);
      } catch (IOException e) {
        LOG.warn("Could not delete the unfinished output {}: {}", temp, e.getMessage());
      }
    }
  }

  /** Every staged regular file relative to the staging directory, '/'-separated, sorted; {@code _SUCCESS} is the commit's. */
  private List<String> stagedFiles() throws IOException {
    List<String> files = new ArrayList<>();
    try (Stream<Path> s = Files.walk(staging)) {
      s.filter(Files::isRegularFile).sorted().forEach(f -> {
        String relative = staging.relativize(f).toString().replace(java.io.File.separatorChar, '/');
        if (!relative.equals(SUCCESS)) {
          files.add(relative);
        }
      });
    }
    return files;
  }

  private byte[] markerBytes(List<String> files) throws IOException {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", MARKER_FORMAT);
    m.put("format_version", 1);
    m.put("command", command);
    m.put("files", files);
    if (!notes.isEmpty()) {
      m.put("notes", notes);
    }
    return JSON.writeValueAsBytes(m);
  }

  /**
   * Why the existing directory {@code dir} may not be replaced by an output of {@code command}, or
   * null when it may: it is empty, or an output of {@code command} holding only what its marker lists.
   */
  static String notReplaceable(FileSystem fs, org.apache.hadoop.fs.Path dir, String command) throws IOException {
    Set<String> top = new TreeSet<>();
    for (FileStatus st : fs.listStatus(dir)) {
      top.add(st.getPath().getName());
    }
    if (top.isEmpty()) {
      return null;
    }
    if (!top.contains(SUCCESS)) {
      return "holds " + sample(top) + " and no " + SUCCESS + ": not a qcal output";
    }
    JsonNode marker = readMarker(fs, dir);
    if (marker == null) {
      String legacy = legacyCommand(fs, dir);
      if (command.equals(legacy)) {
        return null;
      }
      return legacy == null ? "holds " + sample(top) + " but no qcal output marker in " + SUCCESS
          : "is an output of qcal " + legacy + ", not of qcal " + command;
    }
    String made = marker.path("command").asText();
    if (!made.equals(command)) {
      return "is an output of qcal " + made + ", not of qcal " + command;
    }
    Set<String> written = new TreeSet<>();
    written.add(SUCCESS);
    for (JsonNode f : marker.path("files")) {
      for (String p = f.asText(); !p.isEmpty(); p = p.contains("/") ? p.substring(0, p.lastIndexOf('/')) : "") {
        written.add(p);
      }
    }
    Set<String> extra = new TreeSet<>();
    unlisted(fs, dir, "", written, extra);
    return extra.isEmpty() ? null
        : "holds " + sample(extra) + ", which qcal " + command + " did not write there";
  }

  /** Adds to {@code extra} every entry under {@code dir} not in {@code written}, descending only into written directories. */
  private static void unlisted(FileSystem fs, org.apache.hadoop.fs.Path dir, String prefix, Set<String> written,
      Set<String> extra) throws IOException {
    for (FileStatus st : fs.listStatus(dir)) {
      String name = prefix + st.getPath().getName();
      if (!written.contains(name)) {
        extra.add(name + (st.isDirectory() ? "/" : ""));
      } else if (st.isDirectory()) {
        unlisted(fs, st.getPath(), name + "/", written, extra);
      }
    }
  }

  private static String sample(Set<String> names) {
    List<String> first = names.stream().limit(3).toList();
    return String.join(", ", first) + (names.size() > first.size() ? " and " + (names.size() - first.size()) + " more" : "");
  }

  /** The marker of {@code dir}'s {@code _SUCCESS}, or null when it is missing, empty or not a qcal marker. */
  private static JsonNode readMarker(FileSystem fs, org.apache.hadoop.fs.Path dir) throws IOException {
    byte[] bytes = readSmall(fs, new org.apache.hadoop.fs.Path(dir, SUCCESS));
    JsonNode m = parse(bytes);
    return m != null && MARKER_FORMAT.equals(m.path("format").asText()) ? m : null;
  }

  /**
   * The command of an output written before markers (an empty {@code _SUCCESS}): {@code run.json}'s
   * {@code command}, or {@code evaluate} for an {@code eval.json} of format {@code qcal.eval}; else null.
   */
  private static String legacyCommand(FileSystem fs, org.apache.hadoop.fs.Path dir) throws IOException {
    JsonNode run = parse(readSmall(fs, new org.apache.hadoop.fs.Path(dir, RunReport.NAME)));
    if (run != null && RunReport.FORMAT.equals(run.path("format").asText()) && run.path("command").isTextual()) {
      return run.path("command").asText();
    }
    JsonNode eval = parse(readSmall(fs, new org.apache.hadoop.fs.Path(dir, "eval.json")));
    return eval != null && "qcal.eval".equals(eval.path("format").asText()) ? "evaluate" : null;
  }

  /** A small regular file's bytes, or null when it is missing, not a file or too large to be a marker. */
  private static byte[] readSmall(FileSystem fs, org.apache.hadoop.fs.Path file) throws IOException {
    FileStatus st = status(fs, file);
    if (st == null || !st.isFile() || st.getLen() > MARKER_MAX_BYTES) {
      return null;
    }
    try (InputStream in = fs.open(file)) {
      return in.readNBytes(MARKER_MAX_BYTES);
    }
  }

  private static JsonNode parse(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      return null;
    }
    try {
      JsonNode n = JSON.readTree(bytes);
      return n != null && n.isObject() ? n : null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Renames back a previous output that a run killed between its two final renames left aside:
   * only when the target is missing and the aside copy is complete ({@code _SUCCESS}).
   */
  private static void recover(Calls calls, org.apache.hadoop.fs.Path target) throws IOException {
    FileSystem fs = calls.fs;
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
    if (newest != null) {
      calls.rename(newest.getPath(), target, "rename:recover");
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

  /**
   * The file-system calls of a publish, each named for fault injection ({@code mkdirs:parent},
   * {@code mkdirs:temp}, {@code copy:NAME}, {@code create:_SUCCESS}, {@code rename:aside},
   * {@code rename:into-place}, {@code rename:back}, {@code rename:recover}, {@code delete:old}).
   * Each either succeeds or throws; a rename never copies.
   */
  static final class Calls {
    /** Called before each named call; throwing fails the call. */
    interface Hook {
      void before(String call) throws IOException;
    }

    final FileSystem fs;
    Hook hook = c -> {};

    Calls(FileSystem fs) {
      this.fs = fs;
    }

    boolean exists(org.apache.hadoop.fs.Path p) {
      try {
        return fs.exists(p);
      } catch (IOException e) {
        return false;
      }
    }

    void mkdirs(org.apache.hadoop.fs.Path dir, String call) throws IOException {
      hook.before(call);
      if (!fs.mkdirs(dir)) {
        throw new IOException("cannot create " + dir);
      }
    }

    void copy(Path local, org.apache.hadoop.fs.Path dst, String call) throws IOException {
      hook.before(call);
      fs.copyFromLocalFile(false, false, new org.apache.hadoop.fs.Path(local.toUri()), dst);
    }

    void create(org.apache.hadoop.fs.Path file, byte[] content, String call) throws IOException {
      hook.before(call);
      try (OutputStream out = fs.create(file, false)) {
        out.write(content);
      }
    }

    /**
     * Renames {@code src} to {@code dst} atomically or throws: on the local file system with
     * {@code rename(2)} (Hadoop's local rename falls back to copy-then-delete), elsewhere with the
     * file system's rename (a namenode operation on HDFS).
     */
    void rename(org.apache.hadoop.fs.Path src, org.apache.hadoop.fs.Path dst, String call) throws IOException {
      hook.before(call);
      if (fs instanceof RawLocalFileSystem local) {
        Path from = local.pathToFile(src).toPath();
        Path to = local.pathToFile(dst).toPath();
        if (Files.exists(to, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          throw new IOException("cannot rename " + src + " to " + dst + ": the destination exists");
        }
        try {
          Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
          throw new IOException("cannot rename " + src + " to " + dst + " atomically (another file system or"
              + " a mount point): " + e.getReason(), e);
        } catch (java.nio.file.FileSystemException e) {
          throw new IOException("cannot rename " + src + " to " + dst + ": " + e.getReason(), e);
        }
      } else if (!fs.rename(src, dst)) {
        throw new IOException("cannot rename " + src + " to " + dst);
      }
    }

    void delete(org.apache.hadoop.fs.Path dir, String call) throws IOException {
      hook.before(call);
      if (!fs.delete(dir, true)) {
        throw new IOException("cannot delete " + dir);
      }
    }

    /** Whether {@code dir} is the root of a mount on the local file system (its file store is not its parent's). */
    boolean isMountPoint(org.apache.hadoop.fs.Path dir) throws IOException {
      if (!(fs instanceof RawLocalFileSystem local) || dir.getParent() == null) {
        return false;
      }
      Path p = local.pathToFile(dir).toPath();
      return !Files.getFileStore(p).equals(Files.getFileStore(p.toAbsolutePath().getParent()));
    }
  }
}
