package dev.qcal.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Checks a {@code --master} URL before Spark starts: its form, and that a standalone master answers. */
final class MasterUrl {
  /** How long the probe of a standalone master waits for a TCP connection. */
  static final int PROBE_TIMEOUT_MILLIS = 5000;

  static final String FORMS = "local, local[N], local[*], local[N,F], local-cluster[N,C,M], spark://HOST:PORT[,HOST:PORT...],"
      + " yarn or k8s://URL";

  // the forms SparkContext.createTaskScheduler parses (Spark 4 has no Mesos)
  private static final Pattern LOCAL_N = Pattern.compile("local\\[([0-9]+|\\*)(?:\\s*,\\s*([0-9]+))?]");
  private static final Pattern LOCAL_CLUSTER = Pattern.compile("local-cluster\\[\\s*([0-9]+)\\s*,\\s*([0-9]+)\\s*,\\s*([0-9]+)\\s*]");
  private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9a-fA-F:.]+]|[^:\\[\\]/]+):([0-9]{1,5})");

  private MasterUrl() {}

  /** Refuses a malformed master URL and an unreachable standalone master; null (no --master) passes. */
  static void check(String master) {
    checkForm(master);
    if (master != null && master.startsWith("spark://")) {
      probe(master);
    }
  }

  /** Refuses a master URL Spark would not parse, or one asking for no threads or workers. */
  static void checkForm(String master) {
    if (master == null || master.equals("local") || master.equals("yarn")) {
      return;
    }
    Matcher m = LOCAL_N.matcher(master);
    if (m.matches()) {
      if (!m.group(1).equals("*")) {
        requirePositive(master, m.group(1), "N, the number of threads,");
      }
      if (m.group(2) != null) {
        requirePositive(master, m.group(2), "F, the number of task attempts,");
      }
      return;
    }
    m = LOCAL_CLUSTER.matcher(master);
    if (m.matches()) {
      requirePositive(master, m.group(1), "N, the number of workers,");
      requirePositive(master, m.group(2), "C, the cores per worker,");
      requirePositive(master, m.group(3), "M, the MiB of memory per worker,");
      return;
    }
    if (master.startsWith("spark://")) {
      for (String hp : master.substring("spark://".length()).split(",", -1)) {
        Matcher h = HOST_PORT.matcher(hp);
        if (!h.matches() || Integer.parseInt(h.group(2)) < 1 || Integer.parseInt(h.group(2)) > 65535) {
          throw new UsageException("--master " + master + ": '" + hp + "' is not HOST:PORT (a port in [1, 65535])");
        }
      }
      return;
    }
    if (master.startsWith("k8s://") && master.length() > "k8s://".length()) {
      return;
    }
    throw new UsageException("--master " + master + ": not a Spark master URL; expected " + FORMS);
  }

  private static void requirePositive(String master, String value, String what) {
    if (value.length() > 9 || Integer.parseInt(value) < 1) {
      throw new UsageException("--master " + master + ": " + what + " must be in [1, 999999999], got " + value);
    }
  }

  /**
   * Opens (and closes) a TCP connection to each master of a standalone URL; refuses the URL when none
   * answers within {@link #PROBE_TIMEOUT_MILLIS}. Spark itself would retry registering for about a minute
   * and then fail with no word of the master.
   */
  static void probe(String master) {
    StringBuilder why = new StringBuilder();
    for (String hp : master.substring("spark://".length()).split(",")) {
      Matcher h = HOST_PORT.matcher(hp);
      h.matches();
      String host = h.group(1).replaceAll("^\\[|]$", "");
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(host, Integer.parseInt(h.group(2))), PROBE_TIMEOUT_MILLIS);
        return;
      } catch (IOException e) {
        why.append(why.length() == 0 ? "" : "; ").append(hp).append(": ").append(Main.failure(e));
      }
    }
    throw new UsageException("--master " + master + ": cannot reach the Spark master (" + why + ")");
  }
}
