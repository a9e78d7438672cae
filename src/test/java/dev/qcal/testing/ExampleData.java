package dev.qcal.testing;

import dev.qcal.examples.TextLines;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The example model and rendered text-line data sets, generated once per test JVM. */
public final class ExampleData {
  public static final Path MODEL = Path.of("examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx");
  public static final long CALIB_SEED = 1;
  public static final long EVAL_SEED = 2;
  /** The seed of {@link #small()}'s lines. */
  public static final long SMALL_SEED = 11;
  private static Path calib;
  private static Path small;
  private static Path calibratedSmall;

  private ExampleData() {}

  /** 256 calibration lines as {@code .npy} files of 64 under the returned directory's {@code x/}. */
  public static synchronized Path calibration() {
    if (calib == null) {
      calib = write("qcal-calib-", 256, CALIB_SEED, 64);
    }
    return calib;
  }

  /** 40 lines in files of 16, 16 and 8 samples: quick runs that still span several files. */
  public static synchronized Path small() {
    if (small == null) {
      small = write("qcal-small-", 40, SMALL_SEED, 16);
    }
    return small;
  }

  /**
   * {@code qcal calibrate} of the example on {@link #small()} with the default options, run once per test
   * JVM (on the shared Spark session) for the tests that only read its outputs.
   */
  public static synchronized Path calibratedSmall() {
    if (calibratedSmall == null) {
      try {
        Path out = Files.createTempDirectory("qcal-calibrated-small-").resolve("calibrated");
        Cli r = Cli.run("calibrate", "--model", MODEL.toString(), "--data", small().resolve("x").toString(),
            "--out", out.toString());
        if (r.code() != 0) {
          throw new IllegalStateException("calibrating the example failed: " + r.err());
        }
        calibratedSmall = out;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return calibratedSmall;
  }

  private static Path write(String prefix, int count, long seed, int perFile) {
    try {
      Path dir = Files.createTempDirectory(prefix);
      TextLines.writeDataset(dir, count, seed, perFile);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
