package dev.qcal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AtomicOutput} on the local file system; {@code HdfsAtomicOutputIT} runs the same contract on HDFS.
 * Here also: renames across file systems and mount points are refused, never copied.
 */
class AtomicOutputLocalTest extends AtomicOutputContract {
  @TempDir Path tmp;
  private int n;

  @Override
  protected String freshDir() throws IOException {
    return "file:" + Files.createDirectory(tmp.resolve("d" + n++)).toAbsolutePath();
  }

  private static RawLocalFileSystem raw() throws IOException {
    return (RawLocalFileSystem) FileSystem.getLocal(new Configuration()).getRaw();
  }

  /** A directory on another file system than {@code tmp} (tmpfs), as a container volume would be. */
  private static Path otherFileSystem() throws IOException {
    return Files.createTempDirectory(Path.of("/dev/shm"), "qcal-other-fs-");
  }

  @Test
  void aRenameAcrossFileSystemsFailsAndNeverCopies() throws IOException {
    Path other = otherFileSystem();
    try {
      assertNotEquals(Files.getFileStore(tmp), Files.getFileStore(other), "/dev/shm is another file system");
      Path src = Files.createDirectories(tmp.resolve("prev"));
      Files.writeString(src.resolve("b.txt"), "one");
      // what commit used before: Hadoop's local rename copies, then deletes the source
      Path hadoopDst = other.resolve("by-hadoop");
      assertTrue(raw().rename(new org.apache.hadoop.fs.Path(src.toUri()), new org.apache.hadoop.fs.Path(hadoopDst.toUri())));
      assertFalse(Files.exists(src), "Hadoop's local rename moved it by copy-then-delete");

      Files.createDirectories(src);
      Files.writeString(src.resolve("b.txt"), "one");
      AtomicOutput.Calls calls = new AtomicOutput.Calls(raw());
      Path dst = other.resolve("by-qcal");
      IOException e = assertThrows(IOException.class, () -> calls.rename(new org.apache.hadoop.fs.Path(src.toUri()),
          new org.apache.hadoop.fs.Path(dst.toUri()), "rename:aside"));
      assertTrue(e.getMessage().contains("atomically"), e.getMessage());
      assertEquals("one", Files.readString(src.resolve("b.txt")));
      assertFalse(Files.exists(dst));
    } finally {
      AtomicOutput.deleteLocal(other);
    }
  }

  @Test
  void aMountPointIsNotReplacedAndNothingIsRead() {
    // /proc is a mount point on every Linux; replacing it would mean renaming it away
    OutputException e = assertThrows(OutputException.class,
        () -> AtomicOutput.checkTarget("file:/proc", CMD, true, new Configuration()));
    assertTrue(e.getMessage().contains("/proc: is a mount point, which cannot be replaced atomically"), e.getMessage());
  }

  @Test
  void aRenameOntoAnExistingDirectoryFails() throws IOException {
    Path src = Files.createDirectories(tmp.resolve("a"));
    Path dst = Files.createDirectories(tmp.resolve("b")); // rename(2) would silently replace an empty directory
    AtomicOutput.Calls calls = new AtomicOutput.Calls(raw());
    assertThrows(IOException.class, () -> calls.rename(new org.apache.hadoop.fs.Path(src.toUri()),
        new org.apache.hadoop.fs.Path(dst.toUri()), "rename:into-place"));
    assertTrue(Files.isDirectory(src));
  }
}
