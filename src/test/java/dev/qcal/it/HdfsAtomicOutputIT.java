package dev.qcal.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.AtomicOutputContract;
import dev.qcal.jobs.FaultHooks;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.ReportFixtures;
import dev.qcal.testing.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Atomic outputs on HDFS (an in-process MiniDFSCluster): the {@link AtomicOutputContract} (failed
 * and SIGKILLed publishes keep the previous output) and the calibrate command writing to
 * {@code hdfs://}: refuses an existing output, keeps it when the write fails midway, replaces it
 * with {@code --overwrite}; an {@code hdfs://} output overlapping an {@code hdfs://} input is refused.
 */
class HdfsAtomicOutputIT extends AtomicOutputContract {
  private static MiniDFSCluster dfs;
  private static Path base;
  private static int n;

  @BeforeAll
  static void startHdfs() throws IOException {
    base = Files.createTempDirectory("qcal-minidfs-");
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
    conf.setInt("dfs.replication", 1);
    dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    dfs.waitActive();
  }

  @AfterAll
  static void stopHdfs() {
    if (dfs != null) {
      dfs.shutdown(true);
    }
    SharedSpark.stop();
  }

  static String uri(String path) {
    return dfs.getURI().toString() + path;
  }

  @Override
  protected String freshDir() throws IOException {
    String d = uri("/contract/d" + n++);
    dfs.getFileSystem().mkdirs(new org.apache.hadoop.fs.Path(d));
    return d;
  }

  private static byte[] bytes(String file) throws IOException {
    try (var in = dfs.getFileSystem().open(new org.apache.hadoop.fs.Path(file))) {
      return in.readAllBytes();
    }
  }

  private static List<String> successMarkersUnder(String dir) throws IOException {
    List<String> found = new ArrayList<>();
    FileSystem fs = dfs.getFileSystem();
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(new org.apache.hadoop.fs.Path(dir), true);
    while (it.hasNext()) {
      org.apache.hadoop.fs.Path p = it.next().getPath();
      if (p.getName().equals(AtomicOutput.SUCCESS)) {
        found.add(p.getParent().getName());
      }
    }
    return found;
  }

  private static Cli calibrate(String out, String... more) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--data", ExampleData.small().resolve("x").toString(), "--out", out));
    args.addAll(List.of(more));
    return Cli.run(args.toArray(String[]::new));
  }

  @Test
  void anOutputOverlappingAnInputOnHdfsIsRefused() throws Exception {
    Path local = Files.createTempDirectory("qcal-run-");
    ReportFixtures.writeRun(local.resolve("run"), 3, 64);
    String dir = uri("/overlap");
    FileSystem fs = dfs.getFileSystem();
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(local.resolve("run").toUri()), new org.apache.hadoop.fs.Path(dir + "/run"));
    long before = fs.getContentSummary(new org.apache.hadoop.fs.Path(dir)).getLength();
    String run = dir + "/run";
    for (String out : List.of(run, run + "/stats/../report", dir, dir + "/x/../run")) {
      Cli r = Cli.run("report", "--run", run, "--out", out, "--overwrite");
      assertEquals(2, r.code(), out + ": " + r.err());
      assertTrue(r.errorLine().contains("--out " + out) && r.errorLine().contains("the input --run " + run),
          r.errorLine());
    }
    assertEquals(before, fs.getContentSummary(new org.apache.hadoop.fs.Path(dir)).getLength());
    assertEquals(List.of("run"), java.util.Arrays.stream(fs.listStatus(new org.apache.hadoop.fs.Path(dir)))
        .map(s -> s.getPath().getName()).toList());
    Cli ok = Cli.run("report", "--run", run, "--out", dir + "/report");
    assertEquals(0, ok.code(), ok.err());
  }

  @Test
  void calibrateWritesToHdfsAtomically() throws Exception {
    SparkSession spark = SharedSpark.session();
    String dir = uri("/jobs");
    String out = dir + "/example";
    Cli first = calibrate(out);
    assertEquals(0, first.code(), first.err());
    assertTrue(first.out().contains(out), first.out());
    byte[] qparams = bytes(out + "/qparams.json");
    var run = new ObjectMapper().readTree(bytes(out + "/run.json"));
    assertEquals(out, run.get("out").asText());
    assertEquals(40, run.get("samples").asLong());

    Cli again = calibrate(out);
    assertEquals(2, again.code(), again.err());
    assertTrue(again.errorLine().contains("output already exists (use --overwrite"), again.err());

    // the write dies after qparams.json reached HDFS: the previous output stays, nothing else has _SUCCESS
    spark.sparkContext().conf().set(FaultHooks.FAIL_WRITE_AFTER, "qparams.json");
    try {
      Cli failed = calibrate(out, "--overwrite", "--batch-size", "3");
      assertEquals(3, failed.code(), failed.err());
      assertTrue(failed.err().contains("injected failure after writing qparams.json"), failed.err());
    } finally {
      spark.sparkContext().conf().remove(FaultHooks.FAIL_WRITE_AFTER);
    }
    assertArrayEquals(qparams, bytes(out + "/qparams.json"));
    assertEquals(List.of("example"), successMarkersUnder(dir));
    assertEquals(1, dfs.getFileSystem().listStatus(new org.apache.hadoop.fs.Path(dir)).length,
        "the failed run removed its temporary sibling");

    Cli replaced = calibrate(out, "--overwrite", "--batch-size", "3");
    assertEquals(0, replaced.code(), replaced.err());
    var run2 = new ObjectMapper().readTree(bytes(out + "/run.json"));
    assertEquals(3, run2.get("batch_size").asInt());
    assertArrayEquals(qparams, bytes(out + "/qparams.json"), "batch size never changes a statistic");
    assertEquals(List.of("example"), successMarkersUnder(dir));
    assertFalse(dfs.getFileSystem().exists(new org.apache.hadoop.fs.Path(out + "/.crc")));
  }
}
