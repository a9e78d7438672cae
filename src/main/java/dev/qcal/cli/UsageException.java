package dev.qcal.cli;

/** A command line that names something unusable (a bad option value found after parsing). */
public class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
