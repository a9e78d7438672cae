package dev.qcal.model;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.data.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * A classifier with one layer known to be fragile under uint8 activation quantization:
 * {@code x[N,8] -MatMul mm0(W0)-> x0 -MatMul mm1(W1)-> a -MatMul mm2(W2)-> logits[N,4]}, where {@code W1} is
 * the identity except {@code W1[0][0] = 1000}, so channel 0 of {@code a} is a thousand times larger than the
 * others, and {@code W2}'s row 0 is zero, so the logits depend only on the small channels. One uint8 scale
 * for all of {@code a} (about 12 per step) rounds the small channels to nothing: quantizing {@code a} alone
 * destroys the classification, while every other tensor quantizes harmlessly.
 */
public final class FragileModel {
  public static final String FRAGILE = "a";
  public static final int FEATURES = 8;
  public static final int CLASSES = 4;

  private FragileModel() {}

  static float[][] w0() {
    Random r = new Random(7);
    float[][] w = new float[FEATURES][FEATURES];
    for (int i = 0; i < FEATURES; i++) {
      for (int j = 0; j < FEATURES; j++) {
        w[i][j] = (float) (r.nextDouble() * 2 - 1);
      }
    }
    return w;
  }

  static float[][] w1() {
    float[][] w = new float[FEATURES][FEATURES];
    for (int i = 0; i < FEATURES; i++) {
      w[i][i] = 1;
    }
    w[0][0] = 1000;
    return w;
  }

  static float[][] w2() {
    Random r = new Random(8);
    float[][] w = new float[FEATURES][CLASSES];
    for (int i = 1; i < FEATURES; i++) {
      for (int j = 0; j < CLASSES; j++) {
        w[i][j] = (float) (r.nextDouble() * 2 - 1);
      }
    }
    return w;
  }

  private static TensorProto tensor(String name, float[][] w) {
    float[] flat = new float[w.length * w[0].length];
    for (int i = 0; i < w.length; i++) {
      System.arraycopy(w[i], 0, flat, i * w[0].length, w[0].length);
    }
    return TestGraphs.floatTensor(name, new long[] {w.length, w[0].length}, flat);
  }

  public static ModelProto model() {
    return TestGraphs.model(13,
        List.of(TestGraphs.node("MatMul", "mm0", List.of("x", "W0"), List.of("x0")),
            TestGraphs.node("MatMul", "mm1", List.of("x0", "W1"), List.of(FRAGILE)),
            TestGraphs.node("MatMul", "mm2", List.of(FRAGILE, "W2"), List.of("logits"))),
        List.of(TestGraphs.batchInput("x", FEATURES)), List.of(TestGraphs.batchInput("logits", CLASSES)),
        List.of(tensor("W0", w0()), tensor("W1", w1()), tensor("W2", w2())));
  }

  /** Writes the model to {@code dir/fragile.onnx} and returns its path. */
  public static Path write(Path dir) throws IOException {
    Path p = dir.resolve("fragile.onnx");
    Files.write(p, model().toByteArray());
    return p;
  }

  /**
   * Writes {@code n} samples uniform in [-1, 1] as {@code dir/x/part-0.npy} and {@code part-1.npy}, and
   * {@code dir/labels.npy}: the FP32 model's top-1 class of each sample (computed here in double).
   */
  public static void writeData(Path dir, int n, long seed) throws IOException {
    Files.createDirectories(dir.resolve("x"));
    Random r = new Random(seed);
    float[] x = new float[n * FEATURES];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble() * 2 - 1);
    }
    long[] labels = new long[n];
    for (int s = 0; s < n; s++) {
      double[] v = new double[FEATURES];
      for (int k = 0; k < FEATURES; k++) {
        v[k] = x[s * FEATURES + k];
      }
      double[] l = mul(mul(mul(v, w0()), w1()), w2());
      int best = 0;
      for (int c = 1; c < CLASSES; c++) {
        best = l[c] > l[best] ? c : best;
      }
      labels[s] = best;
    }
    int first = n / 2;
    float[] a = new float[first * FEATURES];
    float[] b = new float[(n - first) * FEATURES];
    System.arraycopy(x, 0, a, 0, a.length);
    System.arraycopy(x, a.length, b, 0, b.length);
    Npy.writeFloat32(dir.resolve("x/part-0.npy"), a, new long[] {first, FEATURES});
    Npy.writeFloat32(dir.resolve("x/part-1.npy"), b, new long[] {n - first, FEATURES});
    Npy.writeInt64(dir.resolve("labels.npy"), labels, new long[] {n});
  }

  private static double[] mul(double[] v, float[][] w) {
    double[] o = new double[w[0].length];
    for (int i = 0; i < w.length; i++) {
      for (int j = 0; j < o.length; j++) {
        o[j] += v[i] * w[i][j];
      }
    }
    return o;
  }
}
