package dev.qcal.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.data.Npy;
import dev.qcal.examples.Cnns;
import dev.qcal.examples.TinyBert;
import dev.qcal.examples.TinyGpt;
import dev.qcal.examples.TinyVit;
import dev.qcal.examples.Tokens;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** The zoo: each model with its inputs and how its calibration and evaluation data are made. */
enum Zoo {
  BERT("bert", TinyBert.INPUTS, 64, 64) {
    @Override
    ModelProto model() {
      return TinyBert.build(17, 1);
    }

    @Override
    void writeData(Path dir, int count, long seed) throws IOException {
      Tokens.writeBertNpy(dir, count, seed, SEQ, TinyBert.VOCAB);
    }

    @Override
    Map<String, OnnxTensor> feeds(OrtEnvironment env, int count) throws OrtException {
      long[][] rows = new long[3][count * SEQ];
      for (int n = 0; n < count; n++) {
        Tokens.Pair p = Tokens.bert(EVAL_SEED, n, SEQ, TinyBert.VOCAB);
        System.arraycopy(p.inputIds(), 0, rows[0], n * SEQ, SEQ);
        System.arraycopy(p.attentionMask(), 0, rows[1], n * SEQ, SEQ);
        System.arraycopy(p.tokenTypeIds(), 0, rows[2], n * SEQ, SEQ);
      }
      Map<String, OnnxTensor> f = new java.util.LinkedHashMap<>();
      for (int k = 0; k < 3; k++) {
        f.put(TinyBert.INPUTS.get(k), OnnxTensor.createTensor(env, LongBuffer.wrap(rows[k]), new long[] {count, SEQ}));
      }
      return f;
    }
  },
  GPT("gpt", List.of(TinyGpt.INPUT), 64, 64) {
    @Override
    ModelProto model() {
      return TinyGpt.build(14, 2);
    }

    @Override
    void writeData(Path dir, int count, long seed) throws IOException {
      Tokens.writeGptNpy(dir, count, seed, SEQ, TinyGpt.VOCAB);
    }

    @Override
    Map<String, OnnxTensor> feeds(OrtEnvironment env, int count) throws OrtException {
      long[] ids = new long[count * SEQ];
      for (int n = 0; n < count; n++) {
        System.arraycopy(Tokens.gpt(EVAL_SEED, n, SEQ, TinyGpt.VOCAB), 0, ids, n * SEQ, SEQ);
      }
      return Map.of(TinyGpt.INPUT, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {count, SEQ}));
    }
  },
  VIT("vit", List.of(TinyVit.INPUT), 64, 64) {
    @Override
    ModelProto model() {
      return TinyVit.build(17, 3);
    }

    @Override
    void writeData(Path dir, int count, long seed) throws IOException {
      images(dir.resolve(TinyVit.INPUT + ".npy"), count, seed, TinyVit.SIZE, TinyVit.SIZE);
    }

    @Override
    Map<String, OnnxTensor> feeds(OrtEnvironment env, int count) throws OrtException {
      return Map.of(TinyVit.INPUT, OnnxTensor.createTensor(env, FloatBuffer.wrap(images(count, EVAL_SEED,
          TinyVit.SIZE, TinyVit.SIZE)), new long[] {count, 3, TinyVit.SIZE, TinyVit.SIZE}));
    }
  },
  SEPARABLE("separable_cnn", List.of(Cnns.INPUT), 64, 64) {
    @Override
    ModelProto model() {
      return Cnns.separable(4);
    }

    @Override
    void writeData(Path dir, int count, long seed) throws IOException {
      images(dir.resolve(Cnns.INPUT + ".npy"), count, seed, Cnns.SIZE, Cnns.SIZE);
    }
  },
  FCN("fcn", List.of(Cnns.INPUT), 32, 32) {
    @Override
    ModelProto model() {
      return Cnns.fullyConvolutional(5);
    }

    /** Two files of two image sizes: {@code count/2} of 24x40 and the rest of 32x32. */
    @Override
    void writeData(Path dir, int count, long seed) throws IOException {
      Path d = dir.resolve(Cnns.INPUT);
      images(d.resolve("part-0.npy"), count / 2, seed, 24, 40);
      images(d.resolve("part-1.npy"), count - count / 2, seed + 1, 32, 32);
    }

    @Override
    Map<String, OnnxTensor> feeds(OrtEnvironment env, int count) throws OrtException {
      return Map.of(Cnns.INPUT, OnnxTensor.createTensor(env, FloatBuffer.wrap(images(count, EVAL_SEED, 24, 40)),
          new long[] {count, 3, 24, 40}));
    }
  },
  SMALL9("small_cnn_opset9", List.of(Cnns.INPUT), 32, 32) {
    @Override
    ModelProto model() {
      return Cnns.small(9, 6);
    }
  },
  SMALL13("small_cnn_opset13", List.of(Cnns.INPUT), 32, 32) {
    @Override
    ModelProto model() {
      return Cnns.small(13, 6);
    }
  },
  SMALL17("small_cnn_opset17", List.of(Cnns.INPUT), 32, 32) {
    @Override
    ModelProto model() {
      return Cnns.small(17, 6);
    }
  },
  SMALL21("small_cnn_opset21", List.of(Cnns.INPUT), 32, 32) {
    @Override
    ModelProto model() {
      return Cnns.small(21, 6);
    }
  };

  static final int SEQ = 16;
  static final long CALIB_SEED = 11;
  static final long EVAL_SEED = 12;

  private final String id;
  private final List<String> inputs;
  private final int calibSamples;
  private final int evalSamples;

  Zoo(String id, List<String> inputs, int calibSamples, int evalSamples) {
    this.id = id;
    this.inputs = inputs;
    this.calibSamples = calibSamples;
    this.evalSamples = evalSamples;
  }

  String id() {
    return id;
  }

  List<String> inputs() {
    return inputs;
  }

  int calibSamples() {
    return calibSamples;
  }

  int evalSamples() {
    return evalSamples;
  }

  abstract ModelProto model();

  /** The first {@code count} evaluation samples as ONNX Runtime inputs (images {@code [count, 3, 32, 32]} by default). */
  Map<String, OnnxTensor> feeds(OrtEnvironment env, int count) throws OrtException {
    return Map.of(Cnns.INPUT, OnnxTensor.createTensor(env, FloatBuffer.wrap(images(count, EVAL_SEED, Cnns.SIZE,
        Cnns.SIZE)), new long[] {count, 3, Cnns.SIZE, Cnns.SIZE}));
  }

  /** Writes {@code count} samples of {@code seed} into {@code dir}: one .npy file (or folder) per input. */
  void writeData(Path dir, int count, long seed) throws IOException {
    images(dir.resolve(Cnns.INPUT + ".npy"), count, seed, Cnns.SIZE, Cnns.SIZE);
  }

  /** {@code count} images {@code [3, h, w]}: smooth random fields plus noise, roughly in [-2, 2]. */
  static void images(Path file, int count, long seed, int h, int w) throws IOException {
    Files.createDirectories(file.getParent());
    try (Npy.Writer out = Npy.Writer.float32(file, new long[] {count, 3, h, w})) {
      float[] x = images(count, seed, h, w);
      int per = 3 * h * w;
      for (int n = 0; n < count; n++) {
        out.writeRow(java.util.Arrays.copyOfRange(x, n * per, (n + 1) * per));
      }
    }
  }

  /** The images of {@link #images(Path, int, long, int, int)}, flat {@code [count, 3, h, w]}. */
  static float[] images(int count, long seed, int h, int w) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[count * 3 * h * w];
    for (int n = 0; n < count; n++) {
      for (int c = 0; c < 3; c++) {
        double fy = 0.5 + r.nextDouble() * 3;
        double fx = 0.5 + r.nextDouble() * 3;
        double phase = r.nextDouble() * 2 * Math.PI;
        double offset = r.nextDouble() - 0.5;
        for (int y = 0; y < h; y++) {
          for (int xx = 0; xx < w; xx++) {
            double v = offset + Math.sin(fy * y / h * 2 * Math.PI + fx * xx / w * 2 * Math.PI + phase)
                + 0.3 * (r.nextDouble() * 2 - 1);
            x[((n * 3 + c) * h + y) * w + xx] = (float) v;
          }
        }
      }
    }
    return x;
  }
}
