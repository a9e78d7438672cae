package dev.qcal.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code .npy} (or {@code .npz}, the array named like the input) calibration data on any Hadoop file
 * system: a file or a directory of files per
 * input, each file a batch {@code [N, ...]} of samples in C order, read into the input's type (see
 * {@link Elements#feeds}: int64 files for int64 inputs as they are, no silent narrowing). With several
 * inputs the i-th files (sorted by name) of every input's path form one group and must hold the same N.
 */
public final class NpyFiles {

  private NpyFiles() {}

  /** The files of one group, one per model input in the model's input order. */
  public record Group(String[] files) implements Serializable {}

  /** The status of a data path; {@code data not found: PATH} when it does not exist. */
  public static FileStatus status(FileSystem fs, Path p, String given) throws IOException {
    if (!fs.exists(p)) {
      throw new DataException("data not found: " + given);
    }
    return fs.getFileStatus(p);
  }

  /** The sorted {@code .npy} files at {@code path} (a file or a directory). */
  public static List<String> list(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      FileStatus st = status(fs, p, path);
      List<String> files = new ArrayList<>();
      if (st.isFile()) {
        files.add(st.getPath().toString());
      } else {
        for (FileStatus f : fs.listStatus(p)) {
          String n = f.getPath().getName();
          if (f.isFile() && (n.endsWith(".npy") || n.endsWith(".npz")) && !n.startsWith(".") && !n.startsWith("_")) {
            files.add(f.getPath().toString());
          }
        }
        if (files.isEmpty()) {
          throw new DataException(path + ": directory holds no .npy or .npz files");
        }
      }
      files.sort(null);
      return files;
    } catch (IOException e) {
      throw new DataException(path + ": cannot list data: " + e.getMessage(), e);
    }
  }

  /** Zips the per-input file lists into groups. */
  public static List<Group> groups(List<InputSpec> inputs, List<List<String>> filesPerInput) {
    int n = filesPerInput.get(0).size();
    for (int i = 1; i < filesPerInput.size(); i++) {
      if (filesPerInput.get(i).size() != n) {
        throw new DataException("input '" + inputs.get(i).name() + "' has " + filesPerInput.get(i).size()
            + " .npy files but input '" + inputs.get(0).name() + "' has " + n);
      }
    }
    List<Group> groups = new ArrayList<>();
    for (int f = 0; f < n; f++) {
      String[] files = new String[inputs.size()];
      for (int i = 0; i < files.length; i++) {
        files[i] = filesPerInput.get(i).get(f);
      }
      groups.add(new Group(files));
    }
    return groups;
  }

  /**
   * Streams the records of one group, one row at a time, each keyed by {@code NAME#ROW} (the first
   * input's file name and the row index) under {@code selection}. A file that cannot be decoded is one
   * bad record; rows of a file whose sample shape does not fit, or beyond where a file ends early, are
   * bad records each. Only rows {@code selection} keeps in its fraction are decoded.
   */
  public static Iterator<Entry> entries(Group g, Configuration conf, List<InputSpec> inputs, SampleSelection selection) {
    String name = new Path(g.files()[0]).getName();
    Npy.Reader[] readers = new Npy.Reader[inputs.size()];
    long rows = -1;
    boolean[] single = new boolean[inputs.size()];
    BadRecordException shapeError = null;
    for (int i = 0; i < readers.length; i++) {
      try {
        Path p = new Path(g.files()[i]);
        InputStream in = p.getFileSystem(conf).open(p);
        readers[i] = g.files()[i].endsWith(".npz")
            ? Npy.open(npzEntry(in, g.files()[i], inputs.get(i).name(), inputs.size() == 1), g.files()[i])
            : Npy.open(in, g.files()[i]);
      } catch (IOException e) {
        closeAll(readers);
        String id = new Path(g.files()[i]).getName();
        String m = e.getMessage() != null && e.getMessage().startsWith(g.files()[i]) ? e.getMessage()
            : g.files()[i] + ": cannot decode .npy: " + reason(e);
        m += " (data for input '" + inputs.get(i).name() + "' " + inputs.get(i).describe() + ")";
        return List.of(Entry.bad(selection.key(id), new BadRecordException(BadRecordException.UNDECODABLE, m, e)))
            .iterator();
      }
      long[] shape = readers[i].shape();
      // a file of a sample's rank holds one sample (or of exactly the whole input's shape); one rank more, a batch
      boolean one = single(shape, inputs.get(i));
      single[i] = one;
      if (!one && shape.length < 1) {
        closeAll(readers);
        return List.of(Entry.bad(selection.key(name), new BadRecordException(BadRecordException.SHAPE_MISMATCH,
            g.files()[i] + ": expected a batch [N, ...] or one sample for input '" + inputs.get(i).name()
            + "' " + inputs.get(i).describe() + ", found a scalar"))).iterator();
      }
      try {
        inputs.get(i).check(one ? shape : Arrays.copyOfRange(shape, 1, shape.length), g.files()[i]);
        checkType(readers[i], g.files()[i], inputs.get(i));
      } catch (BadRecordException e) {
        shapeError = shapeError == null ? e : shapeError;
      }
      long n = one ? 1 : readers[i].rows();
      if (rows >= 0 && n != rows) {
        closeAll(readers);
        throw new DataException(g.files()[i] + ": holds " + n + " samples but " + g.files()[0] + " holds " + rows);
      }
      rows = n;
    }
    return new RowIterator(g, name, readers, single, rows, selection, shapeError, inputs);
  }

  /**
   * Whether a file of {@code shape} holds one sample of {@code input}: it has a sample's rank, or (a model
   * that fixes a first dimension N > 1) it is exactly one whole input {@code [N, ...]}.
   */
  public static boolean single(long[] shape, InputSpec input) {
    return shape.length == input.dims().length || input.lead() > 1 && input.wholeRow(shape);
  }

  /** Refuses a file whose dtype cannot feed {@code input} (float data for an integer input), naming both. */
  private static void checkType(Npy.Reader r, String file, InputSpec input) {
    if (!Elements.feeds(r.type(), input.type())) {
      throw new BadRecordException(BadRecordException.WRONG_DTYPE, file + ": input '" + input.name() + "' is "
          + input.type() + " but the file holds " + r.type() + " ('" + r.dtype() + "'); float data does not feed an"
          + " integer or bool input: save the array with an integer dtype (e.g. numpy's astype(np."
          + input.type() + "))");
    }
  }

  /**
   * How many samples a {@code .npy} or {@code .npz} file holds, from its header only: one when the
   * array has a sample's rank, else its first dimension. In an {@code .npz}, the first array named
   * like one of {@code inputs} is counted (every input's array holds the same count). Throws when
   * the file cannot be read or holds no such array.
   */
  public static long samples(String file, Configuration conf, List<InputSpec> inputs) throws IOException {
    Path p = new Path(file);
    try (InputStream raw = p.getFileSystem(conf).open(p)) {
      InputStream in = raw;
      InputSpec input = inputs.get(0);
      if (file.endsWith(".npz")) {
        java.util.zip.ZipInputStream zip = new java.util.zip.ZipInputStream(raw);
        input = null;
        while (input == null) {
          java.util.zip.ZipEntry e;
          try {
            e = zip.getNextEntry();
          } catch (IOException | IllegalArgumentException x) {
            throw new IOException(file + ": not a readable .npz (zip) archive: " + reason(x), x);
          }
          if (e == null) {
            break;
          }
          for (InputSpec i : inputs) {
            if (e.getName().equals(i.name() + ".npy") || (inputs.size() == 1 && e.getName().equals("arr_0.npy"))) {
              input = i;
            }
          }
        }
        if (input == null) {
          throw new IOException(file + ": no array named like an input in the .npz archive");
        }
        in = zip;
      }
      try (Npy.Reader r = Npy.open(in, file)) {
        return single(r.shape(), input) ? 1 : r.rows();
      }
    }
  }

  /**
   * The stream of array {@code NAME.npy} inside an {@code .npz} archive (stored or deflated, as
   * {@code numpy.savez} and {@code savez_compressed} write it); a single-input model also takes
   * {@code arr_0.npy}, the name {@code numpy.savez} gives an unnamed array.
   */
  static InputStream npzEntry(InputStream in, String file, String name, boolean singleInput) throws IOException {
    java.util.zip.ZipInputStream zip = new java.util.zip.ZipInputStream(in);
    List<String> seen = new ArrayList<>();
    try {
      for (java.util.zip.ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
        if (e.getName().equals(name + ".npy") || (singleInput && e.getName().equals("arr_0.npy"))) {
          return zip;
        }
        seen.add(e.getName());
      }
    } catch (IOException | IllegalArgumentException e) {
      zip.close();
      throw new IOException(file + ": not a readable .npz (zip) archive: " + reason(e), e);
    }
    zip.close();
    throw new IOException(file + ": no array '" + name + "' in the .npz archive (arrays: " + seen + ")");
  }

  /** What went wrong, also for the exceptions zip reading throws without a message. */
  static String reason(Exception e) {
    if (e.getMessage() != null) {
      return e.getMessage();
    }
    return e instanceof java.io.EOFException ? "the file ends early (truncated)" : e.getClass().getSimpleName();
  }

  private static void closeAll(Npy.Reader[] readers) {
    for (Npy.Reader r : readers) {
      if (r != null) {
        try {
          r.close();
        } catch (IOException ignored) {
          // closing after a failure: the failure is what the user needs to see
        }
      }
    }
  }

  private static final class RowIterator implements Iterator<Entry> {
    private final Group group;
    private final String name;
    private final Npy.Reader[] readers;
    private final boolean[] single;
    private final long rows;
    private final long[][] shapes;
    private final SampleSelection selection;
    private final BadRecordException shapeError;
    private final Object[] scratch;
    private final List<InputSpec> inputs;
    private BadRecordException truncated;
    private long row;

    RowIterator(Group group, String name, Npy.Reader[] readers, boolean[] single, long rows,
        SampleSelection selection, BadRecordException shapeError, List<InputSpec> inputs) {
      this.inputs = inputs;
      this.group = group;
      this.name = name;
      this.readers = readers;
      this.single = single;
      this.rows = rows;
      this.selection = selection;
      this.shapeError = shapeError;
      this.shapes = new long[readers.length][];
      this.scratch = new Object[readers.length];
      for (int i = 0; i < readers.length; i++) {
        long[] s = readers[i].shape();
        shapes[i] = single[i] ? s : Arrays.copyOfRange(s, 1, s.length);
        scratch[i] = inputs.get(i).type().newArray((int) Sample.elements(shapes[i]));
      }
      if (rows == 0 || shapeError != null) {
        closeAll(readers);
      }
    }

    @Override
    public boolean hasNext() {
      return row < rows;
    }

    /**
     * Reads sample {@code r} of input {@code i} into {@code dst} (of the input's type): one row of a batch,
     * or every row of a single-sample file. Returns null, or why a value does not fit the input's type.
     */
    private String readSample(int i, Object dst, long r) throws IOException {
      Npy.Reader reader = readers[i];
      ElemType to = inputs.get(i).type();
      if (!single[i]) {
        if (reader.position() >= reader.rows()) {
          throw new IOException(group.files()[i] + ": ended before row " + r + " of " + rows);
        }
        return reader.readRow(to, dst, 0);
      }
      String why = null;
      for (long k = 0; k < reader.rows(); k++) {
        String w = reader.readRow(to, dst, (int) (k * reader.rowElements()));
        why = why == null ? w : why;
      }
      return why;
    }

    @Override
    public Entry next() {
      if (row >= rows) {
        throw new NoSuchElementException();
      }
      long r = row++;
      SampleSelection.Key key = selection.key(name + "#" + r);
      String source = group.files()[0] + ":" + r;
      Entry e;
      if (shapeError != null) {
        e = Entry.bad(key, new BadRecordException(shapeError.reason(), "row " + r + " of " + shapeError.getMessage()));
      } else if (truncated != null) {
        e = Entry.bad(key, new BadRecordException(BadRecordException.TRUNCATED, source + ": " + truncated.getMessage()));
      } else {
        boolean keep = selection.inFraction(key);
        Object[] values = new Object[readers.length];
        try {
          BadRecordException misfit = null;
          for (int i = 0; i < readers.length; i++) {
            values[i] = keep ? inputs.get(i).type().newArray(ElemType.length(scratch[i])) : scratch[i];
            String why = readSample(i, values[i], r);
            if (why != null && misfit == null) {
              misfit = new BadRecordException(BadRecordException.DOES_NOT_FIT, group.files()[i] + ":" + r + ": input '"
                  + inputs.get(i).name() + "' (" + inputs.get(i).type() + ", the file holds " + readers[i].type()
                  + "): " + why);
            }
          }
          e = misfit != null ? Entry.bad(key, misfit)
              : keep ? Entry.good(key, new Sample(values, shapes, source)) : Entry.good(key, null);
        } catch (IOException ex) {
          closeAll(readers);
          truncated = new BadRecordException(BadRecordException.TRUNCATED, ex.getMessage(), ex);
          e = Entry.bad(key, new BadRecordException(BadRecordException.TRUNCATED, source + ": " + ex.getMessage(), ex));
        }
      }
      if (row == rows && shapeError == null && truncated == null) {
        closeAll(readers);
      }
      return e;
    }
  }
}
