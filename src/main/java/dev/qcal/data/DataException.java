package dev.qcal.data;

/** Calibration data that cannot be used; the message names the file or row and what was expected. */
public class DataException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DataException(String message) {
    super(message);
  }

  public DataException(String message, Throwable cause) {
    super(message, cause);
  }
}
