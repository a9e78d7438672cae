package dev.qcal.io;

import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * Checks a command's {@code --out} before it reads anything: an output that equals, contains or lies
 * inside one of the run's inputs is refused (as Spark refuses to overwrite a path it reads), then the
 * target itself must be free or replaceable ({@link AtomicOutput#checkTarget}). Paths are compared
 * absolute and normalized: local ones through their real path (symbolic links resolved as far as
 * the path exists), Hadoop ones qualified by their file system ({@code hdfs://nn:8020/...}).
 */
public final class OutputGuard {
  private OutputGuard() {}

  /**
   * One input of a run, named by the option that gave it.
   *
   * @param local read as a local file ({@code java.nio}), not through a Hadoop file system
   * @param model an ONNX model, whose external data files are inputs too
   */
  public record Input(String option, String path, boolean local, boolean model) {
    /** A path read through a Hadoop file system ({@code --data}, {@code --stats}, ...); none when null. */
    public static List<Input> hadoop(String option, String path) {
      return path == null ? List.of() : List.of(new Input(option, path, false, false));
    }

    /** A local ONNX model and, implicitly, its external data files. */
    public static List<Input> model(String option, Path path) {
      return path == null ? List.of() : List.of(new Input(option, path.toString(), true, true));
    }

    /** A local file read with {@code java.nio}; none when null. */
    public static List<Input> local(String option, Path path) {
      return path == null ? List.of() : List.of(new Input(option, path.toString(), true, false));
    }

    /**
     * Data specs {@code [NAME=]PATH}: without the model at hand, which {@code =} binds an input is not
     * known, so both the whole spec and what follows its first {@code =} count.
     */
    public static List<Input> data(String option, List<String> specs) {
      List<Input> all = new ArrayList<>();
      for (String s : specs == null ? List.<String>of() : specs) {
        all.add(new Input(option, s, false, false));
        int eq = s.indexOf('=');
        if (eq > 0 && eq < s.length() - 1) {
          all.add(new Input(option, s.substring(eq + 1), false, false));
        }
      }
      return all;
    }
  }

  /** {@link #check(String, String, boolean, List, Configuration)} with the inputs of several lists. */
  @SafeVarargs
  public static void check(String command, String out, boolean overwrite, Configuration conf,
      List<Input>... inputs) {
    List<Input> all = new ArrayList<>();
    for (List<Input> l : inputs) {
      all.addAll(l);
    }
    check(command, out, overwrite, all, conf);
  }

  /**
   * Refuses an output of {@code command} at {@code out} that overlaps an input, or that exists and
   * may not be replaced (see {@link AtomicOutput#checkTarget}).
   *
   * @throws OutputException naming {@code --out}, the input's option and both paths
   */
  public static void check(String command, String out, boolean overwrite, List<Input> inputs, Configuration conf) {
    Location o = hadoop(out, conf);
    if (o == null) {
      throw new OutputException(out + ": cannot use as an output location");
    }
    for (Input in : inputs) {
      for (Location i : locations(in, o, conf)) {
        String relation = o.inside(i) ? (i.inside(o) ? "is" : "lies inside") : i.inside(o) ? "contains" : null;
        if (relation != null) {
          throw new OutputException("--out " + out + " " + relation + " the input " + in.option() + " " + i.shown()
              + ": the output may not equal, contain or lie inside an input of the run");
        }
      }
    }
    AtomicOutput.checkTarget(out, command, overwrite, conf);
  }

  /** The input's locations: the path itself and, for a model inside whose directory {@code out} lies, its external data files. */
  private static List<Location> locations(Input in, Location out, Configuration conf) {
    Location self = in.local() ? local(Path.of(in.path())) : hadoop(in.path(), conf);
    List<Location> all = new ArrayList<>();
    if (self == null) {
      return all; // not a path any file system reads: the run reports it
    }
    all.add(self);
    if (in.model()) {
      Path model = Path.of(in.path());
      // external data lies inside the model's directory: only an --out strictly inside it can overlap the
      // data and not the model file, so only then is the model read for its locations
      Location dir = local(ExternalData.directory(model));
      if (out.inside(dir) && !dir.inside(out)) {
        for (String loc : externalLocations(model)) {
          all.add(local(ExternalData.directory(model).resolve(loc)));
        }
      }
    }
    return all;
  }

  private static List<String> externalLocations(Path model) {
    try {
      return List.copyOf(ExternalData.locations(OnnxModels.load(model)));
    } catch (ModelException e) {
      return List.of(); // the run reports the model itself, before it writes anything
    }
  }

  /** A normalized absolute location: the file system ({@code file:} or {@code hdfs://nn:8020}) and the path's names. */
  record Location(String fs, List<String> names, String shown) {
    /** Whether this location equals {@code other} or lies below it. */
    boolean inside(Location other) {
      return fs.equals(other.fs) && names.size() >= other.names.size()
          && names.subList(0, other.names.size()).equals(other.names);
    }
  }

  /** A local path with symbolic links resolved as far as it exists, then normalized. */
  static Location local(Path path) {
    Path abs = path.toAbsolutePath();
    Path existing = abs;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    Path real = abs;
    if (existing != null) {
      try {
        real = existing.toRealPath().resolve(existing.relativize(abs));
      } catch (IOException e) {
        real = abs;
      }
    }
    List<String> names = new ArrayList<>();
    real.normalize().forEach(n -> names.add(n.toString()));
    return new Location("file:", names, path.toString());
  }

  /**
   * A path as a Hadoop file system reads it: qualified, local ones as {@link #local}; a glob pattern
   * ({@code *}, {@code ?}, <code>{</code>) stands for the directory above its first pattern. Null when
   * no file system on the classpath reads it.
   */
  static Location hadoop(String path, Configuration conf) {
    org.apache.hadoop.fs.Path p;
    FileSystem fs;
    try {
      p = new org.apache.hadoop.fs.Path(path);
      fs = p.getFileSystem(conf);
      p = fs.makeQualified(p);
    } catch (IOException | IllegalArgumentException e) {
      return null;
    }
    List<String> names = new ArrayList<>();
    for (String n : p.toUri().getPath().split("/")) {
      if (n.matches(".*[*?{].*")) {
        break;
      }
      if (!n.isEmpty()) {
        names.add(n);
      }
    }
    if (fs instanceof LocalFileSystem || fs instanceof RawLocalFileSystem) {
      Location l = local(Path.of("/" + String.join("/", names)));
      return new Location(l.fs(), l.names(), path);
    }
    String scheme = p.toUri().getScheme() + "://" + (p.toUri().getAuthority() == null ? "" : p.toUri().getAuthority());
    return new Location(scheme, names, path);
  }
}
