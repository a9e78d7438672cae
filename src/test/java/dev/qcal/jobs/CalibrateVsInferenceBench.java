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
 * Arguments: {@code [samples] [master]}.
 */
public final class CalibrateVsInferenceBench {
  private CalibrateVsInferenceBench() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
    String master = args.length > 1 ? args[1] : "local[2]";
    Path dir = Files.createTempDirectory("qcal-bench-");
    TextLines.writeDataset(dir, n, 5, 128);
    Path model = Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx");
    try (SparkSession spark = SparkSession.builder().master(master).appName("qcal-bench")
        .config("spark.ui.enabled", "false").getOrCreate()) {
      List<InputSpec> inputs = ModelInputs.of(OnnxModels.load(model), model.toString());
      JavaRDD<Sample> samples = DataSources.open(spark, List.of(dir.resolve("x").toString()), inputs, Map.of());
      spark.sparkContext().addFile(model.toAbsolutePath().toString());
      String fileName = model.getFileName().toString();
      String sha = OnnxModels.sha256(model);
      Path out = dir.resolve("out");
      System.out.printf("samples %d, master %s, batch 16, %d partitions%n", n, master, samples.getNumPartitions());
      for (int round = 1; round <= 2; round++) {
        long t = System.nanoTime();
        long seen = samples.mapPartitions(it -> List.of(infer(it, fileName, sha)).iterator())
            .reduce(Long::sum);
        double plain = seen / ((System.nanoTime() - t) / 1e9);
        RunReport r = CalibrateJob.run(new CalibrateOptions(model, List.of(dir.resolve("x").toString()), out.toString(),
            true, 16, null, Map.of(), StatsConfig.defaults(), RangeOptions.defaults()), spark);
        double observe = (long) r.get("samples") / r.stageSeconds("observe_and_reduce");
        System.out.printf("round %d: plain inference %.0f samples/s, calibrate observe+reduce %.0f samples/s,"
            + " calibrate/plain time ratio %.2f, calibrate wall %.2f s%n", round, plain, observe, plain / observe,
            (double) r.get("wall_seconds"));
        System.out.printf("round %d: merged statistics state %d bytes (Java serialization)%n", round,
            (long) r.get("stats_state_bytes"));
      }
      System.out.printf("peak heap %.0f MB, peak RSS %s (driver and executors share this JVM in local mode)%n",
          peakHeapBytes() / 1e6, peakRss());
      System.out.printf("FP32 model %d bytes, quantized.onnx %d bytes%n", Files.size(model),
          Files.size(out.resolve("quantized.onnx")));
    }
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
