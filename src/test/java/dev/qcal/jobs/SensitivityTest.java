package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.data.Sample;
import dev.qcal.model.FragileModel;
import dev.qcal.model.plan.CalibrationPlan;
import dev.qcal.model.qdq.QdqRewriter;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.testing.SharedSpark;
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
    }
  }
}
