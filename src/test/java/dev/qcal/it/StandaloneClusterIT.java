package dev.qcal.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.jobs.FaultHooks;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.spark.ExecutorLostFailure;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The calibrate job on a real standalone cluster (Master, Worker and two executor JVMs from
 * {@code target/spark-home}, the shaded job jar shipped with {@code spark.jars}) gives the same
 * {@code qparams.json} bytes as {@code local[2]}, also when an executor JVM is SIGKILLed while its
 * tasks run.
 */
class StandaloneClusterIT {
  @TempDir static Path tmp;
  static byte[] localQparams;
  static StandaloneCluster cluster;
  static SparkSession spark;

  static Cli calibrate(Path out) {
    return Cli.run("calibrate", "--model", ExampleData.MODEL.toString(),
        "--data", ExampleData.calibration().resolve("x").toString(), "--out", out.toString());
  }

  @BeforeAll
  static void localRunThenCluster() throws Exception {
    SharedSpark.session();
    try {
      Cli local = calibrate(tmp.resolve("local"));
      assertEquals(0, local.code(), local.err());
      localQparams = Files.readAllBytes(tmp.resolve("local/qparams.json"));
    } finally {
      SharedSpark.stop();
    }
    long t = System.nanoTime();
    // 2 cores for this test's application, 1 for the one scripts/submit starts
    cluster = StandaloneCluster.start(3, "3g");
    System.out.printf("standalone Master + Worker up in %.1f s%n", (System.nanoTime() - t) / 1e9);
    String jar = System.getProperty("qcal.it.jar");
    assertTrue(jar != null && Files.isRegularFile(Path.of(jar)), "shaded jar " + jar + " (run through mvn verify)");
    spark = SparkSession.builder()
        .master(cluster.masterUrl)
        .appName("qcal-it-standalone")
        .config("spark.jars", jar) // a driver outside SparkSubmit ships the job jar itself
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.executor.cores", "1")
        .config("spark.cores.max", "2")
        .config("spark.executor.memory", "768m")
        .config("spark.task.maxFailures", "4")
        .getOrCreate();
    waitForExecutors(2);
  }

  @AfterAll
  static void stop() {
    try {
      if (spark != null) {
        spark.stop();
      }
      SparkSession.clearActiveSession();
      SparkSession.clearDefaultSession();
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }

  static void waitForExecutors(int n) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    // the driver is listed among the executor infos too
    while (spark.sparkContext().statusTracker().getExecutorInfos().length < n + 1) {
      assertTrue(System.nanoTime() < end, "timed out waiting for " + n + " executors; logs in " + cluster.logs);
      Thread.sleep(100);
    }
  }

  @Test
  void twoExecutorJvmsGiveTheLocalBytes() throws Exception {
    assertEquals(2, cluster.executors().size(), "two executor JVMs");
    Set<String> ranOn = ConcurrentHashMap.newKeySet();
    SparkListener listener = new SparkListener() {
      @Override
      public void onTaskEnd(SparkListenerTaskEnd task) {
        ranOn.add(task.taskInfo().executorId());
      }
    };
    spark.sparkContext().addSparkListener(listener);
    long t = System.nanoTime();
    Path out = tmp.resolve("cluster");
    Cli r;
    try {
      r = calibrate(out);
      spark.sparkContext().listenerBus().waitUntilEmpty(); // listener events arrive asynchronously
    } finally {
      spark.sparkContext().removeSparkListener(listener);
    }
    assertEquals(0, r.code(), r.err());
    assertEquals(2, ranOn.size(), "tasks ran in both executor JVMs: " + ranOn);
    System.out.printf("calibrate on the standalone cluster (2 executor JVMs): %.1f s%n", (System.nanoTime() - t) / 1e9);
    assertArrayEquals(localQparams, Files.readAllBytes(out.resolve("qparams.json")));
    var run = new ObjectMapper().readTree(out.resolve("run.json").toFile());
    assertEquals(cluster.masterUrl, run.get("spark_master").asText());
    assertTrue(run.get("spark_application_id").asText().startsWith("app-"), run.toString());
  }

