package dev.qcal.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Headless Chromium (Debian's {@code chromium}; {@code $QCAL_CHROMIUM} overrides the path) for
 * browser tests: each run gets a fresh {@code --user-data-dir}, a timeout after which it is killed,
 * and every process started under that profile directory is killed when it ends, so nothing is
 * left running. A missing browser fails the test (scripts/test installs it), never skips it.
 */
public final class Chromium {
  public static final long TIMEOUT_SECONDS = 90;

  private Chromium() {}

  /** What one run printed: stdout (the DOM with --dump-dom) and stderr (logs, console messages). */
  public record Result(String out, String err) {
    /** Console messages of the page ({@code --enable-logging=stderr}): CSP violations, uncaught errors, logs. */
    public List<String> console() {
      return err.lines().filter(l -> l.contains(":CONSOLE")).toList();
    }
  }

  /** The browser binary, or a failed assertion saying how to get it. */
  public static Path binary() {
    String env = System.getenv("QCAL_CHROMIUM");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
      Path p = Path.of(dir, "chromium");
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    fail("chromium not found on PATH (nor $QCAL_CHROMIUM): the browser test needs Debian's chromium package; "
        + "scripts/test installs it (apt-get install -y chromium)");
    return null;
  }

  /** Runs headless Chromium with {@code args} after the common flags, in {@code work} (a temp dir). */
  public static Result run(Path work, String... args) throws IOException, InterruptedException {
    return run(work, TIMEOUT_SECONDS, args);
  }

  /** As {@link #run(Path, String...)}, failing (after killing every process of the run) past {@code timeoutSeconds}. */
  public static Result run(Path work, long timeoutSeconds, String... args) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory(work, "chromium-profile-");
    Path out = work.resolve(profile.getFileName() + ".out");
    Path err = work.resolve(profile.getFileName() + ".err");
    List<String> cmd = new ArrayList<>(List.of(binary().toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0",
        "--user-data-dir=" + profile.toAbsolutePath()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try {
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        fail("chromium did not finish in " + timeoutSeconds + " s: " + String.join(" ", cmd) + "\n"
            + Files.readString(err, StandardCharsets.UTF_8));
      }
      return new Result(Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      killAll(p, profile);
      deleteTree(profile);
    }
  }

  /** Kills {@code p}, its descendants and any process still using {@code profile} (orphaned helpers). */
  private static void killAll(Process p, Path profile) throws InterruptedException {
    List<ProcessHandle> all = new ArrayList<>(p.descendants().toList());
    all.add(p.toHandle());
    String marker = "--user-data-dir=" + profile.toAbsolutePath();
    try (Stream<ProcessHandle> s = ProcessHandle.allProcesses()) {
      s.filter(h -> h.info().commandLine().map(c -> c.contains(marker)).orElse(false)).forEach(all::add);
    }
    for (ProcessHandle h : all) {
      h.destroyForcibly();
    }
    for (ProcessHandle h : all) {
      try {
        h.onExit().get(10, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        // reported by the caller's leftover check, if it matters
      }
    }
  }

  /** Processes whose command line holds {@code text}; for tests asserting nothing was left running. */
  public static List<ProcessHandle> processesWith(String text) {
    try (Stream<ProcessHandle> s = ProcessHandle.allProcesses()) {
      return s.filter(ProcessHandle::isAlive)
          .filter(h -> h.info().commandLine().map(c -> c.contains(text)).orElse(false)).toList();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
