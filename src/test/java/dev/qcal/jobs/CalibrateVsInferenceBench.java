package dev.qcal.jobs;

import dev.qcal.bench.ResNetStack;
import dev.qcal.data.Batcher;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Npy;
import dev.qcal.data.Sample;
import dev.qcal.examples.TextLines;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.prepare.GraphAugmenter;
import dev.qcal.model.prepare.ModelPreparer;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.runtime.SessionCache;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsSet;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;

/**
 * The calibrate benchmark, run by {@code scripts/bench calibrate}. For each model (the example and a
 * ResNet-style 224x224 stack generated here, {@link ResNetStack}, unless {@code --model} says
 * otherwise) and each master, one child JVM times on one Spark session, over the same {@code .npy}
 * data: (a) plain ONNX Runtime inference of the FP32 model (same reading, batching, Spark tasks and
 * ORT threads; only the model's own output), (b) the calibrate job's observe-and-reduce stage with
 * min/max only ({@code --histogram-bins 0}) and (c) with the default histograms; second of
 * {@code --rounds} rounds. It prints samples/s, (a)/(b) and (a)/(c) (time ratios), the speed-up of
 * the second master over the first, and each child's peak RSS (driver and executors share the JVM in
 * local mode). Then, per model, a profile without Spark (one thread, batches in memory): ONNX Runtime
 * alone, the augmented graph with its outputs only written, plus the min/max scan, plus histograms.
 * Last, memory: (c) on {@code local[2]} over {@code --memory-samples} (default 1024 and 10240) in
 * fresh JVMs of the same heap, peak RSS and heap of each.
 *
 * <p>Data: {@code --per-file} samples (default 128) per {@code .npy} file (one file = one partition); a few distinct
 * files are written once and hard-linked in turn to reach N samples, so 10k samples cost no 10k
 * renderings. Arguments: {@code [--model example|resnet|PATH]... [--samples N] [--masters "m1 m2"]
 * [--batch-size B] [--rounds R] [--memory-samples N1,N2] [--per-file K] [--no-memory] [--no-profile]
 * [--profile-only] [--memory-only]}; the older
 * positional form {@code [samples] ["master master..."]} still works.
 */
public final class CalibrateVsInferenceBench {
  /** Samples per {@code .npy} file, i.e. per partition ({@code --per-file}). */
  private static int perFile = 128;
  private static final String CHILD = "--child";
  private static final int MAX_PROFILE_BATCHES = 16;

  private CalibrateVsInferenceBench() {}

