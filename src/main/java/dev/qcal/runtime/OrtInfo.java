package dev.qcal.runtime;

import ai.onnxruntime.OrtEnvironment;

/** Facts about the ONNX Runtime in use, for provenance. */
public final class OrtInfo {
  private OrtInfo() {}

  public static String version() {
    return OrtEnvironment.getEnvironment().getVersion();
  }
}
