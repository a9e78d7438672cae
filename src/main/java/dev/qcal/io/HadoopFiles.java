package dev.qcal.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.DataException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Small reads of the files of another run on any Hadoop file system ({@code file:}, {@code hdfs:}, ...): whether
 * a file is there, a JSON file of a given qcal format, a file's SHA-256, a copy to the local disk. Every failure
 * is a {@link DataException} naming the file: another run's files are the input of the command reading them.
 */
public final class HadoopFiles {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HadoopFiles() {}

  public static boolean exists(Path p, Configuration conf) {
    try {
      return p.getFileSystem(conf).exists(p);
    } catch (IOException e) {
      throw new DataException(p + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * {@code file} parsed, when its {@code format} field is {@code format} (any format when null).
   *
   * @param hint appended to the "not found" message (e.g. what directory was expected)
   */
  public static JsonNode readJson(Path file, String format, String hint, Configuration conf) {
    try {
      FileSystem fs = file.getFileSystem(conf);
      if (!fs.exists(file)) {
        throw new DataException(file + ": not found" + hint);
      }
      JsonNode n;
      try (InputStream in = fs.open(file)) {
        n = JSON.readTree(in);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new DataException(file + ": not valid JSON: " + e.getOriginalMessage());
      }
      if (format == null ? n == null || !n.isObject() : n == null || !format.equals(n.path("format").asText())) {
        throw new DataException(file + (format == null ? ": expected a JSON object" : ": expected format '" + format
            + "', found '" + (n == null ? "" : n.path("format").asText()) + "'"));
      }
      return n;
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** The SHA-256 of {@code file}'s bytes, in lower-case hex. */
  public static String sha256(Path file, Configuration conf) {
    try (InputStream in = file.getFileSystem(conf).open(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Copies {@code file} to the local {@code to}, creating its parent directories. */
  public static void copyToLocal(Path file, java.nio.file.Path to, Configuration conf) {
    try {
      Files.createDirectories(to.getParent());
      try (InputStream in = file.getFileSystem(conf).open(file); OutputStream out = Files.newOutputStream(to)) {
        in.transferTo(out);
      }
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
  }
}
