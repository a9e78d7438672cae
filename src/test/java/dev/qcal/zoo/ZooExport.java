package dev.qcal.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes every zoo model and its calibration and evaluation data under a folder, for measurements with other
 * tools (ONNX Runtime's quantize_static): {@code DIR/<model>/model.onnx}, {@code calib/} and {@code eval/}
 * with one .npy per input. Run: {@code java -cp ... dev.qcal.zoo.ZooExport DIR}.
 */
public final class ZooExport {
  private ZooExport() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    for (Zoo z : Zoo.values()) {
      Path dir = root.resolve(z.id());
      Files.createDirectories(dir);
      ModelProto m = z.model();
      Files.write(dir.resolve("model.onnx"), m.toByteArray());
      z.writeData(dir.resolve("calib"), z.calibSamples(), Zoo.CALIB_SEED);
      z.writeData(dir.resolve("eval"), z.evalSamples(), Zoo.EVAL_SEED);
      System.out.println("wrote " + dir);
    }
  }
}
