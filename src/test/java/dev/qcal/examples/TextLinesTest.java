package dev.qcal.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Npy;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextLinesTest {

  static final Path MODEL = Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx");

  @TempDir Path tmp;

  @Test
  void sameSeedAndIndexGiveIdenticalSamples() {
    for (int i = 0; i < 6; i++) {
      TextLines.Sample a = TextLines.render(42, i);
      TextLines.Sample b = TextLines.render(42, i);
      assertArrayEquals(a.chw(), b.chw());
      assertEquals(a.label(), b.label());
      assertEquals(a.text(), b.text());
    }
  }

  @Test
  void differentIndexOrSeedGiveDifferentSamples() {
    TextLines.Sample a = TextLines.render(42, 3);
    assertFalse(Arrays.equals(a.chw(), TextLines.render(42, 5).chw()));
    assertFalse(Arrays.equals(a.chw(), TextLines.render(43, 3).chw()));
  }

  @Test
  void samplesAreNormalisedAndPaddedWithZeros() {
    for (int i = 0; i < 200; i++) {
      TextLines.Sample s = TextLines.render(1, i);
      assertEquals(TextLines.SAMPLE_FLOATS, s.chw().length);
      assertTrue(s.text().length() >= 8 && s.text().length() <= 30, s.text());
      float min = Float.POSITIVE_INFINITY;
      float max = Float.NEGATIVE_INFINITY;
      for (float v : s.chw()) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      assertTrue(min >= -1f && max <= 1f, "range [" + min + ", " + max + "] of sample " + i);
      assertTrue(max > 0.5f, "light background expected in sample " + i);
      assertTrue(min < -0.3f, "dark text expected in sample " + i);
    }
  }

  @Test
  void labelsAreBalanced() {
    int ones = 0;
    for (int i = 0; i < 100; i++) {
      ones += TextLines.render(9, i).label();
    }
    assertEquals(50, ones);
  }

  @Test
  void preprocessingMatchesPaddleOcrGeometry() {
    // 24 x 60 image: resized width ceil(48 * 60 / 24) = 120, then zero padding to 192.
    BufferedImage img = new BufferedImage(60, 24, BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < 24; y++) {
      for (int x = 0; x < 60; x++) {
        img.setRGB(x, y, 0xFF0000); // pure red: B = 0, G = 0, R = 255
      }
    }
    float[] chw = TextLines.preprocess(img);
    int plane = 48 * 192;
    assertEquals(-1f, chw[0]); // B
    assertEquals(-1f, chw[plane]); // G
    assertEquals(1f, chw[2 * plane]); // R
    assertEquals(1f, chw[2 * plane + 47 * 192 + 119]);
    assertEquals(0f, chw[2 * plane + 47 * 192 + 120]);
    assertEquals(0f, chw[191]);
    // very wide lines are squeezed to 192 columns: no padding
    BufferedImage wide = new BufferedImage(1000, 40, BufferedImage.TYPE_3BYTE_BGR);
    float[] w = TextLines.preprocess(wide);
    assertEquals(-1f, w[47 * 192 + 191]);
  }

  @Test
  void writtenDatasetIsReadableWithTheRightShapes() throws IOException {
    Path dir = tmp.resolve("ds");
    Files.createDirectories(dir.resolve("x"));
    Files.writeString(dir.resolve("x/part-00009.npy"), "stale");
    TextLines.writeDataset(dir, 10, 5, 4);
    assertFalse(Files.exists(dir.resolve("x/part-00009.npy")));
    long[] rows = {4, 4, 2};
    float[] row = new float[TextLines.SAMPLE_FLOATS];
    int index = 0;
    for (int p = 0; p < 3; p++) {
      try (Npy.Reader r = Npy.open(dir.resolve(String.format("x/part-%05d.npy", p)))) {
        assertArrayEquals(new long[] {rows[p], 3, 48, 192}, r.shape());
        assertEquals(TextLines.SAMPLE_FLOATS, r.rowElements());
        while (r.readRow(row)) {
          assertArrayEquals(TextLines.render(5, index).chw(), row);
          index++;
        }
      }
    }
    assertEquals(10, index);
    assertFalse(Files.exists(dir.resolve("x/part-00003.npy")));
    byte[] labels = Files.readAllBytes(dir.resolve("labels.npy"));
    String header = new String(labels, 0, 128, java.nio.charset.StandardCharsets.ISO_8859_1);
    assertTrue(header.contains("'descr': '<i8', 'fortran_order': False, 'shape': (10,)"), header);
    java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(labels, 128, 80).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 10; i++) {
      assertEquals(TextLines.render(5, i).label(), bb.getLong());
    }
  }

  @Test
  void fp32ModelClassifiesGeneratedLines() throws OrtException {
    int n = 256;
    int batch = 32;
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    int correct = 0;
    try (OrtSession session = env.createSession(MODEL.toString(), new OrtSession.SessionOptions())) {
      String input = session.getInputNames().iterator().next();
      float[] buf = new float[batch * TextLines.SAMPLE_FLOATS];
      int[] labels = new int[batch];
      for (int first = 0; first < n; first += batch) {
        for (int b = 0; b < batch; b++) {
          TextLines.Sample s = TextLines.render(7, first + b);
          System.arraycopy(s.chw(), 0, buf, b * TextLines.SAMPLE_FLOATS, TextLines.SAMPLE_FLOATS);
          labels[b] = s.label();
        }
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(buf), new long[] {batch, 3, 48, 192});
            OrtSession.Result r = session.run(Map.of(input, x))) {
          float[][] probs = (float[][]) r.get(0).getValue();
          for (int b = 0; b < batch; b++) {
            int predicted = probs[b][1] > probs[b][0] ? 1 : 0;
            if (predicted == labels[b]) {
              correct++;
            } else {
              System.err.printf(
                  "miss %d: label %d p=%s text='%s'%n",
                  first + b, labels[b], Arrays.toString(probs[b]), TextLines.render(7, first + b).text());
            }
          }
        }
      }
    }
    double accuracy = correct / (double) n;
    System.err.printf("TextLines FP32 accuracy: %d/%d = %.4f%n", correct, n, accuracy);
    assertTrue(accuracy >= 0.93, "top-1 accuracy " + accuracy + " < 0.93");
  }
}
