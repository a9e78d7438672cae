package dev.qcal.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtSession;
import dev.qcal.model.TransformerGraphs;
import dev.qcal.model.TransformerQdq;
import dev.qcal.model.TransformerQdq.Batch;
import dev.qcal.model.plan.PlanOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * FP32 vs int8 on the transformer blocks of {@link TransformerGraphs} (BERT-style encoder with int64 ids,
 * ViT-style encoder), and with the default op set on the zoo's TinyBert, TinyGpt and TinyVit
 * ({@code dev.qcal.examples}; quantized here without the calibrate job's preparation): for each op set, the kernels ONNX Runtime's CPU provider runs after all
 * optimizations (integer kernels, fused float kernels, Q/DQ left), the logits SQNR against FP32 on held-out
 * batches (min/max calibration), and samples/s of the ORT CPU session (one intra-op thread, which runs
 * the graph on the calling thread; batch 8, all variants interleaved in rounds, median per batch) as ratios
 * to FP32 from one run, over wall time and over the calling thread's CPU time (the latter holds on a
 * loaded machine). Run with
 * {@code scripts/bench transformers}; figures only, no assertion.
 */
public final class TransformerQdqBench {
  private static final int BATCH = 8;
  private static final int CALIB = 64;
  private static final int EVAL = 64;
  private static final int ROUNDS = Integer.getInteger("qcal.bench.rounds", 10);
  private static final int RUNS_PER_ROUND = Integer.getInteger("qcal.bench.runs", 5);

  /** Ops that only move values and share their input's params (ORT's "same scale" ops). */
  static final List<String> PASS_THROUGH = List.of("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice", "Split",
      "Expand", "Gather", "Flatten");

  private TransformerQdqBench() {}

  /** The candidate op sets: the defaults, the defaults plus one group each, and every rule. */
  static Map<String, PlanOptions> candidates() {
    Map<String, PlanOptions> c = new LinkedHashMap<>();
    Set<String> base = PlanOptions.defaults().opTypes();
    c.put("default (Conv,Gemm,MatMul)", options(base));
    Map<String, List<String>> groups = new LinkedHashMap<>();
    groups.put("+ pass-through", PASS_THROUGH);
    groups.put("+ Add,Mul", List.of("Add", "Mul"));
    groups.put("+ Softmax", List.of("Softmax"));
    groups.put("+ LayerNormalization", List.of("LayerNormalization"));
    groups.put("+ Gelu", List.of("Gelu"));
    groups.forEach((name, ops) -> {
      Set<String> s = new LinkedHashSet<>(base);
      s.addAll(ops);
      c.put(name, options(s));
    });
    c.put("every rule", options(new LinkedHashSet<>(PlanOptions.knownOpTypes())));
    return c;
  }

  private static PlanOptions options(Set<String> ops) {
    return new PlanOptions(Set.copyOf(ops), List.of(), Set.of(), false);
  }

  public static void main(String[] args) throws Exception {
    TransformerGraphs.Size bert = TransformerGraphs.BERT;
    bench("BERT-style encoder (2 layers, hidden 128, seq 32, vocab 8192, int64 ids)", TransformerGraphs.bert(bert),
        TransformerQdq.bertBatches(bert, 1, CALIB, BATCH), TransformerQdq.bertBatches(bert, 2, EVAL, BATCH),
        candidates());
    bench("ViT-style encoder (2 layers, hidden 128, 16 patches of 8x8, opset 17)",
        TransformerGraphs.vit(TransformerGraphs.VIT, 17),
        TransformerQdq.vitBatches(1, CALIB, BATCH), TransformerQdq.vitBatches(2, EVAL, BATCH), candidates());
    // the zoo's transformers (dev.qcal.examples, as the zoo tests build them), default op set only
    Map<String, PlanOptions> defaults = Map.of("default (Conv,Gemm,MatMul)", PlanOptions.defaults());
    int seq = 16;
    bench("zoo TinyBert (opset 17, three int64 inputs, seq 16)", dev.qcal.examples.TinyBert.build(17, 1),
        TransformerQdq.zooBertBatches(11, CALIB, BATCH, seq, dev.qcal.examples.TinyBert.VOCAB),
        TransformerQdq.zooBertBatches(12, EVAL, BATCH, seq, dev.qcal.examples.TinyBert.VOCAB), defaults);
    bench("zoo TinyGpt (opset 14, int64 ids, causal mask, seq 16)", dev.qcal.examples.TinyGpt.build(14, 2),
        TransformerQdq.zooGptBatches(11, CALIB, BATCH, seq, dev.qcal.examples.TinyGpt.VOCAB),
        TransformerQdq.zooGptBatches(12, EVAL, BATCH, seq, dev.qcal.examples.TinyGpt.VOCAB), defaults);
    String px = dev.qcal.examples.TinyVit.INPUT;
    bench("zoo TinyVit (opset 17, 32x32 pixels)", dev.qcal.examples.TinyVit.build(17, 3),
        TransformerQdq.renamed(TransformerQdq.vitBatches(1, CALIB, BATCH), "pixels", px),
        TransformerQdq.renamed(TransformerQdq.vitBatches(2, EVAL, BATCH), "pixels", px), defaults);
  }

