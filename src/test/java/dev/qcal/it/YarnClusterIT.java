package dev.qcal.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.resourcemanager.rmapp.RMApp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scripts/submit} runs the example calibrate job on YARN in cluster deploy mode: a
 * MiniYARNCluster (ResourceManager and one NodeManager, hadoop-client-minicluster) and a MiniDFSCluster
 * in this JVM, the data and the output on HDFS, Spark's YARN module in the test SPARK_HOME. The driver
 * runs in the application master's container, the model is shipped with {@code --files}, one executor
 * container runs the tasks; {@code quantized.onnx} equals a local run's bytes, {@code qparams.json} too
 * but for the model path it records (the shipped file's name on YARN).
 */
class YarnClusterIT {
  @TempDir static Path tmp;
  static byte[] localQparams;
  static byte[] localQuantized;
  static MiniDFSCluster dfs;
  static MiniYARNCluster yarn;
  static Path confDir;

  @BeforeAll
  static void localRunThenClusters() throws Exception {
    Path local = tmp.resolve("local");
    SharedSpark.session();
    try {
      // the job file's options (batch size 16), on local[2]
      Cli r = Cli.run("calibrate", "--model", ExampleData.MODEL.toString(),
          "--data", ExampleData.small().resolve("x").toString(), "--out", local.toString(), "--batch-size", "16");
      assertEquals(0, r.code(), r.err());
    } finally {
      SharedSpark.stop();
    }
    localQparams = Files.readAllBytes(local.resolve("qparams.json"));
    localQuantized = Files.readAllBytes(local.resolve("quantized.onnx"));

    long t = System.nanoTime();
    Configuration hdfsConf = new Configuration();
    hdfsConf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("dfs").toString());
    hdfsConf.setInt("dfs.replication", 1);
    dfs = new MiniDFSCluster.Builder(hdfsConf).numDataNodes(1).build();
    dfs.waitActive();

    YarnConfiguration conf = new YarnConfiguration();
    conf.set("fs.defaultFS", dfs.getURI().toString());
    // one NodeManager with room for the application master (driver 1g + 384m overhead) and one
    // executor (1g + 384m), in 256 MB steps
    conf.setInt(YarnConfiguration.NM_PMEM_MB, 4096);
    conf.setInt(YarnConfiguration.NM_VCORES, 2);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 256);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, 4096);
    // the JVMs reserve far more virtual memory than they use; physical memory stays checked
    conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    // a full shared disk must not mark the node unhealthy
    conf.setFloat(YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 100.0f);
    conf.setLong(YarnConfiguration.NM_MIN_PER_DISK_FREE_SPACE_MB, 0);
    // the capacity scheduler's queues (hadoop-client-minicluster has no capacity-scheduler.xml)
    conf.set("yarn.scheduler.capacity.root.queues", "default");
    conf.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
    conf.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
    conf.setFloat("yarn.scheduler.capacity.root.default.user-limit-factor", 1);
    conf.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
    conf.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
    conf.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
    conf.setFloat("yarn.scheduler.capacity.maximum-am-resource-percent", 0.5f);
    conf.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
    conf.set(YarnConfiguration.RM_HOSTNAME, "127.0.0.1");
    yarn = new MiniYARNCluster(YarnClusterIT.class.getSimpleName(), 1, 1, 1);
    yarn.init(conf);
    yarn.start();
    assertTrue(yarn.waitForNodeManagersToConnect(60_000), "the NodeManager registered");
    // start() can return before the ResourceManager wrote its bound port into the configuration
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (yarn.getConfig().get(YarnConfiguration.RM_ADDRESS).endsWith(":0")) {
      assertTrue(System.nanoTime() < end, "the ResourceManager published its address");
      Thread.sleep(100);
    }
    System.out.printf("MiniDFSCluster + MiniYARNCluster up in %.1f s%n", (System.nanoTime() - t) / 1e9);

    // what spark-submit reads from HADOOP_CONF_DIR / YARN_CONF_DIR and ships to the containers
    confDir = Files.createDirectories(tmp.resolve("hadoop-conf"));
    Configuration core = new Configuration(false);
    core.set("fs.defaultFS", dfs.getURI().toString());
    try (OutputStream out = Files.newOutputStream(confDir.resolve("core-site.xml"))) {
      core.writeXml(out);
    }
    try (OutputStream out = Files.newOutputStream(confDir.resolve("yarn-site.xml"))) {
      yarn.getConfig().writeXml(out);
    }

    FileSystem fs = dfs.getFileSystem();
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(ExampleData.small().resolve("x").toUri()),
        new org.apache.hadoop.fs.Path("/data/x"));
  }

  @AfterAll
  static void stop() {
    try {
      if (yarn != null) {
        yarn.stop();
      }
    } finally {
      if (dfs != null) {
        dfs.shutdown(true);
      }
    }
  }

  private static byte[] hdfsBytes(String path) throws IOException {
    try (var in = dfs.getFileSystem().open(new org.apache.hadoop.fs.Path(path))) {
      return in.readAllBytes();
    }
  }

  @Test
  void clusterModeOnYarnGivesTheLocalBytes() throws Exception {
    String hdfs = dfs.getURI().toString();
    String out = hdfs + "/jobs/example";
    Path sparkHome = StandaloneCluster.sparkHome();
    String javaHome = System.getProperty("java.home");
    Path log = yarn.getTestWorkDir().toPath().resolve("submit.log");
    List<String> cmd = List.of("scripts/submit", "jobs/example-calibrate.properties",
        "--conf", "spark.master=yarn", "--conf", "spark.submit.deployMode=cluster",
        "--conf", "spark.qcal.calibrate.data=" + hdfs + "/data/x",
        "--conf", "spark.qcal.calibrate.out=" + out,
        // the AM container runs the driver; one executor container with one core
        "--conf", "spark.driver.memory=1g", "--conf", "spark.executor.memory=1g",
        "--conf", "spark.executor.instances=1", "--conf", "spark.executor.cores=1",
        // the node has Spark installed: containers take its jars from there instead of an upload
        "--conf", "spark.yarn.jars=local:" + sparkHome.resolve("jars") + "/*",
        "--conf", "spark.yarn.appMasterEnv.JAVA_HOME=" + javaHome,
        "--conf", "spark.executorEnv.JAVA_HOME=" + javaHome,
        "--conf", "spark.ui.enabled=false");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("QCAL_JAR", System.getProperty("qcal.it.jar"));
    pb.environment().put("JAVA_HOME", javaHome);
    pb.environment().put("HADOOP_CONF_DIR", confDir.toString());
    pb.environment().put("YARN_CONF_DIR", confDir.toString());
    String where = "see " + log + " and the container logs under " + yarn.getTestWorkDir();
    long t = System.nanoTime();
    Process p = pb.start();
    try {
      assertTrue(p.waitFor(420, TimeUnit.SECONDS), "spark-submit timed out; " + where);
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    assertEquals(0, p.exitValue(), "scripts/submit failed; " + where);
    System.out.printf("scripts/submit, YARN cluster mode: %.1f s%n", (System.nanoTime() - t) / 1e9);
    assertTrue(Files.readString(log).contains("--deploy-mode cluster"), where);

    // one Spark application, run to success by the ResourceManager, wrote the output
    List<RMApp> apps = List.copyOf(yarn.getResourceManager().getRMContext().getRMApps().values());
    assertEquals(1, apps.size(), apps.toString());
    RMApp app = apps.get(0);
    assertEquals("SPARK", app.getApplicationType());
    assertEquals(FinalApplicationStatus.SUCCEEDED, app.getFinalApplicationStatus(), where);
    assertEquals(1, app.getAppAttempts().size(), "YARN ran the driver once; " + where);
    JsonNode run = new ObjectMapper().readTree(hdfsBytes(out + "/run.json"));
    assertEquals("yarn", run.get("spark_master").asText());
    assertEquals(app.getApplicationId().toString(), run.get("spark_application_id").asText());
    assertEquals(40, run.get("samples").asLong());

    // qparams.json records the model path the driver opened: on YARN the shipped file's name
    String shipped = ExampleData.MODEL.getFileName().toString();
    String yarnQparams = new String(hdfsBytes(out + "/qparams.json"), StandardCharsets.UTF_8);
    assertEquals(shipped, new ObjectMapper().readTree(yarnQparams).at("/model/path").asText());
    String given = "\"" + ExampleData.MODEL + "\"";
    String local = new String(localQparams, StandardCharsets.UTF_8);
    assertEquals(local.indexOf(given), local.lastIndexOf(given), "the model path appears once");
    assertTrue(local.contains(given), local.substring(0, 300));
    assertEquals(local.replace(given, "\"" + shipped + "\""), yarnQparams,
        "qparams.json, YARN vs local[2], but for the model path");
    assertArrayEquals(localQuantized, hdfsBytes(out + "/quantized.onnx"), "quantized.onnx, YARN vs local[2]");
    assertTrue(dfs.getFileSystem().exists(new org.apache.hadoop.fs.Path(out + "/_SUCCESS")));
  }
}
