package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.qcal.data.Npy;
import dev.qcal.examples.ContribGraphs;
import dev.qcal.model.TransformerQdq;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code calibrate} on the {@link ContribGraphs} (LSTM, com.microsoft Attention and SkipLayerNormalization), by
 * default and with the op named in {@code --op-types}: ONNX Runtime loads the result, the Q/DQ is where the
 * rules put it, and the output SQNR against FP32 (64 held-out samples) is above a measured floor.
 */
@ExtendWith(SharedSpark.class)
class ContribCommandsTest {
  @TempDir Path tmp;

  /** {@code n} standard normal samples of shape {@code dims}, as [n, *dims]. */
  private static float[] normal(long seed, int n, long... dims) {
    int per = 1;
    for (long d : dims) {
      per *= (int) d;
    }
    Random r = new Random(seed);
    float[] v = new float[n * per];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }

  private Path data(String name, float[] v, long... shape) throws Exception {
    Path d = tmp.resolve(name);
    Files.createDirectories(d);
    Npy.writeFloat32(d.resolve("x.npy"), v, shape);
    return d;
  }

  /** The held-out samples as batches of 8 (or of the fixed leading size). */
  private static List<TransformerQdq.Batch> eval(int batch, long... dims) {
    float[] v = normal(99, 64, dims);
    int per = v.length / 64;
    long[] shape = new long[dims.length + 1];
    shape[0] = batch;
    System.arraycopy(dims, 0, shape, 1, dims.length);
    List<TransformerQdq.Batch> out = new ArrayList<>();
    for (int b = 0; b < 64; b += batch) {
      float[] part = java.util.Arrays.copyOfRange(v, b * per, (b + batch) * per);
      out.add(new TransformerQdq.Batch(Map.of("x", part), Map.of("x", shape)));
    }
    return out;
  }

  private Path save(ModelProto m, String name) {
    Path f = tmp.resolve(name);
    OnnxModels.save(m, f);
    return f;
  }

  /** Calibrates {@code model} on {@code data}, with {@code more} options; the quantized model, loaded by ORT. */
  private ModelProto calibrate(Path model, Path data, String out, String... more) throws Exception {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model.toString(), "--data", data.toString(),
        "--out", tmp.resolve(out).toString()));
    args.addAll(List.of(more));
    Cli r = Cli.run(args.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    assertFalse(r.err().contains("warning"), r.err());
    Path q = tmp.resolve(out).resolve("quantized.onnx");
    try (OrtSession s = OrtEnvironment.getEnvironment().createSession(q.toString(), new OrtSession.SessionOptions())) {
      assertEquals(List.of("x"), List.copyOf(s.getInputNames()));
    }
    return OnnxModels.load(q);
  }

  private static NodeProto node(ModelProto m, String op) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + op));
  }

  private static boolean fromDq(ModelProto m, String t) {
    return m.getGraph().getNodeList().stream()
        .anyMatch(n -> n.getOpType().equals("DequantizeLinear") && n.getOutput(0).equals(t));
  }

  @Test
  void lstmAtOpset11IsCalibratedWithItsWeightsInt8ByDefaultAndWhenNamed(SparkSession spark) throws Exception {
    ModelProto fp32 = ContribGraphs.lstm(11, 0);
    Path model = save(fp32, "lstm.onnx");
    Path data = data("lstm", normal(1, 64, 6, 8), 64, 6, 8);
    for (String[] opts : List.of(new String[0], new String[] {"--op-types", "LSTM"})) {
      ModelProto q = calibrate(model, data, "lstm" + opts.length, opts);
      NodeProto lstm = node(q, "LSTM");
      assertTrue(fromDq(q, lstm.getInput(1)) && fromDq(q, lstm.getInput(2)), lstm.toString());
      assertFalse(fromDq(q, lstm.getInput(0)));
      double sqnr = TransformerQdq.sqnr(fp32, q, eval(8, 6, 8));
      // measured 45.12 dB both ways
      assertTrue(sqnr > 42, "SQNR " + sqnr);
    }
  }

  @Test
  void attentionAtOpset11WithAFixedLeadingDimIsQuantizedWhenNamed(SparkSession spark) throws Exception {
    ModelProto fp32 = ContribGraphs.attention(11, 4);
    Path model = save(fp32, "attention.onnx");
    // rows without the leading dimension, batched to the model's fixed 4
    Path data = data("attention", normal(3, 64, 8, 16), 64, 8, 16);
    ModelProto byDefault = calibrate(model, data, "default");
    assertFalse(fromDq(byDefault, node(byDefault, "Attention").getInput(0)));
    double sqnrDefault = TransformerQdq.sqnr(fp32, byDefault, eval(4, 8, 16));
    // measured 40.97 dB
    assertTrue(sqnrDefault > 38.5, "SQNR " + sqnrDefault);

    ModelProto asked = calibrate(model, data, "asked", "--op-types", "Conv,Gemm,MatMul,com.microsoft.Attention");
    NodeProto att = node(asked, "Attention");
    assertEquals("com.microsoft", att.getDomain());
    assertTrue(fromDq(asked, att.getInput(0)) && fromDq(asked, att.getInput(1)), att.toString());
    assertFalse(fromDq(asked, att.getInput(2)), "the bias stays float");
    double sqnr = TransformerQdq.sqnr(fp32, asked, eval(4, 8, 16));
    // measured 36.70 dB
    assertTrue(sqnr > 34, "SQNR " + sqnr);
  }

  @Test
  void skipLayerNormAtOpset21IsQuantizedWhenNamedPlainly(SparkSession spark) throws Exception {
    ModelProto fp32 = ContribGraphs.skipLayerNorm(21, 0);
    Path model = save(fp32, "sln.onnx");
    Path data = data("sln", normal(3, 64, 8, 16), 64, 8, 16);
    ModelProto q = calibrate(model, data, "asked", "--op-types", "MatMul,SkipLayerNormalization");
    NodeProto sln = node(q, "SkipLayerNormalization");
    assertTrue(fromDq(q, sln.getInput(0)) && fromDq(q, sln.getInput(1)), sln.toString());
    double sqnr = TransformerQdq.sqnr(fp32, q, eval(8, 8, 16));
    // measured 35.99 dB
    assertTrue(sqnr > 33.5, "SQNR " + sqnr);
  }

  @Test
  void aMisspeltContribNameIsRefusedInOneLine() {
    Path model = save(ContribGraphs.attention(13, 0), "attention.onnx");
    Cli r = Cli.run("inspect", "--model", model.toString(), "--op-types", "MatMul,com.microsoft.Atention");
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.errorLine().contains("--op-types 'com.microsoft.Atention': not an ONNX op type; did you mean"
        + " com.microsoft.Attention?"), r.errorLine());
    Cli ok = Cli.run("inspect", "--model", model.toString(), "--op-types", "MatMul,com.microsoft.Attention");
    assertEquals(0, ok.code(), ok.err());
    assertFalse(ok.err().contains("warning"), ok.err());
  }
}
