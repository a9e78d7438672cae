package dev.qcal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.util.Map;
import java.util.TreeMap;
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
 * or the new complete output; failed (at any file-system call) and killed (SIGKILL) publishes leave
 * the previous one, byte for byte, and no {@code _SUCCESS} outside it; {@code --overwrite} replaces
 * only an empty directory or an earlier output of the same command. Subclasses give a fresh
 * directory on their file system.
 */
public abstract class AtomicOutputContract {
  static final String CMD = "calibrate";

  /** A fresh, empty directory URI (e.g. {@code file:/tmp/x} or {@code hdfs://127.0.0.1:port/x}). */
  protected abstract String freshDir() throws IOException;

  protected Configuration conf() {
    return new Configuration();
  }

  private FileSystem fs(String uri) throws IOException {
    FileSystem fs = new Path(uri).getFileSystem(conf());
    return fs instanceof org.apache.hadoop.fs.LocalFileSystem local ? local.getRaw() : fs; // no .crc files
  }

  void publish(String target, boolean overwrite, String content) throws IOException {
    try (AtomicOutput out = AtomicOutput.begin(target, CMD, overwrite, conf())) {
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

  /** Every file under {@code dir}, hidden ones included, by relative path, with its bytes. */
  Map<String, byte[]> snapshot(String dir) throws IOException {
    Map<String, byte[]> files = new TreeMap<>();
    Path root = fs(dir).makeQualified(new Path(dir));
    RemoteIterator<LocatedFileStatus> it = fs(dir).listFiles(root, true);
    while (it.hasNext()) {
      Path p = it.next().getPath();
      try (var in = fs(dir).open(p)) {
        files.put(p.toUri().getPath().substring(root.toUri().getPath().length()), in.readAllBytes());
      }
    }
    return files;
  }

  static void assertSameFiles(Map<String, byte[]> expected, Map<String, byte[]> actual, String what) {
    assertEquals(expected.keySet(), actual.keySet(), what);
    expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k), what + ": " + k));
  }

  void mkdirs(String dir) throws IOException {
    fs(dir).mkdirs(new Path(dir));
  }

  void write(String file, String content) throws IOException {
    try (var out = fs(file).create(new Path(file), true)) {
      out.write(content.getBytes(StandardCharsets.UTF_8));
    }
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
    Map<String, byte[]> before = snapshot(dir);
    for (String step : List.of("copied:a.bin", "copied:b.txt", "success-written", "previous-moved-aside")) {
      try (AtomicOutput out = AtomicOutput.begin(target, CMD, true, conf())) {
        Files.writeString(out.dir().resolve("b.txt"), "two");
        Files.write(out.dir().resolve("a.bin"), new byte[10]);
        out.onStep(s -> {
          if (s.equals(step)) {
            throw new IllegalStateException("injected at " + s);
          }
        });
        assertThrows(IllegalStateException.class, out::commit, step);
      }
      // a failure after moving the previous output aside moves it back at once
      assertSameFiles(before, snapshot(dir), step);
    }
  }

  @Test
  public void failureOfAnyFileSystemCallKeepsThePreviousOutputByteForByte() throws IOException {
    String dir = freshDir();
    String target = dir + "/out";
    publish(target, false, "one");
    write(dir + "/neighbour.txt", "not qcal's");
    Map<String, byte[]> before = snapshot(dir);
    List<List<String>> failing = List.of(List.of("mkdirs:parent"), List.of("mkdirs:temp"), List.of("copy:a.bin"),
        List.of("copy:b.txt"), List.of("copy:sub/c.txt"), List.of("create:_SUCCESS"), List.of("rename:aside"),
        List.of("rename:into-place"));
    List<String> seen = new ArrayList<>();
    for (List<String> calls : failing) {
      String what = "failing " + calls;
      try (AtomicOutput out = AtomicOutput.begin(target, CMD, true, conf())) {
        stage(out, "two");
        out.beforeCall(call -> {
          seen.add(call);
          if (calls.contains(call)) {
            throw new IOException("injected failure of " + call);
          }
        });
        RuntimeException e = assertThrows(RuntimeException.class, out::commit, what);
        assertTrue(String.valueOf(e.getMessage()).contains("injected failure of " + calls.get(0)), e.getMessage());
      }
      assertSameFiles(before, snapshot(dir), what);
    }
    assertTrue(seen.containsAll(failing.stream().flatMap(List::stream).toList()), "every call was reached: " + seen);

    // the move back fails too: the previous output waits complete aside, and the next check restores it
    try (AtomicOutput out = AtomicOutput.begin(target, CMD, true, conf())) {
      stage(out, "two");
      out.beforeCall(call -> {
        if (call.equals("rename:into-place") || call.equals("rename:back")) {
          throw new IOException("injected failure of " + call);
        }
      });
      assertThrows(RuntimeException.class, out::commit);
    }
    assertFalse(fs(dir).exists(new Path(target)));
    assertEquals(1, names(dir).stream().filter(n -> n.startsWith(".out" + AtomicOutput.OLD)).count(), names(dir).toString());
    AtomicOutput.checkTarget(target, CMD, true, conf());
    assertSameFiles(before, snapshot(dir), "restored by the next check");

    // deleting the previous output fails after the new one is in place: the new one stands, the old is kept aside
    try (AtomicOutput out = AtomicOutput.begin(target, CMD, true, conf())) {
      stage(out, "two");
      out.beforeCall(call -> {
        if (call.equals("delete:old")) {
          throw new IOException("injected failure of " + call);
        }
      });
      out.commit();
    }
    assertEquals("two", read(target, "b.txt"));
    assertEquals("not qcal's", read(dir, "neighbour.txt"));
    String aside = names(dir).stream().filter(n -> n.startsWith(".out" + AtomicOutput.OLD)).findFirst().orElseThrow();
    assertEquals("one", read(dir + "/" + aside, "b.txt"));
  }

  private static void stage(AtomicOutput out, String content) throws IOException {
    Files.writeString(out.dir().resolve("b.txt"), content);
    Files.write(out.dir().resolve("a.bin"), new byte[10]);
    Files.createDirectories(out.dir().resolve("sub"));
    Files.writeString(out.dir().resolve("sub/c.txt"), "nested " + content);
  }

  @Test
  public void overwriteReplacesOnlyAnEmptyDirectoryOrThisCommandsOutput() throws IOException {
    String dir = freshDir();
    // a folder of the user's files
    String thesis = dir + "/thesis";
    write(thesis + "/thesis.txt", "chapter 1");
    write(thesis + "/photos/a.jpg", "jpeg");
    // another command's output, and this command's output with a file the user added
    String other = dir + "/other";
    try (AtomicOutput out = AtomicOutput.begin(other, "evaluate", false, conf())) {
      Files.writeString(out.dir().resolve("eval.json"), "{}");
      out.commit();
    }
    String added = dir + "/added";
    publish(added, false, "one");
    write(added + "/notes.txt", "mine");
    String file = dir + "/file";
    write(file, "a file");
    String foreignSuccess = dir + "/spark";
    write(foreignSuccess + "/_SUCCESS", "");
    write(foreignSuccess + "/part-0.parquet", "rows");
    Map<String, byte[]> before = snapshot(dir);
    Map<String, String> refusals = Map.of(thesis, "holds photos, thesis.txt and no _SUCCESS: not a qcal output",
        other, "is an output of qcal evaluate, not of qcal " + CMD,
        added, "holds notes.txt, which qcal " + CMD + " did not write there",
        file, "is a file, not a directory",
        foreignSuccess, "holds _SUCCESS, part-0.parquet but no qcal output marker");
    refusals.forEach((target, why) -> {
      OutputException e = assertThrows(OutputException.class, () -> publish(target, true, "two"), target);
      assertTrue(e.getMessage().contains(why) && e.getMessage().contains("--overwrite replaces only an empty directory"),
          e.getMessage());
    });
    assertSameFiles(before, snapshot(dir), "nothing refused was touched");

    // an empty directory, this command's own output, and one written before markers are replaced
    String empty = dir + "/empty";
    mkdirs(empty);
    publish(empty, true, "two");
    assertEquals("two", read(empty, "b.txt"));
    String own = dir + "/own";
    publish(own, false, "one");
    publish(own, true, "two");
    assertEquals("two", read(own, "b.txt"));
    String legacy = dir + "/legacy";
    write(legacy + "/_SUCCESS", "");
    write(legacy + "/run.json", "{\"format\": \"qcal.run\", \"format_version\": 1, \"command\": \"" + CMD + "\"}");
    write(legacy + "/qparams.json", "{}");
    publish(legacy, true, "two");
    assertEquals("two", read(legacy, "b.txt"));
    assertFalse(fs(dir).exists(new Path(legacy + "/qparams.json")));
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
    AtomicOutput.checkTarget(target, CMD, true, conf());
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
