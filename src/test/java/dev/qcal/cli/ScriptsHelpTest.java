package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code --help}/{@code -h} of the helper scripts print their usage on stdout and exit 0, without Spark, a
 * build or a job file, and write nothing; an unknown option is one line and exit 2.
 */
class ScriptsHelpTest {
  @TempDir Path tmp;

  private record Run(int code, String out, String err) {}

  /** Runs {@code scripts/NAME args} from {@code cwd} without SPARK_HOME. */
  private static Run run(Path cwd, String name, String... args) throws IOException, InterruptedException {
    return run(cwd, java.util.Map.of(), name, args);
  }

  /** As {@link #run(Path, String, String...)}, with {@code env} added to the environment. */
  private static Run run(Path cwd, java.util.Map<String, String> env, String name, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of("scripts", name).toAbsolutePath().toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
    pb.environment().remove("SPARK_HOME");
    pb.environment().putAll(env);
    Path out = Files.createTempFile("script", ".out");
    Path err = Files.createTempFile("script", ".err");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "scripts/" + name + " did not finish");
    return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @CsvSource({"submit,--help,scripts/submit JOB.properties", "submit,-h,scripts/submit JOB.properties",
      "bench,--help,scripts/bench transformers", "bench,-h,scripts/bench transformers",
      "example,--help,scripts/example [OUT_DIR]", "example,-h,scripts/example [OUT_DIR]",
      "docs-figures,--help,scripts/docs-figures --check", "docs-figures,-h,scripts/docs-figures --check"})
  void helpPrintsTheUsageAndExitsZero(String script, String flag, String usage) throws Exception {
    Run r = run(tmp, script, flag);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains(usage), r.out());
    assertEquals("", r.err());
    try (var files = Files.list(tmp)) {
      assertEquals(0, files.count(), "scripts/" + script + " " + flag + " wrote into its working directory");
    }
  }

  @ParameterizedTest
  @CsvSource({"bench,--nope,unknown benchmark '--nope'", "example,--nope,unknown option '--nope'"})
  void anUnknownOptionIsOneLineAndExitTwo(String script, String arg, String expected) throws Exception {
    Run r = run(tmp, script, arg);
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains(expected), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertFalse(Files.exists(Path.of("out", "--nope")), "scripts/example made an output named after the option");
  }

  /**
   * {@code --print} needs no Spark: without SPARK_HOME or spark-submit on PATH it prints the command with
   * {@code $SPARK_HOME/bin/spark-submit} as written (to paste where Spark is), and exits 0. QCAL_JAR names a
   * jar (absent: nothing is built or run).
   */
  @org.junit.jupiter.api.Test
  void submitPrintNeedsNoSpark() throws Exception {
    Path job = Path.of("jobs", "example-calibrate.properties").toAbsolutePath();
    Path jar = tmp.resolve("qcal.jar");
    Path bin = Files.createDirectories(tmp.resolve("bin")); // a PATH with bash's tools but no spark-submit
    for (String tool : List.of("bash", "sed", "ls", "grep", "head", "dirname", "basename")) {
      Path real = Path.of("/usr/bin", tool);
      Files.createSymbolicLink(bin.resolve(tool), Files.exists(real) ? real : Path.of("/bin", tool));
    }
    Run r = run(tmp, java.util.Map.of("PATH", bin.toString(), "QCAL_JAR", jar.toString()), "submit", job.toString(),
        "--print");
    assertEquals(0, r.code(), r.err());
    assertEquals("", r.out());
    List<String> lines = r.err().lines().toList();
    assertEquals(1, lines.size(), r.err());
    assertTrue(lines.get(0).startsWith("$SPARK_HOME/bin/spark-submit --class dev.qcal.cli.Main "), r.err());
    assertTrue(lines.get(0).contains(" " + jar + " calibrate"), r.err());
  }

  /**
   * What conf/qcal-defaults.conf says scripts/submit does with it: its path goes to the driver as
   * -Dqcal.defaults in client mode (its keys are not turned into spark.qcal.* settings, as the file said
   * they were), and not at all in cluster mode.
   */
  @org.junit.jupiter.api.Test
  void submitPassesTheDefaultsFileByPathInClientModeOnly() throws Exception {
    Path job = Path.of("jobs", "example-calibrate.properties").toAbsolutePath();
    Path defaults = Files.writeString(tmp.resolve("defaults.conf"), "calibrate.histogram-bins = 4096\n");
    java.util.Map<String, String> env = java.util.Map.of("QCAL_JAR", tmp.resolve("qcal.jar").toString(),
        "QCAL_DEFAULTS", defaults.toString(), "SPARK_HOME", tmp.resolve("spark").toString());
    Run client = run(tmp, env, "submit", job.toString(), "--print");
    assertEquals(0, client.code(), client.err());
    assertTrue(client.err().contains("-Dqcal.defaults=" + defaults), client.err());
    assertFalse(client.err().contains("histogram-bins"), client.err());
    Run cluster = run(tmp, env, "submit", job.toString(), "--print", "--conf", "spark.submit.deployMode=cluster");
    assertEquals(0, cluster.code(), cluster.err());
    assertFalse(cluster.err().contains("qcal.defaults"), cluster.err());
    assertFalse(cluster.err().contains("histogram-bins"), cluster.err());
    String header = Files.readString(Path.of("conf", "qcal-defaults.conf")).split("\n# ---", 2)[0];
    assertFalse(header.replaceAll("\\s+#\\s*", " ").contains("scripts/submit turns it into spark.qcal.*"), header);
    assertTrue(header.contains("-Dqcal.defaults") && header.contains("client deploy mode"), header);
  }

  /**
   * scripts/test says, before anything is installed, that it installs chromium with apt-get (and sudo when
   * not root); with QCAL_CHROMIUM set it installs nothing. apt-get, sudo, id and mvn are stubs on PATH that
   * note their calls on stderr; no chromium is on that PATH.
   */
  @org.junit.jupiter.api.Test
  void testScriptAnnouncesTheChromiumInstallFirst() throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    for (String tool : List.of("bash", "dirname", "env")) {
      Path real = Path.of("/usr/bin", tool);
      Files.createSymbolicLink(bin.resolve(tool), Files.exists(real) ? real : Path.of("/bin", tool));
    }
    java.util.Map<String, String> stubs = java.util.Map.of("apt-get", "echo \"STUB apt-get $*\" >&2",
        "sudo", "echo \"STUB sudo $1\" >&2; exec \"$@\"", "id", "echo 1000", "mvn", "echo \"STUB mvn $*\" >&2");
    for (var stub : stubs.entrySet()) {
      Path f = Files.writeString(bin.resolve(stub.getKey()),
          "#!" + bin.resolve("bash") + "\n" + stub.getValue() + "\n");
      assertTrue(f.toFile().setExecutable(true));
    }
    Run r = run(tmp, java.util.Map.of("PATH", bin.toString()), "test");
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.err().lines().toList();
    assertTrue(lines.get(0).startsWith("scripts/test: ") && lines.get(0).contains("chromium")
        && lines.get(0).contains("apt-get") && lines.get(0).contains("sudo"), r.err());
    assertTrue(lines.get(1).startsWith("STUB sudo"), r.err());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("STUB apt-get") && l.contains("install")), r.err());
    assertTrue(lines.get(lines.size() - 1).startsWith("STUB mvn -B -ntp verify"), r.err());
    Run given = run(tmp, java.util.Map.of("PATH", bin.toString(), "QCAL_CHROMIUM", "/opt/browser"), "test");
    assertEquals(0, given.code(), given.err());
    assertEquals(List.of("STUB mvn -B -ntp verify"), given.err().lines().toList(), given.err());
  }

  @org.junit.jupiter.api.Test
  void submitWithoutArgumentsPrintsTheUsageOnStderrAndExitsTwo() throws Exception {
    Run r = run(tmp, "submit");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("scripts/submit JOB.properties"), r.err());
  }
}
