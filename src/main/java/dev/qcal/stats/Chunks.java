package dev.qcal.stats;

import java.nio.FloatBuffer;

/**
 * Reads windows of a {@link FloatBuffer} as plain {@code float[]} ranges so the scanning loops are
 * simple array loops the JIT can vectorize: a heap buffer is read in place, a direct buffer (what
 * ONNX Runtime returns) is bulk-copied chunk by chunk into a small scratch array. The scratch array
 * is the loading thread's, shared by every instance the thread uses (one per tensor's statistics, a
 * fresh set per task), so a loaded chunk stays valid only until the next {@link #load} on the same
 * thread, whichever instance makes it.
 */
final class Chunks {
  /** Floats per chunk: 16 KiB, stays in L1 while the loops read it. */
  static final int SIZE = 4096;

  private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[SIZE]);

  /** The array holding the current chunk, set by {@link #load}. */
  float[] array;
  /** Index of the chunk's first value in {@link #array}, set by {@link #load}. */
  int offset;

  /** Makes {@code len <= SIZE} values of {@code b} from absolute {@code index} readable. */
  void load(FloatBuffer b, int index, int len) {
    if (b.hasArray()) {
      array = b.array();
      offset = b.arrayOffset() + index;
    } else {
      float[] scratch = SCRATCH.get(); // the calling thread's, never kept in the instance
      b.get(index, scratch, 0, len);
      array = scratch;
      offset = 0;
    }
  }
}
