package dev.qcal.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.examples.OpGraphs;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every {@link OpGraphs} case, built with the newest IR version, calibrated by {@code qcal calibrate} with the
 * default op types at opsets 11, 13, 17 and 21 with a free and a fixed (2, rows fed without it) leading
 * dimension, and with the op named in {@code --op-types} (besides Conv, Gemm, MatMul) at opset 13 (17 for
 * LayerNormalization): exit 0, ONNX Runtime runs the quantized model, the plan quantizes the op's nodes
 * exactly when asked or by default, the op's nodes read a DequantizeLinear output when asked, and the output
 * SQNR against FP32 (both run by ONNX Runtime here) is at least the case's threshold, set a few dB below the
 * figure measured. The figures at opset 13 with a free leading dimension are printed as a table after the run
 * ({@code mvn -o -q test -Dtest=OpCoverageTest}, lines starting with {@code |}).
 */
@ExtendWith(SharedSpark.class)
class OpCoverageTest {
  private static final String PRODUCERS = "Conv,Gemm,MatMul";
  private static final Map<String, double[]> TABLE = new ConcurrentSkipListMap<>();
  @TempDir static Path tmp;

  /** Set (-Dqcal.opCoverage=full) to calibrate every opset and leading dimension both ways (about 20 minutes). */
  private static final boolean FULL = "full".equals(System.getProperty("qcal.opCoverage"));

  /** Set (-Dqcal.opCoverage.ops=Gather,Pad) to run only these cases. */
  private static final List<String> ONLY = System.getProperty("qcal.opCoverage.ops", "").isBlank() ? List.of()
      : List.of(System.getProperty("qcal.opCoverage.ops").split(","));

  private static List<OpGraphs.Case> selected() {
    return OpGraphs.cases().stream().filter(c -> ONLY.isEmpty() || ONLY.contains(c.op())).toList();
  }

  /** The table's point: opset 13 (the op's first supported opset when later), free leading dimension. */
  private static int tableOpset(OpGraphs.Case c) {
    return Math.max(13, c.minOpset());
  }

  /**
   * Each case at every opset and leading dimension in the full run; otherwise at the table's point, and
   * every third case at one more (opset, leading) pair, taken in turn so that each of the 8 pairs is
   * calibrated by some case.
   */
  static Stream<Arguments> matrix() {
    List<OpGraphs.Case> cases = selected();
    return java.util.stream.IntStream.range(0, cases.size()).boxed().flatMap(k -> {
      OpGraphs.Case c = cases.get(k);
      List<Integer> opsets = OpGraphs.OPSETS.stream().filter(o -> o >= c.minOpset()).toList();
      if (FULL) {
        return opsets.stream().flatMap(o -> Stream.of(OpGraphs.FREE, OpGraphs.FIXED).map(l -> Arguments.of(c.op(), o, l)));
      }
      Stream<Arguments> table = Stream.of(Arguments.of(c.op(), tableOpset(c), OpGraphs.FREE));
      int j = k / 3;
      int o = opsets.get(j % opsets.size());
      long l = j / opsets.size() % 2 == 0 ? OpGraphs.FIXED : OpGraphs.FREE;
      return k % 3 != 0 || o == tableOpset(c) && l == OpGraphs.FREE ? table
          : Stream.concat(table, Stream.of(Arguments.of(c.op(), o, l)));
    });
  }

  /** The table's point for every case; every opset and leading dimension in the full run. */
  static Stream<Arguments> tableMatrix() {
    return FULL ? matrix() : selected().stream().map(c -> Arguments.of(c.op(), tableOpset(c), OpGraphs.FREE));
  }

