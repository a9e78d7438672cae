package dev.qcal.data;

import java.io.IOException;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The formats {@code --data} can hold: each one's {@code --format} name and file suffixes, and the
 * detection of a path's format from them. The CLI validates and lists {@code --format} from here.
 */
public enum SourceFormat {
  NPY(false, ".npy", ".npz"),
  PARQUET(false, ".parquet"),
  ORC(false, ".orc"),
  JSON(false, ".json", ".jsonl"),
  CSV(false, ".csv"),
  /** A directory with a {@code _delta_log} folder: no suffix of its own. */
  DELTA(false),
  IMAGES(true, ".png", ".jpg", ".jpeg", ".bmp");

  /** The {@code --format} names, for picocli's parameter label (checked against the constants when loaded). */
  public static final String LABEL = "npy|parquet|orc|json|csv|delta|images";

  static {
    if (!LABEL.equals(String.join("|", names()))) {
      throw new AssertionError("SourceFormat.LABEL '" + LABEL + "' does not list " + names());
    }
  }

  private final boolean anyCase;
  private final List<String> suffixes;

  SourceFormat(boolean anyCase, String... suffixes) {
    this.anyCase = anyCase;
    this.suffixes = List.of(suffixes);
  }

  /** The {@code --format} name: {@code npy}, {@code parquet}, ... */
  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Every {@code --format} name, in order. */
  public static List<String> names() {
    return Arrays.stream(values()).map(SourceFormat::cliName).toList();
  }

  /** The names as a sentence: "npy, parquet, ... or images". */
  public static String choices() {
    List<String> n = names();
    return String.join(", ", n.subList(0, n.size() - 1)) + " or " + n.get(n.size() - 1);
  }

  /** The format named exactly {@code name} (as {@code --format} takes it), else null. */
  public static SourceFormat named(String name) {
    return Arrays.stream(values()).filter(f -> f.cliName().equals(name)).findFirst().orElse(null);
  }

  /** {@code s} as a format name in any case, around blanks; else a DataException listing the names. */
  public static SourceFormat parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new DataException("--format '" + s + "': expected " + choices());
    }
  }

  /** The format a file named {@code name} has by its suffix, else null. */
  public static SourceFormat ofFile(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    for (SourceFormat f : values()) {
      String n = f.anyCase ? lower : name;
      if (f.suffixes.stream().anyMatch(n::endsWith)) {
        return f;
      }
    }
    return null;
  }

  /** picocli's candidates for {@code --format}: the names. */
  public static final class Names implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return names().iterator();
    }
  }

  /**
   * The format of {@code path}: a file's by its suffix; a directory's by its {@code _delta_log} folder,
   * else by the one format its files have (or Parquet for partition folders {@code k=v} alone).
   */
  public static SourceFormat detect(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      FileStatus st = NpyFiles.status(fs, p, path);
      SourceFormat found = st.isFile() ? ofFile(path) : ofDirectory(fs, p);
      if (found != null) {
        return found;
      }
      throw new DataException(path + ": cannot tell the data format: expected a .npy file, a directory of .npy"
          + " files, a Parquet, ORC, JSON or CSV file or directory, a Delta table (a _delta_log folder) or an image"
          + " folder; or give --format");
    } catch (IOException e) {
      throw new DataException(path + ": cannot read: " + e.getMessage(), e);
    }
  }

  private static SourceFormat ofDirectory(FileSystem fs, Path p) throws IOException {
    EnumSet<SourceFormat> seen = EnumSet.noneOf(SourceFormat.class);
    boolean partitionDirs = false;
    for (FileStatus f : fs.listStatus(p)) {
      String n = f.getPath().getName();
      if (n.equals("_delta_log") && f.isDirectory()) {
        return DELTA; // a Delta table: its Parquet files are read through its log
      }
      SourceFormat format = ofFile(n);
      if (format != null) {
        seen.add(format);
      }
      partitionDirs |= f.isDirectory() && n.contains("=");
    }
    if (seen.isEmpty() && partitionDirs) {
      return PARQUET;
    }
    return seen.size() == 1 ? seen.iterator().next() : null;
  }
}