  /** A model to benchmark, and how to make its samples. */
  private record BenchModel(String name, Path file, String input, long[] sampleShape, String output, int distinctFiles) {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals(CHILD)) {
      child(args);
      return;
    }
    int n = 1024;
    int batch = 16;
    int rounds = 2;
    List<String> masters = List.of("local[1]", "local[2]");
    List<String> modelArgs = new ArrayList<>();
    List<Integer> memory = List.of(1024, 10240);
    boolean profile = true;
    boolean table = true;
    for (int k = 0; k < args.length; k++) {
      String a = args[k];
      switch (a) {
        case "--model" -> modelArgs.add(args[++k]);
        case "--samples" -> n = Integer.parseInt(args[++k]);
        case "--masters" -> masters = List.of(args[++k].trim().split("\\s+"));
        case "--batch-size" -> batch = Integer.parseInt(args[++k]);
        case "--rounds" -> rounds = Integer.parseInt(args[++k]);
        case "--memory-samples" -> memory = Arrays.stream(args[++k].split(",")).map(Integer::parseInt).toList();
        case "--no-memory" -> memory = List.of();
        case "--per-file" -> perFile = Integer.parseInt(args[++k]);
        case "--no-profile" -> profile = false;
        case "--profile-only" -> {
          table = false;
          memory = List.of();
        }
        case "--memory-only" -> {
          table = false;
          profile = false;
        }
        default -> {
          if (k == 0 && a.matches("\\d+")) {
            n = Integer.parseInt(a); // positional form: [samples] ["master master..."]
          } else if (k == 1 && !a.startsWith("--")) {
            masters = List.of(a.trim().split("\\s+"));
          } else {
            throw new IllegalArgumentException("unknown argument '" + a + "'; usage: [--model example|resnet|PATH]..."
                + " [--samples N] [--masters \"m1 m2\"] [--batch-size B] [--rounds R] [--memory-samples N1,N2]"
                + " [--per-file K] [--no-memory] [--no-profile] [--profile-only] [--memory-only]");
          }
        }
      }
    }
    if (modelArgs.isEmpty()) {
      modelArgs = List.of("example", "resnet");
    }
    Path dir = Files.createTempDirectory("qcal-bench-");
    try {
      run(dir, modelArgs, n, batch, rounds, masters, memory, profile, table);
    } finally {
      deleteTree(dir); // models and data: hundreds of MB
    }
  }

  private static void run(Path dir, List<String> modelArgs, int n, int batch, int rounds, List<String> masters,
      List<Integer> memory, boolean profile, boolean table) throws Exception {
    List<BenchModel> models = new ArrayList<>();
    for (String m : modelArgs) {
      models.add(model(m, dir));
    }
    System.out.printf(Locale.ROOT, "qcal calibrate bench: %d samples, batch %d, ORT intra-op threads = spark.task.cpus"
        + " = 1 per task, second of %d rounds; %d cores, load average %.2f%n", n, batch, rounds,
        Runtime.getRuntime().availableProcessors(), ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    System.out.println("samples/s over wall time of the stage; ratios are time ratios (b)/(a) = (a) samples/s / (b)"
        + " samples/s; task CPU = CPU time of the Spark tasks, robust to other load on the machine");
    System.out.printf("%-14s %-9s %10s %10s %10s %8s %8s %10s %12s | %s%n", "model", "master", "(a) plain",
        "(b) minmax", "(c) hist", "(b)/(a)", "(c)/(a)", "peak RSS", "state bytes",
        "task CPU: samples/CPU-s (a) (b) (c), (b)/(a) (c)/(a)");
    for (BenchModel m : table ? models : List.<BenchModel>of()) {
      Path data = data(m, dir, n);
      double[] first = null;
      for (String master : masters) {
        double[] row = runChild("table", m, data, n, master, batch, rounds);
        // row: plain, minmax, hist samples/s, state bytes, VmHWM kB, peak heap bytes
        System.out.printf(Locale.ROOT, "%-14s %-9s %10.0f %10.0f %10.0f %8.2f %8.2f %7.0f MB %12.0f | %.0f %.0f %.0f,"
            + " %.2f %.2f%n", m.name(), master, row[0], row[1], row[2], row[0] / row[1], row[0] / row[2], row[4] / 1024,
            row[3], row[6], row[7], row[8], row[6] / row[7], row[6] / row[8]);
        if (first == null) {
          first = row;
        } else {
          System.out.printf(Locale.ROOT, "%-14s %s / %s speed-up: (a) %.2f, (b) %.2f, (c) %.2f%n", m.name(), master,
              masters.get(0), row[0] / first[0], row[1] / first[1], row[2] / first[2]);
        }
      }
    }
    if (profile) {
      for (BenchModel m : models) {
        profile(m, dir, batch);
      }
    }
    if (!memory.isEmpty()) {
      System.out.printf("memory: (c) on local[2], fresh JVM each (same -Xmx), %s%n", models.get(0).name());
      System.out.printf("%-14s %8s %10s %10s %12s %15s %16s%n", "model", "samples", "samples/s", "peak RSS", "peak heap",
          "heap committed", "live after GC");
      BenchModel m = models.get(0);
      for (int count : memory) {
        Path data = data(m, dir, count);
        double[] row = runChild("memory", m, data, count, "local[2]", batch, 1);
        System.out.printf(Locale.ROOT, "%-14s %8d %10.0f %7.0f MB %9.0f MB %12.0f MB %13.0f MB%n", m.name(),
            files(count) * perFile, row[2], row[4] / 1024, row[5] / 1e6, row[9] / 1e6, row[10] / 1e6);
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static BenchModel model(String arg, Path dir) throws IOException {
    if (arg.equals("example")) {
      return new BenchModel("ppocr-cls", Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx"), "x",
          new long[] {TextLines.CHANNELS, TextLines.HEIGHT, TextLines.WIDTH}, "softmax_0.tmp_0", Math.max(1, 256 / perFile));
    }
    Path file;
    if (arg.equals("resnet")) {
      file = dir.resolve("resnet-stack-224.onnx");
      OnnxModels.save(ResNetStack.build(224), file);
    } else {
      file = Path.of(arg);
    }
    var proto = OnnxModels.load(file);
    List<InputSpec> inputs = ModelInputs.of(proto, file.toString());
    if (inputs.size() != 1 || Arrays.stream(inputs.get(0).dims()).anyMatch(d -> d < 0)) {
      throw new IllegalArgumentException(file + ": the bench generates data for one input with fixed non-batch"
          + " dimensions, the model has " + inputs.stream().map(i -> i.name() + i.describe()).toList());
    }
    String name = arg.equals("resnet") ? "resnet-224" : file.getFileName().toString().replace(".onnx", "");
    return new BenchModel(name, file, inputs.get(0).name(), inputs.get(0).dims(),
        proto.getGraph().getOutput(0).getName(), Math.max(1, 128 / perFile));
  }

  private static int files(int n) {
    return (n + perFile - 1) / perFile;
  }

  /**
   * {@code dir/<model>-<n>/x/part-*.npy}: {@code files(n)} files of {@code perFile} samples, hard links
   * to the model's distinct files in turn (written on first use).
   */
  private static Path data(BenchModel m, Path dir, int n) throws IOException {
    Path distinct = dir.resolve(m.name() + "-distinct");
    if (!Files.isDirectory(distinct)) {
      if (m.name().equals("ppocr-cls")) {
        TextLines.writeDataset(distinct, m.distinctFiles() * perFile, 5, perFile);
      } else {
        Files.createDirectories(distinct.resolve("x"));
        Random r = new Random(7);
        int elements = (int) Sample.elements(m.sampleShape());
        long[] shape = new long[m.sampleShape().length + 1];
        shape[0] = perFile;
        System.arraycopy(m.sampleShape(), 0, shape, 1, m.sampleShape().length);
        float[] row = new float[elements];
        for (int f = 0; f < m.distinctFiles(); f++) {
          try (Npy.Writer w = Npy.Writer.float32(distinct.resolve("x").resolve(String.format("part-%05d.npy", f)), shape)) {
            for (int s = 0; s < perFile; s++) {
              for (int k = 0; k < elements; k++) {
                row[k] = (float) r.nextGaussian();
              }
              w.writeRow(row);
            }
          }
        }
      }
    }
    Path data = dir.resolve(m.name() + "-" + n).resolve("x");
    if (!Files.isDirectory(data)) {
      Files.createDirectories(data);
      for (int f = 0; f < files(n); f++) {
        Path source = distinct.resolve("x").resolve(String.format("part-%05d.npy", f % m.distinctFiles()));
        Files.createLink(data.resolve(String.format("part-%05d.npy", f)), source);
      }
    }
    return data;
  }

  /** Runs one measurement in a fresh JVM with this JVM's options; returns the numbers it printed. */
  private static double[] runChild(String mode, BenchModel m, Path data, int n, String master, int batch, int rounds)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CalibrateVsInferenceBench.class.getName(), CHILD,
        mode, m.file().toString(), data.toString(), m.input(), m.output(), master, Integer.toString(batch),
        Integer.toString(rounds)));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    double[] result = null;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        if (line.startsWith("RESULT ")) {
          result = Arrays.stream(line.substring(7).trim().split(" ")).mapToDouble(Double::parseDouble).toArray();
        } else {
          System.out.println(line);
        }
      }
    }
    int rc = p.waitFor();
    if (rc != 0 || result == null) {
      throw new IllegalStateException("bench child " + mode + " " + m.name() + " " + master + " failed (exit " + rc + ")");
    }
    return result;
  }

  /**
   * Child JVM: {@code --child table|memory MODEL DATA INPUT OUTPUT MASTER BATCH ROUNDS}. Prints
   * {@code RESULT plain minmax hist stateBytes vmHwmKb peakHeapBytes}, then samples per task CPU second of
   * plain, minmax, hist (memory: histograms only).
   */
  private static void child(String[] args) throws Exception {
    boolean table = args[1].equals("table");
    Path model = Path.of(args[2]);
    String data = args[3];
    String input = args[4];
    String output = args[5];
    String master = args[6];
    int batch = Integer.parseInt(args[7]);
    int rounds = Integer.parseInt(args[8]);
    Path out = Files.createTempDirectory("qcal-bench-out-");
    java.util.concurrent.atomic.AtomicLong liveHeap = trackLiveHeap();
    double[] r = new double[11];
    try (SparkSession spark = SparkSession.builder().master(master).appName("qcal-bench")
        .config("spark.ui.enabled", "false").getOrCreate()) {
      // CPU time of the Spark tasks (ONNX Runtime with one intra-op thread runs on the task's thread):
      // ratios of CPU per sample hold on a machine shared with other work, where wall time does not
      java.util.concurrent.atomic.AtomicLong taskCpu = new java.util.concurrent.atomic.AtomicLong();
      spark.sparkContext().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
        @Override
        public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) {
          if (end.taskMetrics() != null) {
            taskCpu.addAndGet(end.taskMetrics().executorCpuTime());
          }
        }
      });
      List<InputSpec> inputs = ModelInputs.of(OnnxModels.load(model), model.toString());
      JavaRDD<Sample> samples = DataSources.open(spark, List.of(data), inputs, Map.of());
      spark.sparkContext().addFile(model.toAbsolutePath().toString());
      String fileName = model.getFileName().toString();
      String sha = OnnxModels.sha256(model);
      StatsConfig[] configs = {new StatsConfig(0, 0, Map.of()), StatsConfig.defaults()};
      for (int round = 1; round <= rounds; round++) {
        if (table) {
          long t = System.nanoTime();
          long cpu = taskCpu(spark, taskCpu);
          long seen = samples.mapPartitions(it -> List.of(infer(it, fileName, sha, input, output, batch)).iterator())
              .reduce(Long::sum);
          r[0] = seen / ((System.nanoTime() - t) / 1e9);
          r[6] = seen / ((taskCpu(spark, taskCpu) - cpu) / 1e9);
        }
        for (int k = table ? 0 : 1; k < 2; k++) {
          long cpu = taskCpu(spark, taskCpu);
          RunRecord rep = CalibrateJob.run(new CalibrateOptions(model, List.of(data), out.toString(), true, batch, null,
              Map.of(), configs[k], RangeOptions.defaults()), spark);
          r[1 + k] = rep.subject().samples() / rep.timings().stageSeconds().get("observe_and_reduce");
          r[7 + k] = rep.subject().samples() / ((taskCpu(spark, taskCpu) - cpu) / 1e9);
          r[3] = rep.statistics().stateBytes();
        }
      }
    }
    deleteTree(out);
    r[4] = vmHwmKb();
    r[5] = peakHeapBytes();
    r[9] = peakHeapCommittedBytes();
    System.gc();
    r[10] = liveHeap.get();
    StringBuilder b = new StringBuilder("RESULT");
    for (double v : r) {
      b.append(' ').append(v);
    }
    System.out.println(b);
  }

  /**
   * Where the time goes, without Spark: one thread, the first batches of the data in memory. Rows:
   * ONNX Runtime on the FP32 model (model output only); on the augmented graph, outputs written to
   * pinned buffers and not read; plus {@link StatsSet#add} min/max only; plus histograms.
   */
  private static void profile(BenchModel m, Path dir, int batch) throws IOException {
    Path data = data(m, dir, perFile * m.distinctFiles());
    List<Batcher.Batch> batches = new ArrayList<>();
    int elements = (int) Sample.elements(m.sampleShape());
    long[] shape = new long[m.sampleShape().length + 1];
    shape[0] = batch;
    System.arraycopy(m.sampleShape(), 0, shape, 1, m.sampleShape().length);
    try (var files = Files.list(data)) {
      for (Path f : files.sorted().toList()) {
        try (Npy.Reader r = Npy.open(f)) {
          float[] row = new float[elements];
          while (true) {
            FloatBuffer b = ByteBuffer.allocateDirect(batch * elements * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
            int rows = 0;
            while (rows < batch && r.readRow(row)) {
              b.put(row);
              rows++;
            }
            if (rows < batch || batches.size() == MAX_PROFILE_BATCHES) {
              break;
            }
            b.flip();
            batches.add(Batcher.Batch.ofFloats(new FloatBuffer[] {b}, new long[][] {shape}, batch, f.toString()));
          }
        }
      }
    }
    Path work = Files.createTempDirectory(dir, "profile-");
    long[] verify = shape.clone();
    verify[0] = 2;
    ModelPreparer.Prepared prepared = ModelPreparer.prepare(m.file(), work, Map.of(m.input(), verify));
    List<String> tensors = List.copyOf(CalibrationPlan.of(prepared.model(), RangeOptions.defaults().plan()).activations());
    Path augmented = work.resolve("augmented.onnx");
    OnnxModels.save(GraphAugmenter.exposeOutputs(prepared.model(), tensors), augmented);
    String sha = OnnxModels.sha256(augmented);
    List<String> in = List.of(m.input());
    StatsConfig minmax = new StatsConfig(0, 0, Map.of());
    // idea measured: min/max reduced inside ONNX Runtime (ReduceMin/ReduceMax per channel of 4-D tensors,
    // per tensor otherwise, plus a ReduceSum whose finiteness proves every value finite), tiny outputs only
    Path reduced = work.resolve("reduced.onnx");
    List<String> reducedOutputs = new ArrayList<>();
    OnnxModels.save(reduceInGraph(prepared.model(), tensors, batches.get(0), augmented, reducedOutputs), reduced);
    double[] ms = new double[5];
    for (int round = 0; round < 2; round++) {
      try (ModelRunner plain = new ModelRunner(SessionCache.get("profile-plain-" + m.name(), m.file(), 1), in,
          List.of(m.output()));
          ModelRunner aug = new ModelRunner(SessionCache.get("profile-aug-" + sha, augmented, 1), in, tensors)) {
        ModelRunner.OutputSink ignore = (name, values, sh) -> { };
        ms[0] = time(batches, b -> plain.run(b, ignore));
        ms[1] = time(batches, b -> aug.run(b, ignore));
        StatsSet s1 = StatsSet.empty(tensors, minmax);
        ms[2] = time(batches, b -> aug.run(b, s1::add));
        StatsSet s2 = StatsSet.empty(tensors, StatsConfig.defaults());
        ms[3] = time(batches, b -> aug.run(b, s2::add));
      }
      try (ModelRunner red = new ModelRunner(SessionCache.get("profile-red-" + OnnxModels.sha256(reduced), reduced, 1), in,
          reducedOutputs)) {
        ms[4] = time(batches, b -> red.run(b, (name, values, sh) -> { }));
      }
    }
    long floats = 0;
    long[] runs;
    try (ModelRunner aug = new ModelRunner(SessionCache.get("profile-aug-" + sha, augmented, 1), in, tensors)) {
      long[] sum = new long[4];
      aug.run(batches.get(0), (name, values, sh) -> {
        sum[0] += values.remaining();
        long inner = 1;
        for (int d = 2; d < sh.length; d++) {
          inner *= sh[d];
        }
        // channel run length of the default per-channel statistics (4-D tensors, axis 1)
        sum[sh.length != 4 ? 3 : inner >= 512 ? 1 : 2] += values.remaining();
      });
      floats = sum[0];
      runs = sum;
    }
    System.out.printf(Locale.ROOT, "profile %s (no Spark, 1 thread, %d batches of %d in memory, %d calibrated tensors,"
        + " %.1f MB of activations per batch), CPU ms per batch:%n", m.name(), batches.size(), batch, tensors.size(),
        floats * 4 / 1e6);
    System.out.printf(Locale.ROOT, "  (activation values in 4-D tensors with channel runs H*W >= 512: %.0f%%, < 512: %.0f%%;"
        + " not 4-D: %.0f%%)%n", 100.0 * runs[1] / floats, 100.0 * runs[2] / floats, 100.0 * runs[3] / floats);
    System.out.printf(Locale.ROOT, "  ORT, FP32 model                      %8.2f%n", ms[0]);
    System.out.printf(Locale.ROOT, "  ORT, augmented, outputs not read     %8.2f  (+%.2f exposing outputs)%n", ms[1],
        ms[1] - ms[0]);
    System.out.printf(Locale.ROOT, "  + min/max statistics                 %8.2f  (+%.2f scan)%n", ms[2], ms[2] - ms[1]);
    System.out.printf(Locale.ROOT, "  + histograms                         %8.2f  (+%.2f histograms)%n", ms[3],
        ms[3] - ms[2]);
    System.out.printf(Locale.ROOT, "  (b)'s graph: ReduceMin/Max/Sum in ORT %8.2f  (+%.2f over the FP32 model; outputs not"
        + " merged)%n", ms[4], ms[4] - ms[0]);
  }

  /**
   * The prepared model with, for each calibrated tensor, ReduceMin and ReduceMax over all axes but 1
   * (4-D) or all axes, and a ReduceSum over all axes, as the only extra outputs.
   */
  private static ai.onnx.proto.OnnxMl.ModelProto reduceInGraph(ai.onnx.proto.OnnxMl.ModelProto model,
      List<String> tensors, Batcher.Batch sample, Path augmented, List<String> outputs) {
    Map<String, Integer> ranks = new LinkedHashMap<>();
    try (ModelRunner aug = new ModelRunner(SessionCache.get("profile-rank-" + OnnxModels.sha256(augmented), augmented, 1),
        List.of(model.getGraph().getInput(0).getName()), tensors)) {
      aug.run(sample, (name, values, sh) -> ranks.put(name, sh.length));
    }
    var g = model.getGraph().toBuilder();
    int k = 0;
    for (String t : tensors) {
      for (String op : List.of("ReduceMin", "ReduceMax", "ReduceSum")) {
        String out = "qcal_" + op + "_" + k;
        var n = ai.onnx.proto.OnnxMl.NodeProto.newBuilder().setOpType(op).setName(out).addInput(t).addOutput(out)
            .addAttribute(dev.qcal.model.TestGraphs.i("keepdims", 0));
        if (!op.equals("ReduceSum") && ranks.get(t) == 4) {
          n.addAttribute(dev.qcal.model.TestGraphs.ints("axes", 0, 2, 3));
        }
        g.addNode(n);
        g.addOutput(dev.qcal.model.TestGraphs.floatInfo(out));
        outputs.add(out);
      }
      k++;
    }
    return model.toBuilder().setGraph(g).build();
  }

  private static double time(List<Batcher.Batch> batches, java.util.function.Consumer<Batcher.Batch> run) {
    // thread CPU time: ONNX Runtime with one intra-op thread runs on the calling thread, and CPU time
    // is much less disturbed than wall time by other processes on a shared machine
    var threads = ManagementFactory.getThreadMXBean();
    // warm-up: every batch once, so the JIT has compiled the statistics kernels before timing (one
    // batch left them half compiled in some runs: the histogram row came out 20 or 60 ms)
    for (Batcher.Batch b : batches) {
      for (java.nio.ByteBuffer f : b.inputs()) {
        f.rewind();
      }
      run.accept(b);
    }
    long t = threads.getCurrentThreadCpuTime();
    for (Batcher.Batch b : batches) {
      for (java.nio.ByteBuffer f : b.inputs()) {
        f.rewind();
      }
      run.accept(b);
    }
    return (threads.getCurrentThreadCpuTime() - t) / 1e6 / batches.size();
  }

  /** Task CPU nanoseconds so far, once every finished task has been reported. */
  private static long taskCpu(SparkSession spark, java.util.concurrent.atomic.AtomicLong taskCpu) {
    try {
      spark.sparkContext().listenerBus().waitUntilEmpty();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(e);
    }
    return taskCpu.get();
  }

  /**
   * The largest heap in use right after any garbage collection of this JVM (young or full): an upper
   * bound of the live set, which, unlike RSS and committed heap, does not depend on how far G1 chose
   * to grow the heap for the garbage a longer run makes.
   */
  private static java.util.concurrent.atomic.AtomicLong trackLiveHeap() {
    java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong();
    java.util.Set<String> heapPools = new java.util.HashSet<>();
    for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP) {
        heapPools.add(pool.getName());
      }
    }
    for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((javax.management.NotificationEmitter) gc).addNotificationListener((n, handback) -> {
        if (!n.getType().equals(com.sun.management.GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
          return;
        }
        var info = com.sun.management.GarbageCollectionNotificationInfo.from(
            (javax.management.openmbean.CompositeData) n.getUserData());
        long used = 0;
        for (var e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
          if (heapPools.contains(e.getKey())) {
            used += e.getValue().getUsed();
          }
        }
        peak.accumulateAndGet(used, Math::max);
      }, null, null);
    }
    return peak;
  }

  private static long peakHeapCommittedBytes() {
    long sum = 0;
    for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getPeakUsage() != null) {
        sum += pool.getPeakUsage().getCommitted();
      }
    }
    return sum;
  }

  private static long peakHeapBytes() {
    long sum = 0;
    for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getPeakUsage() != null) {
        sum += pool.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  private static double vmHwmKb() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Double.parseDouble(line.substring(6).trim().split("\\s+")[0]);
      }
    }
    return Double.NaN;
  }

  private static long infer(Iterator<Sample> it, String fileName, String sha, String input, String output, int batchSize) {
    try (ModelRunner runner = new ModelRunner(SessionCache.get("plain-" + sha, Path.of(SparkFiles.get(fileName)), 1),
        List.of(input), List.of(output))) {
      Batcher batcher = new Batcher(1, batchSize);
      long count = 0;
      ModelRunner.OutputSink ignore = (name, values, shape) -> { };
      while (it.hasNext()) {
        Batcher.Batch b = batcher.offer(it.next());
        if (b != null) {
          runner.run(b, ignore);
          count += b.size();
        }
      }
      for (Batcher.Batch last = batcher.flush(); last != null; last = batcher.flush()) {
        runner.run(last, ignore);
        count += last.size();
      }
      return count;
    }
  }
}
