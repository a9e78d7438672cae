package dev.qcal.testing;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.qcal.examples.TextLines;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

/** A quantized example model against the FP32 one on rendered evaluation lines (ONNX Runtime, all optimizations). */
public final class ExampleEval {
  /** Evaluation lines (seed {@link ExampleData#EVAL_SEED}). */
  public static final int LINES = 256;
  private static final int BATCH = 32;
  private static final int PER = 3 * 48 * 192;

  private ExampleEval() {}

  /** {top-1 agreement with FP32, FP32 accuracy, quantized accuracy} over {@link #LINES} lines. */
  public static double[] evaluate(Path quantized) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession fp32 = env.createSession(ExampleData.MODEL.toString(), opts);
          OrtSession q = env.createSession(quantized.toString(), opts)) {
        int agree = 0;
        int fpCorrect = 0;
        int qCorrect = 0;
        for (int start = 0; start < LINES; start += BATCH) {
          float[] data = new float[BATCH * PER];
          int[] labels = new int[BATCH];
          for (int i = 0; i < BATCH; i++) {
            TextLines.Sample s = TextLines.render(ExampleData.EVAL_SEED, start + i);
            System.arraycopy(s.chw(), 0, data, i * PER, PER);
            labels[i] = s.label();
          }
          int[] a = top1(env, fp32, data, BATCH);
          int[] b = top1(env, q, data, BATCH);
          for (int i = 0; i < BATCH; i++) {
            agree += a[i] == b[i] ? 1 : 0;
            fpCorrect += a[i] == labels[i] ? 1 : 0;
            qCorrect += b[i] == labels[i] ? 1 : 0;
          }
        }
        return new double[] {agree / (double) LINES, fpCorrect / (double) LINES, qCorrect / (double) LINES};
      }
    }
  }

  /** The class (0 or 1) the model scores higher for each of {@code batch} lines in {@code data}. */
  public static int[] top1(OrtEnvironment env, OrtSession s, float[] data, int batch) throws Exception {
    try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), new long[] {batch, 3, 48, 192});
        OrtSession.Result r = s.run(Map.of("x", t))) {
      float[][] p = (float[][]) r.get(0).getValue();
      int[] out = new int[batch];
      for (int i = 0; i < batch; i++) {
        out[i] = p[i][1] > p[i][0] ? 1 : 0;
      }
      return out;
    }
  }
}