  private static void bench(String title, ModelProto m, List<Batch> calib, List<Batch> eval,
      Map<String, PlanOptions> candidates) throws Exception {
    System.out.println("== " + title);
    System.out.printf("FP32: %,d bytes; ORT kernels %s%n", m.getSerializedSize(), TransformerQdq.kernels(m));
    List<String> names = new ArrayList<>();
    List<ModelProto> models = new ArrayList<>();
    names.add("FP32");
    models.add(m);
    for (Map.Entry<String, PlanOptions> e : candidates.entrySet()) {
      TransformerQdq.Measure r = TransformerQdq.measure(e.getKey(), m, e.getValue(), calib, eval);
      ModelProto q = TransformerQdq.quantize(m, e.getValue(), calib);
      System.out.printf("%-28s SQNR %6.2f dB, %d of %d nodes quantized, %,d bytes; %s%n", e.getKey(), r.sqnrDb(),
          r.quantizedNodes(), r.nodes(), q.getSerializedSize(), r.kernelSummary());
      names.add(e.getKey());
      models.add(q);
    }
    List<OrtSession> sessions = new ArrayList<>();
    try {
      for (ModelProto x : models) {
        sessions.add(TransformerQdq.session(x, 1));
      }
      List<List<Long>> times = new ArrayList<>();
      List<List<Long>> cpu = new ArrayList<>();
      sessions.forEach(s -> times.add(new ArrayList<>()));
      sessions.forEach(s -> cpu.add(new ArrayList<>()));
      java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
      Batch b = eval.get(0);
      for (int k = 0; k < 3; k++) {
        for (OrtSession s : sessions) {
          TransformerQdq.run(s, b, "logits");
        }
      }
      for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < sessions.size(); i++) {
          for (int k = 0; k < RUNS_PER_ROUND; k++) {
            long c = mx.getCurrentThreadCpuTime();
            long t = System.nanoTime();
            TransformerQdq.run(sessions.get(i), b, "logits");
            times.get(i).add(System.nanoTime() - t);
            cpu.get(i).add(mx.getCurrentThreadCpuTime() - c);
          }
        }
      }
      double fp32 = BATCH / (median(times.get(0)) / 1e9);
      double fp32Cpu = BATCH / (median(cpu.get(0)) / 1e9);
      for (int i = 0; i < sessions.size(); i++) {
        double sps = BATCH / (median(times.get(i)) / 1e9);
        double spc = BATCH / (median(cpu.get(i)) / 1e9);
        System.out.printf("%-28s %8.1f samples/s wall, x%.2f vs FP32; %8.1f samples per CPU-second, x%.2f vs FP32"
            + " (batch %d, median of %d)%n", names.get(i), sps, sps / fp32, spc, spc / fp32Cpu, BATCH,
            times.get(i).size());
      }
    } finally {
      for (OrtSession s : sessions) {
        s.close();
      }
    }
  }

  private static double median(List<Long> v) {
    List<Long> s = new ArrayList<>(v);
    s.sort(null);
    return s.get(s.size() / 2);
  }
}
