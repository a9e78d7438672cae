package dev.qcal.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A real Spark standalone cluster for integration tests: a Master and a Worker JVM bound to
 * 127.0.0.1 on free ports, started from the Maven-resolved Spark jars ({@code target/spark-home/jars},
 * copied from the provided scope at package). The Worker launches executor JVMs as its children.
 * {@link #close} (also run by a shutdown hook) kills executors, Worker and Master.
 */
final class StandaloneCluster implements AutoCloseable {
  final Path sparkHome;
  final Path logs;
  final String masterUrl;
  private final int masterUiPort;
  private final List<Process> daemons = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "qcal-it-cluster-stop");

  private StandaloneCluster(Path sparkHome, Path logs, int masterPort, int masterUiPort) {
    this.sparkHome = sparkHome;
    this.logs = logs;
    this.masterUrl = "spark://127.0.0.1:" + masterPort;
    this.masterUiPort = masterUiPort;
  }

  /** Starts a Master and one Worker offering {@code cores} cores and {@code memory} (e.g. 2g); waits until it registered. */
  static StandaloneCluster start(int cores, String memory) throws IOException, InterruptedException {
    Path home = sparkHome();
    Path logs = Files.createDirectories(home.resolveSibling("it-cluster-logs"));
    int[] ports = freePorts(4);
    StandaloneCluster c = new StandaloneCluster(home, logs, ports[0], ports[1]);
    Runtime.getRuntime().addShutdownHook(c.hook);
    try {
      c.launch("master", "org.apache.spark.deploy.master.Master",
          "--host", "127.0.0.1", "--port", "" + ports[0], "--webui-port", "" + ports[1]);
      c.waitFor(() -> c.masterJson().isPresent(), 60, "the Master to answer");
      Path work = Files.createDirectories(logs.resolve("work"));
      c.launch("worker", "org.apache.spark.deploy.worker.Worker",
          "--host", "127.0.0.1", "--port", "" + ports[2], "--webui-port", "" + ports[3],
          "--cores", "" + cores, "--memory", memory, "--work-dir", work.toString(), c.masterUrl);
      c.waitFor(() -> c.masterJson().map(j -> j.contains("\"aliveworkers\" : 1")
          || j.contains("\"aliveworkers\":1")).orElse(false), 60, "the Worker to register");
      return c;
    } catch (IOException | InterruptedException | RuntimeException | Error e) {
      c.close();
      throw e;
    }
  }

  /**
   * The test SPARK_HOME ({@code target/spark-home}): the Maven-resolved Spark jars in {@code jars/},
   * made a distribution layout with {@code RELEASE} and {@code bin/spark-submit}.
   */
  static Path sparkHome() throws IOException {
    Path home = Path.of(System.getProperty("qcal.it.sparkHome", "target/spark-home")).toAbsolutePath();
    if (!Files.isDirectory(home.resolve("jars"))) {
      throw new IllegalStateException(home + "/jars is missing: run the integration tests through `mvn verify`");
    }
    // a distribution layout: with RELEASE present, Spark's launcher takes jars/ as the class path
    Files.writeString(home.resolve("RELEASE"), "Spark (qcal integration-test SPARK_HOME, Maven-resolved jars)\n");
    writeSparkSubmit(home);
    return home;
  }

  /**
   * {@code bin/spark-submit} as a Spark distribution has it, reduced to what {@code bin/spark-class}
   * does: Spark's launcher builds the driver command (java options, class path from jars/) and it runs.
   */
  private static void writeSparkSubmit(Path home) throws IOException {
    Path bin = Files.createDirectories(home.resolve("bin"));
    Path submit = bin.resolve("spark-submit");
    Files.writeString(submit, String.join("\n",
        "#!/usr/bin/env bash",
        "# test SPARK_HOME: the launcher part of Spark's bin/spark-class",
        "export SPARK_HOME=\"$(cd \"$(dirname \"$0\")/..\" && pwd)\"",
        "export SPARK_SCALA_VERSION=2.13",
        "CMD=()",
        "while IFS= read -d '' -r ARG; do CMD+=(\"$ARG\"); done < <(\"" + java()
            + "\" -Xmx128m -cp \"$SPARK_HOME/jars/*\" org.apache.spark.launcher.Main"
            + " org.apache.spark.deploy.SparkSubmit \"$@\"; printf '%d\\0' $?)",
        "# the launcher's output starts with a NUL-and-newline marker, as bin/spark-class expects",
        "[[ ${#CMD[@]} -gt 1 && -z ${CMD[0]} ]] && CMD=(\"${CMD[@]:1}\") && CMD[0]=${CMD[0]#$'\\n'}",
        "LAST=$((${#CMD[@]} - 1))",
        "[[ ${CMD[$LAST]} == 0 ]] || exit ${CMD[$LAST]}",
        "exec \"${CMD[@]:0:$LAST}\"", ""));
    submit.toFile().setExecutable(true);
  }

  private void launch(String name, String mainClass, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx512m"));
    cmd.addAll(Arrays.asList(System.getProperty("qcal.it.javaOpens", "").trim().split("\\s+")));
    cmd.removeIf(String::isEmpty);
    cmd.addAll(List.of("-cp", sparkHome.resolve("jars") + "/*", mainClass));
    cmd.addAll(Arrays.asList(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    // without these the Worker cannot build executor command lines ("Cannot find any build directories")
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.13");
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.redirectErrorStream(true).redirectOutput(logs.resolve(name + ".log").toFile());
    daemons.add(pb.start());
  }

  /** The executor JVMs the Worker runs now. */
  List<ProcessHandle> executors() {
    List<ProcessHandle> out = new ArrayList<>();
    for (Process d : daemons) {
      d.descendants().filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
          .forEach(out::add);
    }
    return out;
  }

  /** The executor JVM running Spark executor {@code executorId}, if alive. */
  Optional<ProcessHandle> executor(String executorId) {
    return executors().stream().filter(p -> {
      List<String> args = Arrays.asList(p.info().arguments().orElse(new String[0]));
      int i = args.indexOf("--executor-id");
      return i >= 0 && i + 1 < args.size() && args.get(i + 1).equals(executorId);
    }).findFirst();
  }

  private Optional<String> masterJson() {
    try {
      HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + masterUiPort + "/json/")
          .toURL().openConnection();
      c.setConnectTimeout(1000);
      c.setReadTimeout(2000);
      try (var in = c.getInputStream()) {
        return Optional.of(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private void waitFor(java.util.function.BooleanSupplier ready, int seconds, String what)
      throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!ready.getAsBoolean()) {
      for (Process d : daemons) {
        if (!d.isAlive()) {
          throw new IllegalStateException("a cluster daemon exited (" + d.exitValue() + ") while waiting for " + what
              + "; see " + logs);
        }
      }
      if (System.nanoTime() > end) {
        throw new IllegalStateException("timed out waiting for " + what + "; see " + logs);
      }
      Thread.sleep(100);
    }
  }

  private static int[] freePorts(int n) throws IOException {
    int[] ports = new int[n];
    ServerSocket[] held = new ServerSocket[n];
    try {
      for (int i = 0; i < n; i++) {
        held[i] = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
        ports[i] = held[i].getLocalPort();
      }
    } finally {
      for (ServerSocket s : held) {
        if (s != null) {
          s.close();
        }
      }
    }
    return ports;
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Kills executors first (the Worker would relaunch them otherwise), then the Worker and the Master. */
  private synchronized void stopAll() {
    List<ProcessHandle> all = new ArrayList<>();
    for (int i = daemons.size() - 1; i >= 0; i--) {
      daemons.get(i).descendants().forEach(all::add);
      all.add(daemons.get(i).toHandle());
    }
    for (ProcessHandle p : all) {
      p.destroyForcibly();
    }
    for (ProcessHandle p : all) {
      try {
        p.onExit().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // best effort: nothing else can be done about a process that outlives SIGKILL
      }
    }
    daemons.clear();
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running or ran
    }
  }

  static void deleteQuietly(Path p) {
    try (var s = Files.walk(p)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // best effort
    }
  }
}
