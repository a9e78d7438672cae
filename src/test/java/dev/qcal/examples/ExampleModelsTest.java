package dev.qcal.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The example models behave as the architectures they imitate, checked in ONNX Runtime against a second
 * formulation: the same weights at other opsets (LayerNorm decomposed below 17, Unsqueeze axes as an attribute
 * below 13, Clip bounds and ReduceMean axes in both forms) give the same logits; BERT's padded positions do not
 * reach the logits; GPT's logits at position t do not depend on later tokens.
 */
class ExampleModelsTest {
  private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
  private static final int SEQ = 12;

  @Test
  void bertIsTheSameAtEveryOpset() throws Exception {
    float[] at17 = run(TinyBert.build(17, 3), bertFeeds(4, false));
    assertEquals(4 * TinyBert.CLASSES, at17.length);
    for (int opset : new int[] {11, 14}) {
      assertClose(at17, run(TinyBert.build(opset, 3), bertFeeds(4, false)), 1e-4f, "opset " + opset);
    }
  }

  @Test
  void bertIgnoresWhatThePaddingHolds() throws Exception {
    float[] zeros = run(TinyBert.build(17, 3), bertFeeds(4, false));
    float[] junk = run(TinyBert.build(17, 3), bertFeeds(4, true));
    assertClose(zeros, junk, 1e-5f, "padded ids changed");
    float sum = 0;
    for (float v : zeros) {
      sum += Math.abs(v);
    }
    assertTrue(sum > 0.1f, "logits are not all zero");
  }

  @Test
  void gptIsCausalAndTheSameAtEveryOpset() throws Exception {
    long[] ids = new long[2 * SEQ];
    for (int k = 0; k < ids.length; k++) {
      ids[k] = Tokens.gpt(7, k / SEQ, SEQ, TinyGpt.VOCAB)[k % SEQ];
    }
    float[] a = run(TinyGpt.build(14, 5), Map.of(TinyGpt.INPUT, ids(ids, 2, SEQ)));
    assertEquals(2 * SEQ * TinyGpt.VOCAB, a.length);
    assertClose(a, run(TinyGpt.build(17, 5), Map.of(TinyGpt.INPUT, ids(ids, 2, SEQ))), 1e-4f, "opset 17");
    long[] changed = ids.clone();
    int t = 7;
    changed[t] = changed[t] == 3 ? 4 : 3; // row 0, position 7
    float[] b = run(TinyGpt.build(14, 5), Map.of(TinyGpt.INPUT, ids(changed, 2, SEQ)));
    int v = TinyGpt.VOCAB;
    for (int p = 0; p < SEQ; p++) {
      float diff = 0;
      for (int k = 0; k < v; k++) {
        diff = Math.max(diff, Math.abs(a[p * v + k] - b[p * v + k]));
      }
      if (p < t) {
        assertTrue(diff < 1e-5f, "position " + p + " saw a later token: " + diff);
      } else {
        assertTrue(diff > 1e-3f, "position " + p + " did not see token " + t + ": " + diff);
      }
    }
  }

  @Test
  void smallCnnIsTheSameAtOpsets9To21() throws Exception {
    float[] x = new float[2 * 3 * Cnns.SIZE * Cnns.SIZE];
    SplittableRandom r = new SplittableRandom(1);
    for (int k = 0; k < x.length; k++) {
      x[k] = (float) (r.nextDouble() * 2 - 1);
    }
    long[] shape = {2, 3, Cnns.SIZE, Cnns.SIZE};
    float[] at13 = run(Cnns.small(13, 6), Map.of(Cnns.INPUT, OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), shape)));
    for (int opset : new int[] {9, 17, 21}) {
      float[] got = run(Cnns.small(opset, 6), Map.of(Cnns.INPUT, OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x),
          shape)));
      assertArrayEquals(at13, got, 1e-5f, "opset " + opset);
    }
  }

  @Test
  void fullyConvolutionalKeepsAnyImageSize() throws Exception {
    for (long[] hw : new long[][] {{24, 40}, {32, 32}, {7, 5}}) {
      float[] x = new float[(int) (3 * hw[0] * hw[1])];
      float[] y = run(Cnns.fullyConvolutional(5), Map.of(Cnns.INPUT, OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x),
          new long[] {1, 3, hw[0], hw[1]})));
      assertEquals(2 * hw[0] * hw[1], y.length);
    }
  }

  /** {@code n} BERT samples of {@link Tokens#bert}; with {@code junk}, padded positions hold random ids and types. */
  private static Map<String, OnnxTensor> bertFeeds(int n, boolean junk) throws Exception {
    long[][] cols = new long[3][n * SEQ];
    SplittableRandom r = new SplittableRandom(9);
    for (int s = 0; s < n; s++) {
      Tokens.Pair p = Tokens.bert(4, s, SEQ, TinyBert.VOCAB);
      for (int t = 0; t < SEQ; t++) {
        boolean pad = p.attentionMask()[t] == 0;
        cols[0][s * SEQ + t] = pad && junk ? 3 + r.nextInt(TinyBert.VOCAB - 3) : p.inputIds()[t];
        cols[1][s * SEQ + t] = p.attentionMask()[t];
        cols[2][s * SEQ + t] = pad && junk ? r.nextInt(2) : p.tokenTypeIds()[t];
      }
    }
    Map<String, OnnxTensor> f = new LinkedHashMap<>();
    for (int k = 0; k < 3; k++) {
      f.put(TinyBert.INPUTS.get(k), ids(cols[k], n, SEQ));
    }
    return f;
  }

  private static OnnxTensor ids(long[] v, int rows, int seq) throws Exception {
    return OnnxTensor.createTensor(ENV, LongBuffer.wrap(v), new long[] {rows, seq});
  }

  private static float[] run(ModelProto m, Map<String, OnnxTensor> feeds) throws Exception {
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
      try (OrtSession s = ENV.createSession(m.toByteArray(), o); OrtSession.Result r = s.run(feeds)) {
        FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
      }
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  private static void assertClose(float[] want, float[] got, float tol, String what) {
    assertEquals(want.length, got.length, what);
    for (int k = 0; k < want.length; k++) {
      assertTrue(Math.abs(want[k] - got[k]) <= tol * (1 + Math.abs(want[k])), what + " at " + k + ": " + want[k]
          + " vs " + got[k]);
    }
  }
}
