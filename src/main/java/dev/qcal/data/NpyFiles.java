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
 * {@code .npy} calibration data on any Hadoop file system: a file or a directory of files per
 * input, each file a batch {@code [N, ...]} of float32 samples in C order. With several inputs the
 * i-th files (sorted by name) of every input's path form one group and must hold the same N.
 */
public final class NpyFiles {

  private NpyFiles() {}

  /** The files of one group, one per model input in the model's input order. */
  public record Group(String[] files) implements Serializable {}

  /** The sorted {@code .npy} files at {@code path} (a file or a directory). */
  public static List<String> list(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.exists(p)) {
        throw new DataException("data not found: " + path);
      }
      FileStatus st = fs.getFileStatus(p);
      List<String> files = new ArrayList<>();
      if (st.isFile()) {
        files.add(st.getPath().toString());
      } else {
        for (FileStatus f : fs.listStatus(p)) {
          String n = f.getPath().getName();
          if (f.isFile() && n.endsWith(".npy") && !n.startsWith(".") && !n.startsWith("_")) {
            files.add(f.getPath().toString());
          }
        }
        if (files.isEmpty()) {
          throw new DataException(path + ": directory holds no .npy files");
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

  /** Streams the samples of one group, one row at a time; the caller closes the iterator's files by draining it. */
  public static Iterator<Sample> read(Group g, Configuration conf, List<InputSpec> inputs) {
    Npy.Reader[] readers = new Npy.Reader[inputs.size()];
    long rows = -1;
    try {
      for (int i = 0; i < readers.length; i++) {
        Path p = new Path(g.files()[i]);
        InputStream in = p.getFileSystem(conf).open(p);
        readers[i] = Npy.open(in, g.files()[i]);
        long[] shape = readers[i].shape();
        if (shape.length < 1) {
          throw new DataException(g.files()[i] + ": expected a batch [N, ...] for input '"
              + inputs.get(i).name() + "', found a scalar");
        }
        inputs.get(i).check(Arrays.copyOfRange(shape, 1, shape.length), g.files()[i]);
        if (rows >= 0 && readers[i].rows() != rows) {
          throw new DataException(g.files()[i] + ": holds " + readers[i].rows() + " rows but "
              + g.files()[0] + " holds " + rows);
        }
        rows = readers[i].rows();
      }
    } catch (IOException e) {
      closeAll(readers);
      throw new DataException(e.getMessage(), e);
    } catch (RuntimeException e) {
      closeAll(readers);
      throw e;
    }
    return new RowIterator(g, readers, rows);
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

  private static final class RowIterator implements Iterator<Sample> {
    private final Group group;
    private final Npy.Reader[] readers;
    private final long rows;
    private final long[][] shapes;
    private long row;

    RowIterator(Group group, Npy.Reader[] readers, long rows) {
      this.group = group;
      this.readers = readers;
      this.rows = rows;
      this.shapes = new long[readers.length][];
      for (int i = 0; i < readers.length; i++) {
        long[] s = readers[i].shape();
        shapes[i] = Arrays.copyOfRange(s, 1, s.length);
      }
      if (rows == 0) {
        closeAll(readers);
      }
    }

    @Override
    public boolean hasNext() {
      return row < rows;
    }

    @Override
    public Sample next() {
      if (row >= rows) {
        throw new NoSuchElementException();
      }
      float[][] values = new float[readers.length][];
      try {
        for (int i = 0; i < readers.length; i++) {
          values[i] = new float[readers[i].rowElements()];
          if (!readers[i].readRow(values[i])) {
            throw new DataException(group.files()[i] + ": ended before row " + row + " of " + rows);
          }
        }
      } catch (IOException e) {
        closeAll(readers);
        throw new DataException(e.getMessage(), e);
      }
      String source = group.files()[0] + ":" + row;
      row++;
      if (row == rows) {
        closeAll(readers);
      }
      return new Sample(values, shapes, source);
    }
  }
}
