package dev.qcal.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.SharedSpark;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The float zoo end to end: each model calibrated with the default minmax method (local[2]), evaluated against
 * FP32 on held-out samples, and its quantized file run by ONNX Runtime. Each SQNR floor sits a few dB under
 * the figure measured when the test was written (in the comments).
 */
class ZooTest {
  @TempDir static Path tmp;

  @BeforeAll
  static void spark() {
    SharedSpark.session();
  }

  /** ViT: measured 29.26 dB. MobileNet-style separable CNN: 37.06 dB. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"VIT, 25", "SEPARABLE, 33"})
  void classifiersQuantizeCloseToFp32(Zoo zoo, double floorDb) throws Exception {
    ZooRun r = ZooRun.of(zoo, tmp);
    System.out.printf("zoo %s: logits SQNR %.2f dB, %d nodes quantized%n", zoo, r.sqnrDb(), r.quantizedNodes().size());
    assertTrue(r.sqnrDb() >= floorDb, zoo + ": " + r.sqnrDb() + " dB");
    r.assertOrtRunsQuantized(4);
  }

  /** The same small CNN written at opsets 9, 13, 17 and 21: measured 41.70 dB at each. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"SMALL9, 9", "SMALL13, 13", "SMALL17, 17", "SMALL21, 21"})
  void everyOpsetQuantizes(Zoo zoo, int opset) throws Exception {
    ZooRun r = ZooRun.of(zoo, tmp);
    System.out.printf("zoo %s: logits SQNR %.2f dB, %d nodes quantized%n", zoo, r.sqnrDb(), r.quantizedNodes().size());
    assertEquals(opset, r.qparams().get("model").get("source_opset").asInt());
    assertTrue(r.sqnrDb() >= 37, zoo + ": " + r.sqnrDb() + " dB");
    // both Convs and the Gemm read dequantized inputs
    assertTrue(r.quantizedNodes().containsAll(java.util.List.of("conv1_0", "conv2_3", "fc_6")), r.quantizedNodes()
        .toString());
    r.assertOrtRunsQuantized(4);
  }

  /**
   * The fully convolutional net calibrated on one data set of two image sizes (16 of 24x40, 16 of 32x32): the
   * input's statistics count every pixel of both. Measured 35.56 dB on 24x40 and 32x32 evaluation images.
   */
  @Test
  void fullyConvolutionalCalibratesOnTwoImageSizes() throws Exception {
    ZooRun r = ZooRun.of(Zoo.FCN, tmp);
    System.out.printf("zoo FCN: logits SQNR %.2f dB, %d nodes quantized%n", r.sqnrDb(), r.quantizedNodes().size());
    assertEquals(32, r.run().get("samples").asLong());
    assertEquals(16L * 3 * 24 * 40 + 16L * 3 * 32 * 32, r.qparams().get("activations").get("input").get("count")
        .asLong());
    assertTrue(r.sqnrDb() >= 31, "FCN: " + r.sqnrDb() + " dB");
    r.assertOrtRunsQuantized(2);
  }
}
