package dev.qcal.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** {@link AtomicOutput} on the local file system; {@code HdfsAtomicOutputIT} runs the same contract on HDFS. */
class AtomicOutputLocalTest extends AtomicOutputContract {
  @TempDir Path tmp;
  private int n;

  @Override
  protected String freshDir() throws IOException {
    return "file:" + Files.createDirectory(tmp.resolve("d" + n++)).toAbsolutePath();
  }
}