  /** Every case builds at every opset with both leading dimensions, and ONNX Runtime runs the FP32 model. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void everyGraphRunsInFp32AtEveryOpset(String op) throws Exception {
    OpGraphs.Case c = OpGraphs.of(op);
    for (int opset : OpGraphs.OPSETS) {
      for (long leading : new long[] {OpGraphs.FREE, OpGraphs.FIXED}) {
        if (opset < c.minOpset()) {
          continue;
        }
        ai.onnx.proto.OnnxMl.ModelProto m = c.build(opset, leading);
        assertEquals(OpGraphs.NEWEST_IR, m.getIrVersion());
        assertEquals(opset, m.getOpsetImport(0).getVersion());
        assertTrue(m.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals(op)), op + " " + opset);
        Path f = tmp.resolve("fp32-" + op + "-" + opset + "-" + leading + ".onnx");
        dev.qcal.model.onnx.OnnxModels.save(m.toBuilder().setIrVersion(11).build(), f);
        long[] shape = dev.qcal.runtime.Ort.inputShapes(f).get("x").clone();
        shape[0] = leading == OpGraphs.FREE ? 3 : leading;
        float[] x = new float[(int) java.util.Arrays.stream(shape).reduce(1, Math::multiplyExact)];
        java.util.Arrays.fill(x, 0.5f);
        assertFalse(dev.qcal.runtime.Ort.run(f, Map.of("x", x), Map.of("x", shape)).isEmpty());
      }
    }
  }

  static Stream<String> cases() {
    return OpGraphs.cases().stream().map(OpGraphs.Case::op);
  }

  @ParameterizedTest(name = "{0} opset {1} leading {2}")
  @MethodSource("matrix")
  void calibratesWithTheDefaults(String op, int opset, long leading, SparkSession spark) throws Exception {
    OpGraphs.Case c = OpGraphs.of(op);
    OpRun r = OpRun.of(c, opset, leading, tmp, null);
    assertEquals(0, r.calibrate().code(), r.calibrate().err());
    assertEquals(leading == OpGraphs.FREE ? "batched" : "whole", r.feed(), "run.json feed");
    double db = r.sqnrDb();
    record(c, opset, leading, 0, db);
    assertTrue(db >= c.minDefaultsDb(), op + " opset " + opset + " leading " + leading + ": " + db + " dB");
    if (opset == tableOpset(c) && leading == OpGraphs.FREE) {
      List<String> d = r.decisions();
      assertFalse(d.isEmpty(), op + ": inspect printed no " + op + " node");
      assertTrue(d.stream().allMatch(l -> l.startsWith(c.quantizedByDefault() ? "QDQ " : "FP32")), d.toString());
    }
  }

  @ParameterizedTest(name = "{0} opset {1} leading {2}")
  @MethodSource("tableMatrix")
  void calibratesWhenAsked(String op, int opset, long leading, SparkSession spark) throws Exception {
    OpGraphs.Case c = OpGraphs.of(op);
    OpRun r = OpRun.of(c, opset, leading, tmp, PRODUCERS + "," + op);
    assertEquals(0, r.calibrate().code(), r.calibrate().err());
    assertFalse(r.calibrate().err().contains("warning"), r.calibrate().err());
    long nodes = r.opNodes(dev.qcal.model.onnx.OnnxModels.load(r.quantized())).size();
    assertTrue(nodes > 0, op + " node missing from the quantized graph");
    assertEquals(nodes, r.opNodesReadingDequantized(), op + ": every node reads a dequantized tensor");
    List<String> d = r.decisions();
    assertTrue(!d.isEmpty() && d.stream().allMatch(l -> l.startsWith("QDQ ")), d.toString());
    double db = r.sqnrDb();
    record(c, opset, leading, 1, db);
    assertTrue(db >= c.minAskedDb(), op + " asked, opset " + opset + " leading " + leading + ": " + db + " dB");
  }

  private static void record(OpGraphs.Case c, int opset, long leading, int column, double db) {
    System.out.printf(Locale.ROOT, "OPCOV %s opset %d leading %d %s %.2f dB%n", c.op(), opset, leading,
        column == 0 ? "defaults" : "asked", db);
    if (opset == tableOpset(c) && leading == OpGraphs.FREE) {
      TABLE.computeIfAbsent(c.op(), k -> new double[] {Double.NaN, Double.NaN})[column] = db;
    }
  }

  @AfterAll
  static void printTable() {
    StringBuilder table = new StringBuilder(String.format("%n%n| op | quantized by default | when asked | SQNR dB "
        + "(defaults / asked) |%n|---|---|---|---|%n"));
    boolean complete = true;
    for (OpGraphs.Case c : OpGraphs.cases()) {
      double[] v = TABLE.get(c.op());
      complete &= v != null && !Double.isNaN(v[0]) && !Double.isNaN(v[1]);
      if (v != null) {
        table.append(String.format(Locale.ROOT, "| %s | %s | yes | %.1f / %.1f |%n", c.op(),
            c.quantizedByDefault() ? "yes" : "no", v[0], v[1]));
      }
    }
    System.out.print(table);
    if (complete) { // every case ran (not a -Dqcal.opCoverage.ops subset): docs/quantization.md quotes this table
      java.util.function.BiPredicate<String, String> within = dev.qcal.docs.DocFigure::sameButLastDigit; // 0.1 dB
      dev.qcal.docs.DocFigure.assertQuoted("opcoverage.table", table.append(String.format("%n")).toString(), within);
      // what naming an op costs or gains at most, Gather (a token calibrated on its own) and the contrib ops (their
      // own table and paragraph) aside
      double cost = 0;
      double gain = 0;
      for (Map.Entry<String, double[]> e : TABLE.entrySet()) {
        if (!List.of("Gather", "Attention", "SkipLayerNormalization").contains(e.getKey())) {
          cost = Math.max(cost, e.getValue()[0] - e.getValue()[1]);
          gain = Math.max(gain, e.getValue()[1] - e.getValue()[0]);
        }
      }
      dev.qcal.docs.DocFigure.assertQuoted("opcoverage.max_cost", String.format(Locale.ROOT, "%.1f", cost), within);
      dev.qcal.docs.DocFigure.assertQuoted("opcoverage.max_gain", String.format(Locale.ROOT, "%.1f", gain), within);
    }
  }
}
