package dev.qcal.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Whole runs, as a user starts them: {@code scripts/qcal calibrate} on the example model over N rendered text
 * lines, one process per run, and ONNX Runtime's Python {@code quantize_static} on the same model and
 * {@code .npy} files where a Python with onnxruntime exists. Run by {@code scripts/bench end-to-end}.
 *
 * <p>Per N and method it prints where a qcal run's wall time goes (from the run's {@code run.json}: the JVM's
 * start up to the Spark session, the session's start, each stage, the report; the rest of the process's wall
 * time, measured here, is the session's stop and the JVM's exit) and peak RSS (the process's {@code VmHWM},
 * read every 20 ms), then qcal against ONNX Runtime: wall seconds and peak RSS of both processes, measured the
 * same way, in one run, and their ratio.
 *
 * <p>Arguments: {@code [--samples 128,512,4096] [--methods minmax,minmax-nohist,entropy] [--master local[2]] [--rounds 1]
 * [--python PYTHON|none] [--dir DIR]}. The data ({@code qcal example-data --count N --seed 1}) is made once per
 * N under {@code --dir} (default {@code target/bench-e2e}). {@code --python} defaults to
 * {@code $QCAL_ORT_PYTHON}, else {@code python3}; when it cannot import {@code onnxruntime.quantization} the
 * peer columns say so. With {@code --rounds R} each run is repeated R times, interleaved, and the fastest wall
 * time of each is kept. One untimed run of each comes first (after a build it records the launcher's class
 * archive, see scripts/qcal).
 *
 * <p>Method {@code minmax-nohist} is {@code --method minmax --histogram-bins 0}: min/max only, reduced inside ONNX
 * Runtime, as ONNX Runtime's own MinMax calibrator collects (qcal's default {@code minmax} also builds every
 * activation's histogram, for the report and for choosing another method later with {@code qcal quantize}); its
 * peer is ONNX Runtime's minmax.
 */
