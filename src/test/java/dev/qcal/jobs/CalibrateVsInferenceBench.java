package dev.qcal.jobs;

import dev.qcal.data.Batcher;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Sample;
import dev.qcal.examples.TextLines;
import dev.qcal.io.RunReport;
import dev.qcal.model.OnnxModels;
import dev.qcal.stats.StatsConfig;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.runtime.SessionCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;

/**
 * Measures, in one run on one Spark session, samples/s of plain ONNX Runtime inference of the FP32
 * example over the data (same reading, batching and Spark tasks; only the model's own output) and
 * of the calibrate job's observe-and-reduce stage over the same data. Run by {@code scripts/bench}.
 * Arguments: {@code [samples] ["master master..."]} (default 2048, "local[1] local[2]").
 */
public final class CalibrateVsInferenceBench {
  private CalibrateVsInferenceBench() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
    List<String> masters = args.length > 1 ? List.of(args[1].split(" ")) : List.of("local[1]", "local[2]");
    Path dir = Files.createTempDirectory("qcal-bench-");
    TextLines.writeDataset(dir, n, 5, 128);
    Path model = Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx");
    Path out = dir.resolve("out");
    StatsConfig minmaxOnly = new StatsConfig(0, 0, Map.of());
    System.out.printf("example model, %d samples, batch 16; samples/s (second of two rounds each)%n", n);
    System.out.printf("%-9s %10s %10s %10s %8s %8s %12s%n", "master", "(a) plain", "(b) minmax", "(c) hist",
        "(b)/(a)", "(c)/(a)", "state bytes");
    double first = 0;
    for (String master : masters) {
      try (SparkSession spark = SparkSession.builder().master(master).appName("qcal-bench")
          .config("spark.ui.enabled", "false").getOrCreate()) {
        List<InputSpec> inputs = ModelInputs.of(OnnxModels.load(model), model.toString());
        JavaRDD<Sample> samples = DataSources.open(spark, List.of(dir.resolve("x").toString()), inputs, Map.of());
        spark.sparkContext().addFile(model.toAbsolutePath().toString());
        String fileName = model.getFileName().toString();
        String sha = OnnxModels.sha256(model);
        double plain = 0;
        double[] observe = new double[2];
        long state = 0;
        for (int round = 1; round <= 2; round++) {
          long t = System.nanoTime();
          long seen = samples.mapPartitions(it -> List.of(infer(it, fileName, sha)).iterator()).reduce(Long::sum);
          plain = seen / ((System.nanoTime() - t) / 1e9);
          StatsConfig[] configs = {minmaxOnly, StatsConfig.defaults()};
          for (int k = 0; k < 2; k++) {
            RunReport r = CalibrateJob.run(new CalibrateOptions(model, List.of(dir.resolve("x").toString()),
                out.toString(), true, 16, null, Map.of(), configs[k], RangeOptions.defaults()), spark);
            observe[k] = (long) r.get("samples") / r.stageSeconds("observe_and_reduce");
            state = (long) r.get("stats_state_bytes");
          }
        }
        System.out.printf("%-9s %10.0f %10.0f %10.0f %8.2f %8.2f %12d%n", master, plain, observe[0], observe[1],
            plain / observe[0], plain / observe[1], state);
        if (first == 0) {
          first = observe[1];
        } else {
          System.out.printf("%s / %s speed-up of (c): %.2f%n", master, masters.get(0), observe[1] / first);
        }
      }
      SparkSession.clearActiveSession();
      SparkSession.clearDefaultSession();
    }
    System.out.printf("peak heap %.0f MB, peak RSS %s (driver and executors share this JVM in local mode)%n",
        peakHeapBytes() / 1e6, peakRss());
    System.out.printf("FP32 model %d bytes, quantized.onnx %d bytes%n", Files.size(model),
        Files.size(out.resolve("quantized.onnx")));
  }

  private static long peakHeapBytes() {
    long sum = 0;
    for (var pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getPeakUsage() != null) {
        sum += pool.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  private static String peakRss() throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return line.substring(6).trim();
      }
    }
    return "unknown";
  }

  private static long infer(Iterator<Sample> it, String fileName, String sha) {
    try (ModelRunner runner = new ModelRunner(SessionCache.get("plain-" + sha, Path.of(SparkFiles.get(fileName)), 1),
        List.of("x"), List.of("softmax_0.tmp_0"))) {
      return infer(it, runner);
    }
  }

  private static long infer(Iterator<Sample> it, ModelRunner runner) {
    Batcher batcher = new Batcher(1, 16);
    long count = 0;
    ModelRunner.OutputSink ignore = (name, values, shape) -> { };
    while (it.hasNext()) {
      Batcher.Batch b = batcher.offer(it.next());
      if (b != null) {
        runner.run(b, ignore);
        count += b.size();
      }
    }
    Batcher.Batch last = batcher.flush();
    if (last != null) {
      runner.run(last, ignore);
      count += last.size();
    }
    return count;
  }
}
