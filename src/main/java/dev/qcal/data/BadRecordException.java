package dev.qcal.data;

/**
 * One record of the data that cannot become a sample; {@code reason} is the key it is counted under
 * when bad records are skipped ({@code --on-bad-record skip}).
 */
public class BadRecordException extends DataException {
  private static final long serialVersionUID = 1L;
  public static final String WRONG_ELEMENT_COUNT = "wrong_element_count";
  public static final String SHAPE_MISMATCH = "shape_mismatch";
  public static final String NULL_VALUE = "null_value";
  public static final String NON_NUMERIC = "non_numeric";
  public static final String UNDECODABLE = "undecodable";
  public static final String TRUNCATED = "truncated";
  public static final String TOO_LARGE = "too_large";
  /** Data of a type that cannot feed the input (float data for an integer input). */
  public static final String WRONG_DTYPE = "wrong_dtype";
  /** A value that does not fit the input's type exactly (out of range, not an integer, not 0 or 1 for bool). */
  public static final String DOES_NOT_FIT = "does_not_fit";
  /** A mask ({@code --mask}) that is not ones then zeros. */
  public static final String BAD_MASK = "bad_mask";

  private final String reason;

  public BadRecordException(String reason, String message) {
    super(message);
    this.reason = reason;
  }

  public BadRecordException(String reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public String reason() {
    return reason;
  }
}
