package dev.qcal.cli;

/** A command line that names something unusable (a bad option value found after parsing). */
public class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }

  /** Refuses a {@code --batch-size} outside [1, {@link dev.qcal.data.Batcher#MAX_BATCH_SIZE}]. */
  static void requireBatchSize(int batchSize) {
    if (batchSize < 1 || batchSize > dev.qcal.data.Batcher.MAX_BATCH_SIZE) {
      throw new UsageException("--batch-size must be in [1, " + dev.qcal.data.Batcher.MAX_BATCH_SIZE
          + "] (a batch is one buffer of at most 2^31-1 bytes), got " + batchSize);
    }
  }
}