public final class EndToEndBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODEL = "examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx";

  private EndToEndBench() {}

  /** One process: its wall seconds, peak RSS in MB, what it printed and its exit code. */
  record Proc(double seconds, double peakMb, String output, int exit) {}

  /** One qcal run: the process and its run.json. */
  record QcalRun(Proc proc, JsonNode run) {}

  public static void main(String[] args) throws Exception {
    List<Integer> samples = List.of(128, 512, 4096);
    List<String> methods = List.of("minmax", "minmax-nohist", "entropy");
    String master = "local[2]";
    int rounds = 1;
    String python = System.getenv().getOrDefault("QCAL_ORT_PYTHON", "python3");
    Path dir = Path.of("target/bench-e2e");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--samples" -> samples = ints(args[++i]);
        case "--methods" -> methods = List.of(args[++i].split(","));
        case "--master" -> master = args[++i];
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--python" -> python = args[++i];
        case "--dir" -> dir = Path.of(args[++i]);
        default -> throw new IllegalArgumentException("end-to-end: unknown argument " + args[i] + "; usage: [--samples"
            + " 128,512,4096] [--methods minmax,minmax-nohist,entropy] [--master local[2]] [--rounds R] [--python P|none]"
            + " [--dir D]");
      }
    }
    Files.createDirectories(dir);
    String peer = peerProblem(python);
    System.out.printf(Locale.ROOT, "end-to-end: the example model, %s, %d core(s), rounds %d (fastest kept); peer: %s%n",
        master, Runtime.getRuntime().availableProcessors(), rounds,
        peer == null ? python + " with onnxruntime " + ortVersion(python) : "none (" + peer + ")");
    // untimed: records the launcher's class archive after a build (target/cds) and warms the OS file cache
    qcal(dir, data(dir, samples.get(0)), methods.get(0), master);
    if (peer == null) {
      ort(python, dir, data(dir, samples.get(0)), methods.get(0));
    }
    Map<String, QcalRun> qcal = new LinkedHashMap<>();
    Map<String, Proc> ort = new LinkedHashMap<>();
    for (int n : samples) {
      Path data = data(dir, n);
      for (String m : methods) {
        String key = n + " " + m;
        for (int r = 0; r < rounds; r++) {
          QcalRun q = qcal(dir, data, m, master);
          if (!qcal.containsKey(key) || q.proc().seconds() < qcal.get(key).proc().seconds()) {
            qcal.put(key, q);
          }
          if (peer == null) {
            Proc o = ort(python, dir, data, m);
            if (!ort.containsKey(key) || ort.get(key).exit() != 0 || o.exit() == 0 && o.seconds() < ort.get(key).seconds()) {
              ort.put(key, o);
            }
          }
        }
      }
    }
    printBreakdown(qcal);
    printPeer(qcal, ort, peer);
  }

  private static List<Integer> ints(String csv) {
    List<Integer> l = new ArrayList<>();
    for (String s : csv.split(",")) {
      l.add(Integer.parseInt(s.trim()));
    }
    return l;
  }

  /** The example's rendered lines, N of them, made once. */
  private static Path data(Path dir, int n) throws IOException, InterruptedException {
    Path d = dir.resolve("data-" + n);
    if (!Files.exists(d.resolve("_SUCCESS"))) {
      Proc p = run(List.of("scripts/qcal", "example-data", "--out", d.toString(), "--count", Integer.toString(n),
          "--seed", "1"));
      if (!Files.exists(d.resolve("_SUCCESS"))) {
        throw new IllegalStateException("example-data failed:\n" + p.output());
      }
    }
    return d.resolve("x");
  }

  private static QcalRun qcal(Path dir, Path data, String method, String master) throws Exception {
    Path out = dir.resolve("out-qcal");
    List<String> cmd = new ArrayList<>(List.of("scripts/qcal", "calibrate", "--model", MODEL, "--data",
        data.toString(), "--out", out.toString(), "--overwrite", "--method", qcalMethod(method), "--master", master));
    if (method.endsWith(NO_HIST)) {
      cmd.addAll(List.of("--histogram-bins", "0"));
    }
    Proc p = run(cmd);
    if (!Files.exists(out.resolve("_SUCCESS"))) {
      throw new IllegalStateException("calibrate failed:\n" + p.output());
    }
    return new QcalRun(p, JSON.readTree(out.resolve("run.json").toFile()));
  }

  private static Proc ort(String python, Path dir, Path data, String method) throws Exception {
    Path out = dir.resolve("out-ort.onnx");
    // a failure is a figure too: ONNX Runtime's histogram calibrators keep every batch's outputs in memory
    return run(List.of(python, "scripts/bench-ort-quantize.py", MODEL, data.toString(), out.toString(), "--input",
        "x", "--method", qcalMethod(method), "--pre-process"), false);
  }

  private static final String NO_HIST = "-nohist";

  /** The range method of a bench method name ({@code minmax-nohist}: minmax). */
  private static String qcalMethod(String method) {
    return method.endsWith(NO_HIST) ? method.substring(0, method.length() - NO_HIST.length()) : method;
  }

  /** Why the peer cannot run, or null when {@code python} imports onnxruntime.quantization. */
  private static String peerProblem(String python) {
    if (python.equals("none")) {
      return "--python none";
    }
    try {
      Proc p = run(List.of(python, "-c", "import onnxruntime.quantization, numpy"));
      return p.output().isBlank() ? null : python + " cannot import onnxruntime.quantization (set QCAL_ORT_PYTHON)";
    } catch (IOException | InterruptedException e) {
      return "no " + python + " (set QCAL_ORT_PYTHON)";
    }
  }

  private static String ortVersion(String python) throws IOException, InterruptedException {
    return run(List.of(python, "-c", "import onnxruntime; print(onnxruntime.__version__)")).output().trim();
  }

  /** Runs a process to its end, polling its peak RSS; fails on a non-zero exit. */
  static Proc run(List<String> cmd) throws IOException, InterruptedException {
    return run(cmd, true);
  }

  /** Runs a process to its end, polling its peak RSS; with {@code strict}, fails on a non-zero exit. */
  static Proc run(List<String> cmd, boolean strict) throws IOException, InterruptedException {
    Path log = Files.createTempFile("qcal-bench-e2e-", ".log");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
      long t = System.nanoTime();
      Process p = pb.start();
      Path status = Path.of("/proc", Long.toString(p.pid()), "status");
      double peakKb = 0;
      while (!p.waitFor(20, TimeUnit.MILLISECONDS)) {
        peakKb = Math.max(peakKb, hwmKb(status));
      }
      double seconds = (System.nanoTime() - t) / 1e9;
      String out = Files.readString(log);
      if (strict && p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue() + ":\n" + out);
      }
      return new Proc(seconds, peakKb / 1024, out, p.exitValue());
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static double hwmKb(Path status) {
    try {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("VmHWM:")) {
          return Double.parseDouble(line.substring(6).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException gone) {
      // the process ended between the poll and the read
    }
    return 0;
  }

  private static final List<String> STAGES = List.of("prepare", "observe_and_reduce", "choose_ranges_and_quantize",
      "write");
  /** The report's own time, which run.json cannot hold (the report renders run.json): its log line. */
  private static final java.util.regex.Pattern REPORT = java.util.regex.Pattern.compile(
      "Wrote report.html \\(\\d+ bytes\\) in ([0-9.Ee-]+) s");

  private static void printBreakdown(Map<String, QcalRun> runs) {
    System.out.println();
    System.out.println("qcal calibrate, where the wall time goes (seconds; run.json's startup_seconds and stage_seconds,"
        + " the report's log line, the rest measured outside):");
    System.out.printf(Locale.ROOT, "%-20s %7s %7s %7s %8s %8s %8s %7s %7s %7s %7s %9s%n", "samples method", "wall",
        "jvm", "spark", "prepare", "observe", "choose", "write", "report", "other", "stop+", "peak MB");
    for (var e : runs.entrySet()) {
      JsonNode run = e.getValue().run();
      double wall = e.getValue().proc().seconds();
      double jvm = run.path("startup_seconds").path("jvm_to_session").asDouble(Double.NaN);
      double spark = run.path("startup_seconds").path("spark_session").asDouble(Double.NaN);
      double job = run.path("wall_seconds").asDouble();
      double staged = 0;
      List<Double> cols = new ArrayList<>();
      for (String s : STAGES) {
        double v = run.path("stage_seconds").path(s).asDouble(0);
        cols.add(v);
        staged += v;
      }
      java.util.regex.Matcher m = REPORT.matcher(e.getValue().proc().output());
      double report = m.find() ? Double.parseDouble(m.group(1)) : 0;
      cols.add(report);
      double other = job - staged; // inside the job, between stages (scratch folder, checks, cleanup)
      double exit = wall - jvm - spark - job - report; // the session's stop and the JVM's exit, and the launcher
      System.out.printf(Locale.ROOT, "%-20s %7.2f %7.2f %7.2f %8.2f %8.2f %8.2f %7.2f %7.2f %7.2f %7.2f %9.0f%n",
          e.getKey(), wall, jvm, spark, cols.get(0), cols.get(1), cols.get(2), cols.get(3), cols.get(4), other, exit,
          e.getValue().proc().peakMb());
    }
    System.out.println("(jvm: from the JVM's start to the session's, including option checks; spark: the session's"
        + " start; other: inside the job between stages; stop+: the session's stop, JVM exit and the launcher)");
  }

  private static String lastLine(String out) {
    String[] lines = out.strip().split("\n");
    return lines[lines.length - 1];
  }

  private static void printPeer(Map<String, QcalRun> qcal, Map<String, Proc> ort, String peer) {
    System.out.println();
    if (peer != null) {
      System.out.println("ONNX Runtime's quantize_static: not measured (" + peer + ")");
      return;
    }
    System.out.println("qcal calibrate vs ONNX Runtime's quantize_static (Python; quant_pre_process first; QDQ, uint8"
        + " activations, per-channel int8 weights; batches of 16), whole processes:");
    System.out.printf(Locale.ROOT, "%-20s %9s %9s %8s %9s %9s %8s   %s%n", "samples method", "qcal s", "ORT s",
        "qcal/ORT", "qcal MB", "ORT MB", "qcal/ORT", "ORT's own split");
    for (var e : qcal.entrySet()) {
      Proc q = e.getValue().proc();
      Proc o = ort.get(e.getKey());
      if (o.exit() != 0) {
        System.out.printf(Locale.ROOT, "%-20s %9.2f %9s %8s %9.0f %9.0f %8s   failed after %.1f s: exit %d%s%n",
            e.getKey(), q.seconds(), "-", "-", q.peakMb(), o.peakMb(), "-", o.seconds(), o.exit(),
            o.exit() == 137 ? " (killed: out of memory)" : ", " + lastLine(o.output()));
        continue;
      }
      System.out.printf(Locale.ROOT, "%-20s %9.2f %9.2f %8.2f %9.0f %9.0f %8.2f   %s%n", e.getKey(), q.seconds(),
          o.seconds(), q.seconds() / o.seconds(), q.peakMb(), o.peakMb(), q.peakMb() / o.peakMb(),
          o.output().lines().filter(l -> l.startsWith("ort ")).findFirst().orElse("").replaceFirst("^ort \\w+: ", ""));
    }
  }
}