  @Test
  void scriptsSubmitRunsTheShadedJarUnderSparkSubmit() throws Exception {
    Path out = tmp.resolve("submitted");
    Path log = cluster.logs.resolve("submit.log");
    List<String> cmd = new ArrayList<>(List.of("scripts/submit", "jobs/example-calibrate.properties",
        "--conf", "spark.master=" + cluster.masterUrl,
        "--conf", "spark.qcal.calibrate.data=" + ExampleData.calibration().resolve("x"),
        "--conf", "spark.qcal.calibrate.out=" + out,
        "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
        "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.memory=1g",
        "--conf", "spark.cores.max=1", "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=512m",
        // a cluster-wide Kryo setting: qcal's records would fail under Kryo, so it runs on Java serialization
        "--conf", "spark.serializer=org.apache.spark.serializer.KryoSerializer"));
    long t = System.nanoTime();
    assertEquals(0, runSubmit(cmd, log), "scripts/submit failed; see " + log);
    assertTrue(Files.readString(log).contains(
        "spark.serializer org.apache.spark.serializer.KryoSerializer replaced by org.apache.spark.serializer.JavaSerializer"),
        "see " + log);
    System.out.printf("scripts/submit on the standalone cluster: %.1f s%n", (System.nanoTime() - t) / 1e9);
    assertArrayEquals(localQparams, Files.readAllBytes(out.resolve("qparams.json")));
    assertEquals(cluster.masterUrl,
        new ObjectMapper().readTree(out.resolve("run.json").toFile()).get("spark_master").asText());

    // a misspelt setting is a usage error (exit 2) that reaches the scheduler through spark-submit
    cmd.addAll(List.of("--conf", "spark.qcal.calibrate.bacth-size=8", "--", "--overwrite"));
    assertEquals(2, runSubmit(cmd, log), "see " + log);
    assertTrue(Files.readString(log).contains("unknown Spark setting 'spark.qcal.calibrate.bacth-size'"));
  }

  private static int runSubmit(List<String> cmd, Path log) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_HOME", cluster.sparkHome.toString());
    pb.environment().put("QCAL_JAR", System.getProperty("qcal.it.jar"));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process p = pb.start();
    try {
      assertTrue(p.waitFor(180, TimeUnit.SECONDS), "spark-submit timed out; see " + log);
      return p.exitValue();
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  @Test
  void killingAnExecutorJvmWhileItsTasksRunChangesNothing() throws Exception {
    waitForExecutors(2);
    Set<Long> observeJobs = ConcurrentHashMap.newKeySet();
    Set<Integer> observeStages = ConcurrentHashMap.newKeySet();
    Set<String> lostTasksOn = ConcurrentHashMap.newKeySet();
    Set<String> removed = ConcurrentHashMap.newKeySet();
    CountDownLatch started = new CountDownLatch(1);
    String[] victim = new String[1];
    SparkListener listener = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart job) {
        if ("qcal-observe".equals(job.properties().getProperty("spark.jobGroup.id"))) {
          observeJobs.add((long) job.jobId());
          for (Object s : scala.jdk.javaapi.CollectionConverters.asJava(job.stageIds())) {
            observeStages.add((Integer) s);
          }
        }
      }

      @Override
      public void onTaskStart(SparkListenerTaskStart task) {
        if (observeStages.contains(task.stageId()) && victim[0] == null) {
          victim[0] = task.taskInfo().executorId();
          started.countDown();
        }
      }

      @Override
      public void onTaskEnd(SparkListenerTaskEnd task) {
        if (task.reason() instanceof ExecutorLostFailure lost) {
          lostTasksOn.add(lost.execId());
        }
      }

      @Override
      public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
        removed.add(e.executorId());
      }
    };
    spark.sparkContext().addSparkListener(listener);
    // 64 samples per task at 25 ms each: tasks run for seconds, long enough to be killed mid-way
    spark.sparkContext().conf().set(FaultHooks.SLOW_SAMPLE_MILLIS, "25");
    Thread killer = new Thread(() -> {
      try {
        if (started.await(120, TimeUnit.SECONDS)) {
          Thread.sleep(500);
          cluster.executor(victim[0]).ifPresent(p -> {
            System.out.println("SIGKILL executor " + victim[0] + " (pid " + p.pid() + ")");
            p.destroyForcibly();
          });
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "qcal-it-killer");
    killer.start();
    try {
      Path out = tmp.resolve("killed");
      long t = System.nanoTime();
      Cli r = calibrate(out);
      assertEquals(0, r.code(), r.err());
      System.out.printf("calibrate with an executor JVM killed: %.1f s%n", (System.nanoTime() - t) / 1e9);
      killer.join(TimeUnit.SECONDS.toMillis(10));
      spark.sparkContext().listenerBus().waitUntilEmpty(); // listener events arrive asynchronously
      assertTrue(victim[0] != null, "an observe task started");
      assertTrue(removed.contains(victim[0]), "executor " + victim[0] + " was lost; removed: " + removed);
      assertEquals(Set.of(victim[0]), lostTasksOn, "its running tasks failed with it and were rerun elsewhere");
      assertArrayEquals(localQparams, Files.readAllBytes(out.resolve("qparams.json")));
    } finally {
      killer.interrupt();
      spark.sparkContext().conf().remove(FaultHooks.SLOW_SAMPLE_MILLIS);
      spark.sparkContext().removeSparkListener(listener);
    }
    assertEquals(1, observeJobs.size());
  }
}
