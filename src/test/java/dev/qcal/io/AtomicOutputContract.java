package dev.qcal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.junit.jupiter.api.Test;

/**
 * What {@link AtomicOutput} promises on any Hadoop file system: the target is always the previous
 * or the new complete output; failed and killed (SIGKILL) publishes leave the previous one and no
 * {@code _SUCCESS} outside it. Subclasses give a fresh directory on their file system.
 */
public abstract class AtomicOutputContract {
  /** A fresh, empty directory URI (e.g. {@code file:/tmp/x} or {@code hdfs://127.0.0.1:port/x}). */
  protected abstract String freshDir() throws IOException;

  protected Configuration conf() {
    return new Configuration();
  }

  private FileSystem fs(String uri) throws IOException {
    return new Path(uri).getFileSystem(conf());
  }

  void publish(String target, boolean overwrite, String content) throws IOException {
    try (AtomicOutput out = AtomicOutput.begin(target, overwrite, conf())) {
      Files.writeString(out.dir().resolve("b.txt"), content);
      Files.write(out.dir().resolve("a.bin"), new byte[1000]);
      Files.createDirectories(out.dir().resolve("sub"));
      Files.writeString(out.dir().resolve("sub/c.txt"), "nested " + content);
      out.commit();
    }
  }

  String read(String target, String file) throws IOException {
    Path p = new Path(target, file);
    try (var in = fs(target).open(p)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** Every {@code _SUCCESS} under {@code dir}, as parent directory names. */
  List<String> successMarkers(String dir) throws IOException {
    List<String> parents = new ArrayList<>();
    RemoteIterator<LocatedFileStatus> it = fs(dir).listFiles(new Path(dir), true);
    while (it.hasNext()) {
      Path p = it.next().getPath();
      if (p.getName().equals(AtomicOutput.SUCCESS)) {
        parents.add(p.getParent().getName());
      }
    }
    return parents;
  }

  List<String> names(String dir) throws IOException {
    List<String> n = new ArrayList<>();
    for (FileStatus s : fs(dir).listStatus(new Path(dir))) {
      n.add(s.getPath().getName());
    }
    n.sort(null);
    return n;
  }

  @Test
  public void publishesWithSuccessAndRefusesToReplaceWithoutOverwrite() throws IOException {
    String dir = freshDir();
    String target = dir + "/out";
    publish(target, false, "one");
    assertEquals("one", read(target, "b.txt"));
    assertEquals("nested one", read(target, "sub/c.txt"));
    assertEquals(List.of("_SUCCESS", "a.bin", "b.txt", "sub"), names(target));
    assertEquals(List.of("out"), names(dir), "no temporary siblings left");
    OutputException e = assertThrows(OutputException.class, () -> publish(target, false, "two"));
    assertTrue(e.getMessage().contains("already exists (use --overwrite"), e.getMessage());
    assertEquals("one", read(target, "b.txt"));
  }

  @Test
  public void overwriteReplacesAndLeavesNoSiblings() throws IOException {
    String dir = freshDir();
    String target = dir + "/out";
    publish(target, false, "one");
    publish(target, true, "two");
    assertEquals("two", read(target, "b.txt"));
    assertEquals(List.of("out"), names(dir));
    assertEquals(List.of("out"), successMarkers(dir));
  }

  @Test
  public void failureAtAnyStepKeepsThePreviousOutput() throws IOException {
    String dir = freshDir();
    String target = dir + "/out";
    publish(target, false, "one");
    for (String step : List.of("copied:a.bin", "copied:b.txt", "success-written", "previous-moved-aside")) {
      try (AtomicOutput out = AtomicOutput.begin(target, true, conf())) {
        Files.writeString(out.dir().resolve("b.txt"), "two");
        Files.write(out.dir().resolve("a.bin"), new byte[10]);
        out.onStep(s -> {
          if (s.equals(step)) {
            throw new IllegalStateException("injected at " + s);
          }
        });
        assertThrows(IllegalStateException.class, out::commit, step);
      }
      // a failure after moving the previous output aside is repaired by the next run's check
      AtomicOutput.checkTarget(target, true, conf());
      assertEquals("one", read(target, "b.txt"), step);
      assertEquals(List.of("out"), successMarkers(dir), step);
    }
  }

  @Test
  public void killedMidWriteKeepsThePreviousOutputAndNoSuccessInPartialLocations() throws Exception {
    String dir = freshDir();
    String target = dir + "/out";
    publish(target, false, "one");
    killChildAt(target, "copied:a.bin");
    assertEquals("one", read(target, "b.txt"));
    assertEquals(List.of("out"), successMarkers(dir), "the unfinished sibling has no _SUCCESS");
    assertTrue(names(dir).stream().anyMatch(n -> n.startsWith(".out" + AtomicOutput.TMP)),
        "the killed run's hidden sibling stays (nothing ran to remove it): " + names(dir));

    // killed between its two renames: the previous output is aside, complete, and comes back
    killChildAt(target, "previous-moved-aside");
    assertFalse(fs(dir).exists(new Path(target)));
    AtomicOutput.checkTarget(target, true, conf());
    assertEquals("one", read(target, "b.txt"));

    publish(target, true, "three");
    assertEquals("three", read(target, "b.txt"));
    assertEquals(List.of("out"), successMarkers(dir));
  }

  private void killChildAt(String target, String step) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(java(), "-cp", System.getProperty("java.class.path"),
        AtomicOutputKillChild.class.getName(), target, step, "two");
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process child = pb.start();
    try {
      BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      String line = r.readLine();
      assertEquals("PAUSED " + step, line);
      child.destroyForcibly(); // SIGKILL: no finally block, no shutdown hook runs
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      assertEquals(137, child.exitValue(), "killed by SIGKILL");
    } finally {
      child.destroyForcibly();
    }
  }

  static String java() {
    return java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
