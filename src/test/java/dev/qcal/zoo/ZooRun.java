package dev.qcal.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One zoo model end to end through the command line: its model and data written under a folder, {@code qcal
 * calibrate} (statistics, qparams.json and quantized.onnx), {@code qcal evaluate} on held-out samples, and
 * the quantized file run by ONNX Runtime directly.
 */
record ZooRun(Zoo zoo, Path dir, JsonNode run, JsonNode qparams, JsonNode eval) {

  /** Writes {@code zoo} under {@code root}, calibrates it with {@code extra} options and evaluates it. */
  static ZooRun of(Zoo zoo, Path root, String... extra) throws Exception {
    Path dir = root.resolve(zoo.id());
    Files.createDirectories(dir);
    Files.write(dir.resolve("model.onnx"), zoo.model().toByteArray());
    zoo.writeData(dir.resolve("calib"), zoo.calibSamples(), Zoo.CALIB_SEED);
    zoo.writeData(dir.resolve("eval"), zoo.evalSamples(), Zoo.EVAL_SEED);
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", dir.resolve("model.onnx").toString(),
        "--out", dir.resolve("q").toString()));
    args.addAll(data(zoo, dir.resolve("calib")));
    args.addAll(List.of(extra));
    Cli c = Cli.run(args.toArray(String[]::new));
    assertEquals(0, c.code(), zoo + " calibrate: " + c.err());
    List<String> e = new ArrayList<>(List.of("evaluate", "--fp32", dir.resolve("model.onnx").toString(),
        "--quantized", dir.resolve("q/quantized.onnx").toString(), "--out", dir.resolve("e").toString(),
        "--sensitivity-samples", "0"));
    e.addAll(data(zoo, dir.resolve("eval")));
    Cli v = Cli.run(e.toArray(String[]::new));
    assertEquals(0, v.code(), zoo + " evaluate: " + v.err());
    ObjectMapper json = new ObjectMapper();
    return new ZooRun(zoo, dir, json.readTree(dir.resolve("q/run.json").toFile()),
        json.readTree(dir.resolve("q/qparams.json").toFile()), json.readTree(dir.resolve("e/eval.json").toFile()));
  }

  /** The {@code --data NAME=PATH} options of {@code zoo}'s data written under {@code dir}. */
  static List<String> data(Zoo zoo, Path dir) {
    List<String> args = new ArrayList<>();
    for (String in : zoo.inputs()) {
      Path file = dir.resolve(in + ".npy");
      args.addAll(List.of("--data", in + "=" + (Files.exists(file) ? file : dir.resolve(in))));
    }
    return args;
  }

  Path quantized() {
    return dir.resolve("q/quantized.onnx");
  }

  /** The logits SQNR of the quantized model against FP32 over the evaluation samples, in dB. */
  double sqnrDb() {
    JsonNode outputs = eval.get("outputs");
    assertEquals(1, outputs.size(), outputs.toString());
    return outputs.elements().next().get("sqnr_db").asDouble();
  }

  /** The distinct nodes reading a DequantizeLinear output, other than Q/DQ nodes themselves. */
  Set<String> quantizedNodes() {
    ModelProto m = OnnxModels.load(quantized());
    Set<String> dq = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("DequantizeLinear"))
        .map(n -> n.getOutput(0)).collect(Collectors.toSet());
    return m.getGraph().getNodeList().stream()
        .filter(n -> !n.getOpType().endsWith("QuantizeLinear") && n.getInputList().stream().anyMatch(dq::contains))
        .map(NodeProto::getName).collect(Collectors.toSet());
  }

  /**
   * ONNX Runtime (all optimizations) loads the quantized file and runs it on {@code count} evaluation samples:
   * finite logits of the FP32 model's shape.
   */
  void assertOrtRunsQuantized(int count) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      Map<String, OnnxTensor> feeds = zoo.feeds(env, count);
      try (OrtSession fp32 = env.createSession(dir.resolve("model.onnx").toString(), o);
          OrtSession q = env.createSession(quantized().toString(), o);
          OrtSession.Result want = fp32.run(feeds);
          OrtSession.Result got = q.run(feeds)) {
        OnnxTensor w = (OnnxTensor) want.get(0);
        OnnxTensor g = (OnnxTensor) got.get(0);
        assertArrayEquals(w.getInfo().getShape(), g.getInfo().getShape(), zoo + " logits shape");
        FloatBuffer fb = g.getFloatBuffer();
        while (fb.hasRemaining()) {
          float x = fb.get();
          assertTrue(Float.isFinite(x), zoo + ": non-finite logit " + x);
        }
      } finally {
        feeds.values().forEach(OnnxTensor::close);
      }
    }
  }
}
