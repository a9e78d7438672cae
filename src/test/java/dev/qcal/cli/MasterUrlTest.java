package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --master is checked before Spark starts: its form, and that a standalone master answers. */
class MasterUrlTest {
  @TempDir Path tmp;

  @Test
  void acceptsTheFormsSparkParses() {
    for (String m : List.of("local", "local[1]", "local[*]", "local[4,2]", "local[*, 3]", "local-cluster[2,1,1024]",
        "spark://h:7077", "spark://h1:7077,h2:7077", "yarn", "k8s://https://host:6443")) {
      MasterUrl.checkForm(m);
    }
  }

  @Test
  void refusesOtherForms() {
    for (String m : List.of("garbage://x", "local[0]", "local[]", "local[2,0]", "local-cluster[0,1,1024]", "spark://h",
        "spark://h:0", "spark://h:99999", "spark://", "mesos://h:5050", "local[ 2 ]", "k8s://", "LOCAL", "local[99999999999]")) {
      UsageException e = assertThrows(UsageException.class, () -> MasterUrl.checkForm(m), m);
      assertTrue(e.getMessage().startsWith("--master " + m + ": "), e.getMessage());
    }
  }

  private Cli calibrate(String master) {
    return Cli.run("calibrate", "--model", ExampleData.MODEL.toString(), "--data", ExampleData.small().resolve("x").toString(),
        "--out", tmp.resolve("out").toString(), "--master", master);
  }

  @Test
  void garbageMasterIsBadInputNamingTheForms() {
    Cli r = calibrate("garbage://x");
    r.assertBadInput(tmp.resolve("out"), "--master garbage://x: not a Spark master URL; expected local, local[N]",
        "spark://HOST:PORT", "yarn");
    assertEquals(1, r.err().lines().count(), r.err());
  }

  @Test
  void noThreadsIsBadInput() {
    Cli r = calibrate("local[0]");
    r.assertBadInput(tmp.resolve("out"), "--master local[0]: N, the number of threads, must be in [1, 999999999], got 0");
    assertEquals(1, r.err().lines().count(), r.err());
  }

  @Test
  void unreachableStandaloneMasterIsBadInput() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // free once closed: nothing listens there
    }
    String master = "spark://127.0.0.1:" + port;
    Cli r = calibrate(master);
    r.assertBadInput(tmp.resolve("out"), "--master " + master + ": cannot reach the Spark master (127.0.0.1:" + port
        + ": ConnectException: Connection refused");
    assertEquals(1, r.err().lines().count(), r.err());
    Cli eval = Cli.run("evaluate", "--fp32", ExampleData.MODEL.toString(), "--quantized", ExampleData.MODEL.toString(),
        "--data", ExampleData.small().resolve("x").toString(), "--out", tmp.resolve("out").toString(), "--master", master);
    eval.assertBadInput(tmp.resolve("out"), "--master " + master + ": cannot reach the Spark master");
  }

  @Test
  void listeningStandaloneMasterPassesTheProbe() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      MasterUrl.probe("spark://127.0.0.1:1,127.0.0.1:" + s.getLocalPort());
    }
  }
}
