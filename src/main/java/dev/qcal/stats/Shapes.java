package dev.qcal.stats;

/** Shape arithmetic the batch checks share. */
final class Shapes {
  private Shapes() {}

  /**
   * The number of values {@code shape} holds, or -1 when a dimension is negative or the count exceeds
   * {@link Integer#MAX_VALUE} (no batch of one Java array holds it).
   */
  static long elements(long[] shape) {
    long p = 1;
    for (long d : shape) {
      if (d < 0 || d > Integer.MAX_VALUE) {
        return -1;
      }
      p *= d;
      if (p > Integer.MAX_VALUE) {
        return -1;
      }
    }
    return p;
  }
}
