package dev.qcal.io;

/** An output location that cannot be used as asked (exists without --overwrite, not writable...). */
public class OutputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public OutputException(String message) {
    super(message);
  }

  public OutputException(String message, Throwable cause) {
    super(message, cause);
  }
}
