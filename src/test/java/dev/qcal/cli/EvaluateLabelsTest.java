package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evaluate --labels} takes labels of every integer dtype and float labels holding whole numbers:
 * the same class numbers give the same eval.json as the int64 file; a fractional label or a bool file is
 * one line naming the file, exit 2.
 */
@ExtendWith(SharedSpark.class)
class EvaluateLabelsTest {
  static Path quantized;
  static long[] classes;
  @TempDir Path tmp;

  @BeforeAll
  static void calibrate(SparkSession spark) throws Exception {
    quantized = ExampleData.calibratedSmall().resolve("quantized.onnx");
    try (Npy.Reader r = Npy.open(ExampleData.small().resolve("labels.npy"))) {
      classes = new long[(int) r.rows()];
      float[] one = new float[1];
      for (int i = 0; i < classes.length; i++) {
        r.readRow(one);
        classes[i] = (long) one[0];
      }
    }
  }

  /** Writes {@code values} as a 1-D .npy of {@code descr} (numpy's own layout: header, then little-endian data). */
  private Path labels(String name, String descr, int width, double[] values) throws Exception {
    ByteBuffer bb = ByteBuffer.allocate(values.length * width).order(ByteOrder.LITTLE_ENDIAN);
    for (double v : values) {
      switch (descr) {
        case "<i4" -> bb.putInt((int) v);
        case "<i2" -> bb.putShort((short) v);
        case "|u1", "|b1" -> bb.put((byte) v);
        case "<f4" -> bb.putFloat((float) v);
        case "<f8" -> bb.putDouble(v);
        default -> throw new IllegalArgumentException(descr);
      }
    }
    Path f = tmp.resolve(name + ".npy");
    byte[] header = Npy.header(descr, new long[] {values.length});
    byte[] all = new byte[header.length + bb.capacity()];
    System.arraycopy(header, 0, all, 0, header.length);
    System.arraycopy(bb.array(), 0, all, header.length, bb.capacity());
    Files.write(f, all);
    return f;
  }

  private static double[] asDoubles(long[] v) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      d[i] = v[i];
    }
    return d;
  }

  private Cli evaluate(Path labels, Path out) {
    return Cli.run("evaluate", "--fp32", ExampleData.MODEL.toString(), "--quantized", quantized.toString(),
        "--data", ExampleData.small().resolve("x").toString(), "--labels", labels.toString(),
        "--out", out.toString(), "--sensitivity-samples", "0");
  }

  private JsonNode outputs(Path out) throws Exception {
    return new ObjectMapper().readTree(out.resolve("eval.json").toFile()).get("outputs");
  }

  @Test
  void everyIntegerDtypeAndWholeNumberFloatsGiveTheInt64Result() throws Exception {
    Path int64 = tmp.resolve("int64.npy");
    Npy.writeInt64(int64, classes, new long[] {classes.length});
    Cli base = evaluate(int64, tmp.resolve("eval-int64"));
    assertEquals(0, base.code(), base.err());
    JsonNode expected = outputs(tmp.resolve("eval-int64"));
    assertTrue(expected.toString().contains("accuracy"), expected.toString());
    double[] v = asDoubles(classes);
    String[][] kinds = {{"<i4", "4"}, {"<i2", "2"}, {"|u1", "1"}, {"<f4", "4"}, {"<f8", "8"}};
    for (String[] k : kinds) {
      Path out = tmp.resolve("eval-" + k[0].substring(1));
      Cli r = evaluate(labels(k[0].substring(1), k[0], Integer.parseInt(k[1]), v), out);
      assertEquals(0, r.code(), k[0] + ": " + r.err());
      assertEquals(expected, outputs(out), k[0]);
    }
  }

  @Test
  void aFractionalLabelOrABoolFileIsOneLineAndExitTwo() throws Exception {
    double[] v = asDoubles(classes);
    v[3] = 0.5;
    Path out = tmp.resolve("bad");
    Cli fractional = evaluate(labels("frac", "<f4", 4, v), out);
    assertEquals(2, fractional.code(), fractional.err());
    assertTrue(fractional.errorLine().contains("frac.npy: label 3 is 0.5"), fractional.errorLine());
    assertFalse(Files.exists(out));
    Cli bool = evaluate(labels("bools", "|b1", 1, new double[classes.length]), out);
    assertEquals(2, bool.code(), bool.err());
    assertTrue(bool.errorLine().contains("bools.npy: expected labels [N] of an integer dtype"), bool.errorLine());
    assertFalse(Files.exists(out));
  }
}
