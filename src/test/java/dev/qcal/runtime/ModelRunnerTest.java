package dev.qcal.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import dev.qcal.data.Batcher;
import dev.qcal.data.Sample;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Outputs read from pinned, reused buffers equal ONNX Runtime's own copies, batch after batch. */
class ModelRunnerTest {
  private static final Path MODEL = Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx");

  private static Batcher.Batch batch(Batcher b, long seed, int n, int width) {
    Random r = new Random(seed);
    Batcher.Batch out = null;
    for (int i = 0; i < n; i++) {
      float[] v = new float[3 * 48 * width];
      for (int j = 0; j < v.length; j++) {
        v[j] = r.nextFloat() * 2 - 1;
      }
      out = b.offer(new Sample(new float[][] {v}, new long[][] {{3, 48, width}}, "s" + i));
    }
    return out != null ? out : b.flush();
  }

  private static Map<String, float[]> capture(ModelRunner runner, Batcher.Batch batch, Map<String, long[]> shapes) {
    Map<String, float[]> got = new LinkedHashMap<>();
    runner.run(batch, (name, values, shape) -> {
      float[] copy = new float[values.remaining()];
      values.duplicate().get(copy);
      got.put(name, copy);
      shapes.put(name, shape.clone());
    });
    return got;
  }

  @Test
  void pinnedOutputsEqualFreshRunsAcrossBatchesAndShapes() throws Exception {
    try (OrtSession session = Ort.env().createSession(MODEL.toString(), new OrtSession.SessionOptions())) {
      String out = session.getOutputNames().iterator().next();
      try (ModelRunner runner = new ModelRunner(session, List.of("x"), List.of(out))) {
        List<Map<String, float[]>> seen = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        long[][] widths = {{4, 192}, {4, 192}, {2, 96}, {4, 192}, {2, 96}};
        for (int k = 0; k < widths.length; k++) {
          int n = (int) widths[k][0];
          int w = (int) widths[k][1];
          Batcher.Batch b = batch(new Batcher(1, n), k, n, w);
          float[] in = new float[b.floats(0).remaining()];
          b.floats(0).get(in);
          expected.add(Ort.run(MODEL, Map.of("x", in), Map.of("x", new long[] {n, 3, 48, w})).get(out));
          Map<String, long[]> shapes = new LinkedHashMap<>();
          seen.add(capture(runner, b, shapes));
          assertArrayEquals(new long[] {n, 2}, shapes.get(out));
        }
        for (int k = 0; k < widths.length; k++) {
          assertArrayEquals(expected.get(k), seen.get(k).get(out), 1e-6f, "batch " + k);
        }
        // different inputs really gave different outputs (the buffers are not stale)
        assertTrue(expected.get(0)[0] != expected.get(1)[0]);
      }
    }
  }

  @Test
  void exposedInputsAndIntermediatesAreFreshOnEveryBatch(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    List<String> exposed = List.of("x", "batch_norm_0.tmp_3", "hardswish_0.tmp_0");
    Path augmented = tmp.resolve("augmented.onnx");
    dev.qcal.model.onnx.OnnxModels.save(
        dev.qcal.model.prepare.GraphAugmenter.exposeOutputs(dev.qcal.model.onnx.OnnxModels.load(MODEL), exposed), augmented);
    try (OrtSession session = Ort.env().createSession(augmented.toString(), new OrtSession.SessionOptions());
        ModelRunner runner = new ModelRunner(session, List.of("x"), exposed)) {
      for (int k = 0; k < 4; k++) {
        Batcher.Batch b = batch(new Batcher(1, 2), 10 + k, 2, 96);
        float[] in = new float[b.floats(0).remaining()];
        b.floats(0).get(in);
        Map<String, float[]> expected = Ort.run(augmented, Map.of("x", in), Map.of("x", new long[] {2, 3, 48, 96}));
        Map<String, float[]> got = capture(runner, b, new LinkedHashMap<>());
        assertArrayEquals(in, got.get("x"), "batch " + k);
        for (String t : exposed.subList(1, exposed.size())) {
          assertArrayEquals(expected.get(t), got.get(t), 1e-6f, t + " batch " + k);
        }
      }
    }
  }

  @Test
  void pooledRunnersAreReusedByTheNextTask() throws Exception {
    try (OrtSession session = Ort.env().createSession(MODEL.toString(), new OrtSession.SessionOptions())) {
      List<String> outs = List.of(session.getOutputNames().iterator().next());
      ModelRunner first = ModelRunner.pooled("pool-test", session, List.of("x"), outs);
      ModelRunner concurrent = ModelRunner.pooled("pool-test", session, List.of("x"), outs);
      assertTrue(first != concurrent, "a runner in use is never handed out twice");
      first.close();
      ModelRunner next = ModelRunner.pooled("pool-test", session, List.of("x"), outs);
      assertTrue(next == first, "the next task gets the released runner and its buffers");
      // and it still computes correct outputs after reuse
      Batcher.Batch b = batch(new Batcher(1, 2), 42, 2, 64);
      float[] in = new float[b.floats(0).remaining()];
      b.floats(0).get(in);
      float[] expected = Ort.run(MODEL, Map.of("x", in), Map.of("x", new long[] {2, 3, 48, 64})).get(outs.get(0));
      assertArrayEquals(expected, capture(next, b, new LinkedHashMap<>()).get(outs.get(0)), 1e-6f);
      next.close();
      concurrent.close();
      assertTrue(ModelRunner.pooled("other-key", session, List.of("x"), outs) != first);
    }
  }

  @Test
  void sinkSeesTheWholeBufferFromPositionZero() throws Exception {
    try (OrtSession session = Ort.env().createSession(MODEL.toString(), new OrtSession.SessionOptions());
        ModelRunner runner = new ModelRunner(session, List.of("x"), List.of(session.getOutputNames().iterator().next()))) {
      for (int k = 0; k < 3; k++) {
        Batcher.Batch b = batch(new Batcher(1, 3), k, 3, 64);
        int[] remaining = {-1};
        runner.run(b, (name, values, shape) -> {
          assertEquals(0, values.position());
          remaining[0] = values.remaining();
        });
        assertEquals(6, remaining[0]);
      }
    }
  }
}
