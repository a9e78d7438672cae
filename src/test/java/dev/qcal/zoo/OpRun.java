package dev.qcal.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.data.Npy;
import dev.qcal.examples.OpGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import dev.qcal.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * One {@link OpGraphs} case calibrated through the command line: the model (newest IR version) and seeded
 * random rows written under a folder ({@link #CALIB_ROWS} calibration rows (128, or
 * {@code -Dqcal.opCoverage.rows}), {@value #EVAL_ROWS} others for
 * evaluation, each without the leading dimension), {@code qcal calibrate} with the given op types, and the
 * output SQNR of the quantized model against the FP32 one, both run by ONNX Runtime here (the FP32 model
 * from a copy saved with IR version 11, which is all that differs).
 */
record OpRun(OpGraphs.Case c, int opset, long leading, Path dir, String opTypes, Cli calibrate) {
  static final int CALIB_ROWS = Integer.getInteger("qcal.opCoverage.rows", 128);
  static final int EVAL_ROWS = 8;

  /** Calibrates case {@code c} at {@code opset} and {@code leading}; {@code opTypes} null for the defaults. */
  static OpRun of(OpGraphs.Case c, int opset, long leading, Path root, String opTypes) throws Exception {
    Path dir = root.resolve(c.op() + "-" + opset + "-" + leading + (opTypes == null ? "-defaults" : "-asked"));
    Files.createDirectories(dir);
    ModelProto m = c.build(opset, leading);
    OnnxModels.save(m, dir.resolve("model.onnx"));
    OnnxModels.save(m.toBuilder().setIrVersion(11).build(), dir.resolve("fp32-ir11.onnx"));
    long[] row = rowShape(m);
    if (leading == OpGraphs.FREE) {
      write(dir.resolve("calib.npy"), row, CALIB_ROWS, 1);
    } else { // the same values as whole inputs [rows / leading, leading, ...]: each is run alone, as it is
      long[] whole = new long[row.length + 1];
      whole[0] = leading;
      System.arraycopy(row, 0, whole, 1, row.length);
      write(dir.resolve("calib.npy"), whole, (int) (CALIB_ROWS / leading), 1);
    }
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", dir.resolve("model.onnx").toString(),
        "--data", "x=" + dir.resolve("calib.npy"), "--out", dir.resolve("q").toString()));
    if (opTypes != null) {
      args.addAll(List.of("--op-types", opTypes));
    }
    return new OpRun(c, opset, leading, dir, opTypes, Cli.run(args.toArray(String[]::new)));
  }

  /** run.json's {@code feed}: {@code whole} (rows of the input's full shape) or {@code batched}. */
  String feed() throws Exception {
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("q/run.json").toFile()).get("feed")
        .asText();
  }

  Path quantized() {
    return dir.resolve("q/quantized.onnx");
  }

  /** The shape of one row of input x: its dims without the leading one. */
  private static long[] rowShape(ModelProto m) {
    ValueInfoProto x = m.getGraph().getInput(0);
    return x.getType().getTensorType().getShape().getDimList().stream().skip(1)
        .mapToLong(d -> d.getDimValue()).toArray();
  }

  private static float[] gaussian(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int k = 0; k < n; k++) {
      double u = 1.0 - r.nextDouble();
      v[k] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble()));
    }
    return v;
  }

  private static void write(Path file, long[] row, int rows, long seed) throws Exception {
    long per = Arrays.stream(row).reduce(1, Math::multiplyExact);
    long[] shape = new long[row.length + 1];
    shape[0] = rows;
    System.arraycopy(row, 0, shape, 1, row.length);
    Npy.writeFloat32(file, gaussian((int) (per * rows), seed), shape);
  }

  /**
   * SQNR in dB of the quantized model's float outputs against the FP32 model's over {@value #EVAL_ROWS}
   * evaluation rows (seed 2), fed all at once when the leading dimension is free, in batches of its size
   * otherwise.
   */
  double sqnrDb() {
    ModelProto m = OnnxModels.load(dir.resolve("model.onnx"));
    long[] row = rowShape(m);
    int per = (int) Arrays.stream(row).reduce(1, Math::multiplyExact);
    float[] all = gaussian(per * EVAL_ROWS, 2);
    int batch = leading == OpGraphs.FREE ? EVAL_ROWS : (int) leading;
    Set<String> floats = m.getGraph().getOutputList().stream()
        .filter(o -> o.getType().getTensorType().getElemType() == TensorProto.DataType.FLOAT_VALUE)
        .map(ValueInfoProto::getName).collect(Collectors.toSet());
    double signal = 0;
    double noise = 0;
    for (int start = 0; start < EVAL_ROWS; start += batch) {
      float[] x = Arrays.copyOfRange(all, start * per, (start + batch) * per);
      long[] shape = new long[row.length + 1];
      shape[0] = batch;
      System.arraycopy(row, 0, shape, 1, row.length);
      Map<String, float[]> want = Ort.run(dir.resolve("fp32-ir11.onnx"), Map.of("x", x), Map.of("x", shape));
      Map<String, float[]> got = Ort.run(quantized(), Map.of("x", x), Map.of("x", shape));
      assertEquals(want.keySet(), got.keySet());
      for (String o : floats) {
        float[] w = want.get(o);
        float[] g = got.get(o);
        assertEquals(w.length, g.length, o);
        for (int k = 0; k < w.length; k++) {
          signal += (double) w[k] * w[k];
          noise += (double) (w[k] - g[k]) * (w[k] - g[k]);
        }
      }
    }
    return 10 * Math.log10(signal / Math.max(noise, 1e-30));
  }

  /** The quantized graph's nodes of the case's op type reading a DequantizeLinear output. */
  long opNodesReadingDequantized() {
    ModelProto q = OnnxModels.load(quantized());
    Set<String> dq = q.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("DequantizeLinear"))
        .map(n -> n.getOutput(0)).collect(Collectors.toSet());
    return opNodes(q).stream().filter(n -> n.getInputList().stream().anyMatch(dq::contains)).count();
  }

  List<NodeProto> opNodes(ModelProto m) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(c.op())).toList();
  }

  /** {@code qcal inspect}'s decision lines for the case's op type ("QDQ  Op '...'" or "FP32 Op '...'"). */
  List<String> decisions() {
    List<String> args = new ArrayList<>(List.of("inspect", "--model", dir.resolve("model.onnx").toString()));
    if (opTypes != null) {
      args.addAll(List.of("--op-types", opTypes));
    }
    Cli r = Cli.run(args.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    return r.out().lines().map(String::strip)
        .filter(l -> l.startsWith("QDQ  " + c.op() + " '") || l.startsWith("FP32 " + c.op() + " '")).toList();
  }
}
