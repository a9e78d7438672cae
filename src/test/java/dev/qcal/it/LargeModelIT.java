package dev.qcal.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A model with more than 2 GB of float weights (two initializers of 1.08 GB each, in an external data
 * file written here in chunks) is calibrated and quantized by {@code qcal} in child JVMs whose heap
 * ({@value #CHILD_HEAP}) cannot hold even one of the two weight tensors, which proves the weights are
 * never held in the Java heap; the quantized model with its own data file loads in ONNX Runtime and its
 * outputs keep at least {@value #MIN_SQNR_DB} dB SQNR against the FP32 model's on held-out inputs.
 */
class LargeModelIT {

  static final String CHILD_HEAP = "-Xmx1g";

  /**
   * The bar for quantized blocks: uint8 activations (x, relu output) and per-channel int8 weights
   * each add noise about 40-48 dB below their signal, and the two MatMuls sum 512 and 528,384 products
   * whose rounding errors are independent, so 25 dB leaves a wide margin while catching a wrong scale,
   * axis or zero point (any of which drops it below 10 dB).
   */
  static final double MIN_SQNR_DB = 25;

  static final int IN = 512;
  static final int HIDDEN = (1 << 19) + 4096;
  static final int OUT = 512;
  static final long TENSOR_BYTES = 4L * IN * HIDDEN;
  static final long GB = 1L << 30;

  @Test
  void calibratesAndQuantizesAModelOverTwoGigabytesInASmallHeap() throws Exception {
    Path root = Files.createTempDirectory("qcal-large-");
    long t0 = System.nanoTime();
    try {
      long usable = Files.getFileStore(root).getUsableSpace();
      assertTrue(usable > 12 * GB, root + " has " + usable / GB + " GB free, this test needs 12 GB");
      Path model = root.resolve("model/large.onnx");
      long dataBytes = writeModel(model);
      assertTrue(dataBytes > (1L << 31), "more than 2 GiB of weights: " + dataBytes);
      assertTrue(TENSOR_BYTES > GB, "each weight tensor alone is larger than the child heap");
      Path data = root.resolve("x.npy");
      Npy.writeFloat32(data, inputs(8, 1), new long[] {8, IN});
      System.err.printf("LargeModelIT: wrote %s + data %,d bytes in %.1f s%n", model, dataBytes,
          (System.nanoTime() - t0) / 1e9);

      Path calibrated = root.resolve("out-calibrate");
      Child c = qcal(root, "calibrate", "--model", model.toString(), "--data", data.toString(), "--out",
          calibrated.toString(), "--batch-size", "4", "--master", "local[2]");
      Path quantized = root.resolve("out-quantize");
      Child q = qcal(root, "quantize", "--model", model.toString(), "--stats", calibrated.toString(), "--out",
          quantized.toString());

      for (Path out : List.of(calibrated, quantized)) {
        assertTrue(Files.exists(out.resolve("_SUCCESS")), out.toString());
        ModelProto m = OnnxModels.load(out.resolve("quantized.onnx"));
        assertEquals(List.of("quantized.onnx.data"), List.copyOf(ExternalData.locations(m)));
        // the two weights, now int8, stay external (with the per-channel scales, over 1 KiB, and the bias)
        List<String> weights = m.getGraph().getInitializerList().stream()
            .filter(t -> ExternalData.isExternal(t) && t.getDimsCount() == 2)
            .map(t -> TensorProto.DataType.forNumber(t.getDataType()) + t.getDimsList().toString()).toList();
        assertEquals(List.of("INT8[" + IN + ", " + HIDDEN + "]", "INT8[" + OUT + ", " + HIDDEN + "]"), weights);
        var run = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("run.json").toFile());
        System.err.printf("LargeModelIT: %s stage seconds %s, startup %s%n", out.getFileName(),
            run.get("stage_seconds"), run.get("startup_seconds"));
        // calibrate's child started its own session: its start-up is recorded and, with the job's wall time
        // (the stages), fits in the child's wall time measured from outside
        Child child = out == calibrated ? c : q;
        double stages = 0;
        for (var s : run.get("stage_seconds")) {
          stages += s.asDouble();
        }
        assertTrue(stages <= run.get("wall_seconds").asDouble() + 1e-6, run.toString());
        if (out == calibrated) {
          double jvm = run.get("startup_seconds").get("jvm_to_session").asDouble();
          double session = run.get("startup_seconds").get("spark_session").asDouble();
          assertTrue(jvm > 0 && session > 0, run.toString());
          assertTrue(jvm + session + run.get("wall_seconds").asDouble() < child.seconds(),
              run + " in " + child.seconds() + " s");
        } else {
          assertTrue(run.get("startup_seconds") == null, "quantize without a fallback starts no session: " + run);
          assertTrue(run.get("wall_seconds").asDouble() < child.seconds(), run + " in " + child.seconds() + " s");
        }
        assertTrue(Files.size(out.resolve("quantized.onnx")) < (1 << 20), "the model proto itself stays small");
      }
      long quantizedBytes = Files.size(calibrated.resolve("quantized.onnx.data"));
      assertTrue(quantizedBytes >= dataBytes / 4 && quantizedBytes < dataBytes / 4 + (4 << 20),
          "int8 weights are a quarter, plus per-channel scales and zero points: "
          + quantizedBytes);
      assertEquals(-1, Files.mismatch(calibrated.resolve("quantized.onnx.data"), quantized.resolve("quantized.onnx.data")),
          "quantize from the saved statistics writes the same weights as calibrate");

      // ONNX Runtime loads the quantized model with its data file; outputs against FP32 on held-out inputs
      int n = 16;
      Map<String, float[]> in = Map.of("x", inputs(n, 2));
      Map<String, long[]> shapes = Map.of("x", new long[] {n, IN});
      float[] ref = Ort.run(model, in, shapes).get("y");
      float[] got = Ort.run(calibrated.resolve("quantized.onnx"), in, shapes).get("y");
      assertEquals(n * OUT, got.length);
      double signal = 0;
      double noise = 0;
      for (int i = 0; i < ref.length; i++) {
        signal += (double) ref[i] * ref[i];
        noise += ((double) ref[i] - got[i]) * ((double) ref[i] - got[i]);
      }
      double sqnr = 10 * Math.log10(signal / noise);
      System.err.printf("LargeModelIT: FP32 data %,d bytes, quantized data %,d bytes; child %s; calibrate %.1f s,"
          + " peak RSS %,d kB; quantize %.1f s, peak RSS %,d kB; SQNR %.2f dB over %d samples%n", dataBytes,
          quantizedBytes, CHILD_HEAP, c.seconds, c.maxRssKb, q.seconds, q.maxRssKb, sqnr, n);
      assertTrue(sqnr >= MIN_SQNR_DB, "SQNR " + sqnr + " dB");
    } finally {
      deleteAll(root);
      System.err.printf("LargeModelIT: wall time %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
  }

  /**
   * One initializer of 2.16 GB (more than 2^31 bytes, so no Java array or protobuf message could hold it)
   * is quantized in chunks in the same small heap. Its file is sparse (zeros, written in no time) except
   * for a few values placed past the 2 GiB mark and at chunk-straddling positions, whose int8 codes are
   * then read back from the output's data file: each is its column's maximum, so it must be 127, and
   * its neighbours 0.
   */
  @Test
  void quantizesOneInitializerOverTwoGigabytesInChunks() throws Exception {
    Path root = Files.createTempDirectory("qcal-large1-");
    long t0 = System.nanoTime();
    try {
      assertTrue(Files.getFileStore(root).getUsableSpace() > 8 * GB, root + " needs 8 GB free");
      int in = 512;
      int cols = (1 << 20) + 8192;
      long bytes = 4L * in * cols;
      assertTrue(bytes > (1L << 31), "one tensor over 2 GiB: " + bytes);
      Path model = root.resolve("model/one.onnx");
      Files.createDirectories(model.getParent());
      // flat indices of the few non-zero values: past 2^31 bytes, at a 4 MiB chunk edge, the last one
      long[] at = {(1L << 29) + 12_345, (1L << 29) + 12_346, 3L * (1 << 20) * 4 - 1, (long) in * cols - 1};
      float[] value = {0.75f, -0.5f, 2f, -3f};
      try (FileChannel out = FileChannel.open(model.resolveSibling("one.onnx.data"), StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE)) {
        out.write(ByteBuffer.allocate(1), bytes - 1); // sparse: the length, no data
        for (int k = 0; k < at.length; k++) {
          out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, value[k]), at[k] * 4);
        }
      }
      TensorProto w = TensorProto.newBuilder().setName("W").setDataType(TensorProto.DataType.FLOAT_VALUE)
          .addDims(in).addDims(cols).setDataLocation(TensorProto.DataLocation.EXTERNAL)
          .addExternalData(entry("location", "one.onnx.data")).addExternalData(entry("offset", "0"))
          .addExternalData(entry("length", Long.toString(bytes))).build();
      ModelProto m = TestGraphs.model(13, List.of(TestGraphs.node("MatMul", "mm", List.of("x", "W"), List.of("y"))),
          List.of(TestGraphs.floatInfo("x", -1, in)), List.of(TestGraphs.floatInfo("y")), List.of(w));
      Files.write(model, m.toByteArray());
      Path data = root.resolve("x.npy");
      Npy.writeFloat32(data, TestGraphs.randomFloats(4 * in, 5), new long[] {4, in});
      Path out = root.resolve("out");
      Child c = qcal(root, "calibrate", "--model", model.toString(), "--data", data.toString(), "--out",
          out.toString(), "--batch-size", "2", "--master", "local[1]");

      ModelProto q = OnnxModels.load(out.resolve("quantized.onnx"));
      TensorProto qw = q.getGraph().getInitializerList().stream()
          .filter(t -> ExternalData.isExternal(t) && t.getDataType() == TensorProto.DataType.INT8_VALUE
              && t.getDimsList().equals(List.of((long) in, (long) cols)))
          .findFirst().orElseThrow(() -> new AssertionError("no external int8 [512, cols] weight"));
      long offset = ExternalData.ref(qw).offset();
      assertEquals((long) in * cols, ExternalData.ref(qw).length());
      try (FileChannel f = FileChannel.open(out.resolve("quantized.onnx.data"))) {
        for (int k = 0; k < at.length; k++) {
          ByteBuffer b = ByteBuffer.allocate(3);
          f.read(b, offset + at[k] - 1);
          int expected = value[k] > 0 ? 127 : -127; // the only non-zero value of its column
          assertEquals(expected, b.get(1), "code at flat index " + at[k]);
          if (k != 1) {
            assertEquals(0, b.get(0), "code before flat index " + at[k]);
          }
        }
      }
      System.err.printf("LargeModelIT: one initializer of %,d bytes quantized in chunks; child %s; calibrate %.1f s,"
          + " peak RSS %,d kB; quantized data %,d bytes%n", bytes, CHILD_HEAP, c.seconds, c.maxRssKb,
          Files.size(out.resolve("quantized.onnx.data")));
    } finally {
      deleteAll(root);
      System.err.printf("LargeModelIT: one initializer: wall time %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
  }

  /** Calibration and evaluation inputs: uniform in [-1, 1), different per seed. */
  private static float[] inputs(int n, long seed) {
    return TestGraphs.randomFloats(n * IN, seed * 7919);
  }

  /**
   * x[N,512] -> MatMul(W1[512, HIDDEN]) -> Relu -> Gemm(W2[512, HIDDEN], C[512], transB=1) -> y, with W1
   * and W2 in {@code large.onnx.data}. Values: a per-element hash in [-1, 1) scaled per output channel, so
   * per-channel scales differ; written through one direct buffer, never a whole tensor in memory.
   */
  private static long writeModel(Path model) throws IOException {
    Files.createDirectories(model.getParent());
    Path data = model.resolveSibling("large.onnx.data");
    long w2Offset = TENSOR_BYTES;
    try (FileChannel out = FileChannel.open(data, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(1 << 24).order(ByteOrder.LITTLE_ENDIAN);
      // W1 [IN, HIDDEN]: channel = column j (axis 1)
      writeTensor(out, buf, 0, (long) IN * HIDDEN, i -> (int) (i % HIDDEN), 1f);
      // W2 [OUT, HIDDEN]: channel = row o (axis 0); small so y stays O(10)
      writeTensor(out, buf, w2Offset, (long) OUT * HIDDEN, i -> (int) (i / HIDDEN), 1f / 256);
    }
    TensorProto w1 = external("W1", new long[] {IN, HIDDEN}, 0);
    TensorProto w2 = external("W2", new long[] {OUT, HIDDEN}, w2Offset);
    ModelProto m = TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm", List.of("x", "W1"), List.of("h")),
            TestGraphs.node("Relu", "relu", List.of("h"), List.of("r")),
            TestGraphs.node("Gemm", "gemm", List.of("r", "W2", "C"), List.of("y"), TestGraphs.i("transB", 1))),
        List.of(TestGraphs.floatInfo("x", -1, IN)), List.of(TestGraphs.floatInfo("y")),
        List.of(w1, w2, TestGraphs.floatTensor("C", new long[] {OUT}, TestGraphs.randomFloats(OUT, 3))));
    Files.write(model, m.toByteArray());
    return Files.size(data);
  }

  private interface Channel {
    int of(long flatIndex);
  }

  private static final float[] NOISE = noise(1 << 20);

  /** Uniform values in [-1, 1) from a 64-bit mix of the index (period 2^20, reused for speed). */
  private static float[] noise(int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      long h = i * 0x9E3779B97F4A7C15L;
      h ^= h >>> 29;
      h *= 0xBF58476D1CE4E5B9L;
      h ^= h >>> 32;
      a[i] = ((h >>> 40) / (float) (1 << 24)) * 2 - 1;
    }
    return a;
  }

  private static void writeTensor(FileChannel out, ByteBuffer buf, long offset, long count, Channel channel, float scale)
      throws IOException {
    float[] chunk = new float[buf.capacity() / Float.BYTES];
    float[] channelScale = new float[13];
    for (int c = 0; c < 13; c++) {
      channelScale[c] = scale * (0.25f + c / 16f);
    }
    long pos = offset;
    int mask = NOISE.length - 1;
    for (long i = 0; i < count; ) {
      int len = (int) Math.min(chunk.length, count - i);
      for (int k = 0; k < len; k++, i++) {
        chunk[k] = NOISE[(int) (i & mask)] * channelScale[channel.of(i) % 13];
      }
      buf.clear();
      buf.asFloatBuffer().put(chunk, 0, len);
      buf.limit(len * Float.BYTES);
      while (buf.hasRemaining()) {
        pos += out.write(buf, pos);
      }
    }
  }

  private static TensorProto external(String name, long[] dims, long offset) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setDataLocation(TensorProto.DataLocation.EXTERNAL);
    for (long d : dims) {
      t.addDims(d);
    }
    t.addExternalData(entry("location", "large.onnx.data"));
    t.addExternalData(entry("offset", Long.toString(offset)));
    t.addExternalData(entry("length", Long.toString(TENSOR_BYTES)));
    return t.build();
  }

  private static StringStringEntryProto entry(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  record Child(double seconds, long maxRssKb) {}

  /**
   * Runs {@code qcal ARGS} in a child JVM with a {@value #CHILD_HEAP} heap, from the shaded job jar and
   * Spark's jars (as spark-submit would), its temporary files under {@code root}; measured by
   * {@code /usr/bin/time -v} when present.
   */
  private static Child qcal(Path root, String... args) throws Exception {
    String jar = System.getProperty("qcal.it.jar");
    String sparkHome = System.getProperty("qcal.it.sparkHome");
    assertTrue(jar != null && Files.isRegularFile(Path.of(jar)), "shaded jar " + jar + " (run through mvn verify)");
    Path tmp = Files.createDirectories(root.resolve("child-tmp"));
    List<String> cmd = new ArrayList<>();
    boolean timed = Files.isExecutable(Path.of("/usr/bin/time"));
    if (timed) {
      cmd.addAll(List.of("/usr/bin/time", "-v"));
    }
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add(CHILD_HEAP);
    for (String o : System.getProperty("qcal.it.javaOpens", "").split("\\s+")) {
      if (!o.isBlank()) {
        cmd.add(o);
      }
    }
    cmd.addAll(List.of("-Djava.io.tmpdir=" + tmp, "-Dlog4j2.configurationFile=" + Path.of("conf/log4j2.properties").toAbsolutePath(),
        "-cp", jar + java.io.File.pathSeparator + Path.of(sparkHome, "jars") + "/*", "dev.qcal.cli.Main"));
    cmd.addAll(List.of(args));
    Path log = root.resolve(args[0] + ".log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    long t = System.nanoTime();
    Process p = pb.start();
    try {
      assertTrue(p.waitFor(600, TimeUnit.SECONDS), args[0] + " timed out:\n" + tail(log));
      double seconds = (System.nanoTime() - t) / 1e9;
      String out = Files.readString(log);
      assertEquals(0, p.exitValue(), args[0] + " failed:\n" + tail(log));
      long rss = -1;
      Matcher m = Pattern.compile("Maximum resident set size \\(kbytes\\): (\\d+)").matcher(out);
      if (m.find()) {
        rss = Long.parseLong(m.group(1));
      }
      return new Child(seconds, rss);
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  private static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  private static void deleteAll(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
