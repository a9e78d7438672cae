package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.data.Sample;
import dev.qcal.model.FragileModel;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The sensitivity sample and ranking do not depend on how the data or the tensors are partitioned. */
@ExtendWith(SharedSpark.class)
class SensitivityTest {
  private static List<Sample> samples(int n) {
    Random r = new Random(5);
    List<Sample> l = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      float[] x = new float[FragileModel.FEATURES];
      for (int k = 0; k < x.length; k++) {
        x[k] = (float) (r.nextDouble() * 2 - 1);
      }
      l.add(new Sample(new float[][] {x}, new long[][] {{FragileModel.FEATURES}}, "part-" + (i % 3) + ".npy:" + i));
    }
    return l;
  }

  @Test
  void theSampleDependsOnTheValuesNotOnWhereTheyAreStored(SparkSession spark) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<Sample> all = samples(50);
    // the same values moved to another file system and split into other files, in another order
    List<Sample> moved = new ArrayList<>();
    for (int i = all.size() - 1; i >= 0; i--) {
      Sample s = all.get(i);
      moved.add(new Sample(s.values(), s.shapes(), "hdfs://nn/elsewhere/file-" + (i % 7) + ".npy:" + i / 7));
    }
    List<String> here = Sensitivity.sample(jsc.parallelize(all, 3), 20).stream()
        .map(s -> java.util.Arrays.toString((float[]) s.values()[0])).toList();
    List<String> there = Sensitivity.sample(jsc.parallelize(moved, 4), 20).stream()
        .map(s -> java.util.Arrays.toString((float[]) s.values()[0])).toList();
    assertEquals(here, there);
    assertEquals(20, new java.util.HashSet<>(here).size(), "20 distinct samples");
  }

  @Test
  void sampleAndRankingAreTheSameForAnyPartitioning(SparkSession spark) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    List<Sample> all = samples(50);
    JavaRDD<Sample> one = jsc.parallelize(all, 1);
    JavaRDD<Sample> seven = jsc.parallelize(all, 7).repartition(5);
    List<Sample> a = Sensitivity.sample(one, 20);
    List<Sample> b = Sensitivity.sample(seven, 20);
    assertEquals(a.stream().map(Sample::source).toList(), b.stream().map(Sample::source).toList());
    assertNotEquals(all.subList(0, 20).stream().map(Sample::source).toList(), a.stream().map(Sample::source).toList(),
        "chosen by hash, not by position");

    ModelProto fp32 = FragileModel.model();
    CalibrationPlan plan = CalibrationPlan.of(fp32);
    Map<String, QuantParams> params = new LinkedHashMap<>();
    params.put("x", LinearQuant.forRange(-1f, 1f, QuantType.UINT8, false));
    params.put("x0", LinearQuant.forRange(-4f, 4f, QuantType.UINT8, false));
    params.put("a", LinearQuant.forRange(-4000f, 4000f, QuantType.UINT8, false));
    params.put("logits", LinearQuant.forRange(-8f, 8f, QuantType.UINT8, false));
    ModelProto quantized = QdqRewriter.rewrite(QdqRewriter.Request.of(fp32, plan, params)).model();
    try (WorkDir work = WorkDir.create("qcal-sens-test-")) {
      Sensitivity.Models models = new Sensitivity.Models(fp32, quantized);
      Sensitivity.Result r1 = Sensitivity.measure(jsc, work.path(), models,
          new Sensitivity.Feed(a, List.of("x"), List.of("logits"), 3),
          new Sensitivity.Tasks(1, 1, Sensitivity.KEEP_REFERENCE_FLOATS));
      Sensitivity.Result r7 = Sensitivity.measure(jsc, work.path(), models,
          new Sensitivity.Feed(b, List.of("x"), List.of("logits"), 3),
          new Sensitivity.Tasks(1, 7, Sensitivity.KEEP_REFERENCE_FLOATS));
      assertEquals(r1, r7);
      // FP32 outputs recomputed per variant (none kept) give the same figures
      Sensitivity.Result recomputed = Sensitivity.measure(jsc, work.path(), models,
          new Sensitivity.Feed(a, List.of("x"), List.of("logits"), 3), new Sensitivity.Tasks(1, 2, 0));
      assertEquals(r1, recomputed);
      assertEquals(20, r1.samples());
      // x, x0, a and the three weights: logits, a MatMul's graph output, stays float (QdqRewriter.Outputs.AUTO)
      assertEquals(6, r1.ranked().size());
      assertEquals(FragileModel.FRAGILE, r1.ranked().get(0).tensor());
      assertEquals(List.of("mm2"), r1.ranked().get(0).nodes());
      // each figure against the FP32 model with only that tensor quantized, built here and run on the 20 samples
      float[] x = new float[20 * FragileModel.FEATURES];
      for (int i = 0; i < 20; i++) {
        System.arraycopy((float[]) a.get(i).values()[0], 0, x, i * FragileModel.FEATURES, FragileModel.FEATURES);
      }
      float[] ref = logits(fp32, x);
      for (Sensitivity.Entry e : r1.ranked()) {
        float[] v = logits(onlyQuantized(fp32, quantized, e.tensor()), x);
        assertEquals(sqnrDb(ref, v), e.outputSqnrDb(), 1e-6, e.tensor());
        assertEquals(agreement(ref, v), e.top1Agreement(), e.tensor());
      }
      assertEquals(java.util.Set.of("x", "x0", "a", "W0", "W1", "W2"),
          r1.ranked().stream().map(Sensitivity.Entry::tensor).collect(java.util.stream.Collectors.toSet()));
    }
  }

  private static float[] logits(ModelProto m, float[] x) {
    Path file = Path.of(System.getProperty("java.io.tmpdir"), "qcal-sens-oracle-" + ProcessHandle.current().pid()
        + ".onnx");
    try {
      Files.write(file, m.toByteArray());
      return Ort.run(file, Map.of("x", x), Map.of("x", new long[] {x.length / FragileModel.FEATURES,
          FragileModel.FEATURES})).get("logits");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      file.toFile().delete();
    }
  }

  /**
   * {@code fp32} with only {@code tensor} quantized as {@code quantized} quantizes it: an activation gets that
   * model's QuantizeLinear and DequantizeLinear after it, a weight that model's DequantizeLinear of its integers in
   * its place (the nodes and their initializers copied, every reader of the tensor rewired to the dequantized copy).
   */
  static ModelProto onlyQuantized(ModelProto fp32, ModelProto quantized, String tensor) {
    List<NodeProto> qdq = new ArrayList<>();
    String reader = fp32.getGraph().getNodeList().stream().filter(n -> n.getInputList().contains(tensor))
        .findFirst().orElseThrow().getName();
    NodeProto consumer = quantized.getGraph().getNodeList().stream().filter(n -> n.getName().equals(reader))
        .findFirst().orElseThrow();
    int slot = fp32.getGraph().getNodeList().stream().filter(n -> n.getName().equals(reader)).findFirst()
        .orElseThrow().getInputList().indexOf(tensor);
    NodeProto dq = BiasCorrectionTest.producer(quantized, consumer.getInput(slot));
    assertEquals("DequantizeLinear", dq.getOpType());
    NodeProto q = BiasCorrectionTest.producer(quantized, dq.getInput(0));
    if (q != null) {
      assertEquals(tensor, q.getInput(0));
      qdq.add(q);
    }
    qdq.add(dq);
    String dequantized = dq.getOutput(0);
    ai.onnx.proto.OnnxMl.GraphProto.Builder g = fp32.getGraph().toBuilder().clearNode();
    boolean placed = false;
    if (q == null || fp32.getGraph().getInputList().stream().anyMatch(i -> i.getName().equals(tensor))) {
      g.addAllNode(qdq);
      placed = true;
    }
    for (NodeProto n : fp32.getGraph().getNodeList()) {
      NodeProto.Builder b = n.toBuilder();
      for (int i = 0; i < n.getInputCount(); i++) {
        if (n.getInput(i).equals(tensor)) {
          b.setInput(i, dequantized);
        }
      }
      g.addNode(b);
      if (!placed && n.getOutputList().contains(tensor)) {
        g.addAllNode(qdq);
        placed = true;
      }
    }
    for (NodeProto n : qdq) {
      for (String in : n.getInputList()) {
        quantized.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(in))
            .forEach(g::addInitializer);
      }
    }
    if (q == null) {
      g.removeInitializer(g.getInitializerList().stream().map(TensorProto::getName).toList().indexOf(tensor));
    }
    return fp32.toBuilder().setGraph(g).build();
  }

  /** 10 log10(sum ref^2 / sum (v - ref)^2); null when equal. */
  private static Double sqnrDb(float[] ref, float[] v) {
    double signal = 0;
    double noise = 0;
    for (int i = 0; i < ref.length; i++) {
      signal += (double) ref[i] * ref[i];
      noise += ((double) v[i] - ref[i]) * ((double) v[i] - ref[i]);
    }
    return noise == 0 ? null : 10 * Math.log10(signal / noise);
  }

  /** The share of rows whose highest logit is in the same class. */
  private static double agreement(float[] ref, float[] v) {
    int rows = ref.length / FragileModel.CLASSES;
    int same = 0;
    for (int r = 0; r < rows; r++) {
      same += top(ref, r) == top(v, r) ? 1 : 0;
    }
    return (double) same / rows;
  }

  private static int top(float[] v, int row) {
    int best = 0;
    for (int c = 1; c < FragileModel.CLASSES; c++) {
      best = v[row * FragileModel.CLASSES + c] > v[row * FragileModel.CLASSES + best] ? c : best;
    }
    return best;
  }
}
