package dev.qcal.model.onnx;

/** An ONNX model that cannot be read, verified or rewritten; the message names the file, node or tensor. */
public class ModelException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public ModelException(String message) {
    super(message);
  }

  public ModelException(String message, Throwable cause) {
    super(message, cause);
  }
}
