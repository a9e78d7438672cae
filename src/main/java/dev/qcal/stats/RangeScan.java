package dev.qcal.stats;

import java.nio.FloatBuffer;

/**
 * One pass over a window of values: the finite min and max (ordered with {@link Math#min}, so
 * {@code -0.0 < 0.0} and the result does not depend on the order of the values) and the counts of
 * finite, NaN, +Inf and -Inf values. Mutable scratch, reused across calls; never shared.
 *
 * <p>Fast path: {@code Math.min}/{@code Math.max} over a chunk propagate NaN and keep infinities,
 * so a chunk whose min and max come out finite has only finite values and is counted without a
 * per-value branch. Only chunks that hold a non-finite value are scanned again, value by value.
 */
final class RangeScan {
  final Chunks chunks = new Chunks();
  float min;
  float max;
  long finite;
  long nan;
  long posInf;
  long negInf;
  /** The finite min, max and count of the last chunk scanned. */
  private float chunkMin;
  private float chunkMax;
  private long chunkFinite;

  void reset() {
    min = Float.POSITIVE_INFINITY;
    max = Float.NEGATIVE_INFINITY;
    finite = 0;
    nan = 0;
    posInf = 0;
    negInf = 0;
  }

  /** Resets, then scans {@code len} values of {@code b} from absolute {@code index}. */
  RangeScan scan(FloatBuffer b, int index, int len) {
    reset();
    for (int off = 0; off < len; off += Chunks.SIZE) {
      int n = Math.min(Chunks.SIZE, len - off);
      chunks.load(b, index + off, n);
      scanChunk(chunks.array, chunks.offset, chunks.offset + n);
    }
    return this;
  }

  /**
   * Resets, then scans {@code len} values of {@code b} from absolute {@code index} as {@link #scan},
   * binning each chunk into {@code first} and {@code second} (either may be null) while it is in the
   * cache: one copy of a direct buffer instead of two. Each chunk's finite range is included before
   * its values are binned; since a {@link Histogram} is canonical for the values it holds, the
   * result equals including the whole range first.
   */
  RangeScan scanAndBin(FloatBuffer b, int index, int len, Histogram first, Histogram second) {
    reset();
    for (int off = 0; off < len; off += Chunks.SIZE) {
      int n = Math.min(Chunks.SIZE, len - off);
      chunks.load(b, index + off, n);
      float[] a = chunks.array;
      int from = chunks.offset;
      scanChunk(a, from, from + n);
      if (chunkFinite > 0) {
        boolean allFinite = chunkFinite == n;
        if (first != null) {
          first.include(chunkMin, chunkMax);
          first.bin(a, from, from + n, allFinite);
        }
        if (second != null) {
          second.include(chunkMin, chunkMax);
          second.bin(a, from, from + n, allFinite);
        }
      }
    }
    return this;
  }

  /** Resets, then scans {@code a[from, to)}. */
  RangeScan scan(float[] a, int from, int to) {
    reset();
    for (int i = from; i < to; i += Chunks.SIZE) {
      scanChunk(a, i, Math.min(to, i + Chunks.SIZE));
    }
    return this;
  }

  private void scanChunk(float[] a, int from, int to) {
    float mn = Float.POSITIVE_INFINITY;
    float mx = Float.NEGATIVE_INFINITY;
    for (int i = from; i < to; i++) {
      float v = a[i];
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
    }
    if (mn >= -Float.MAX_VALUE && mx <= Float.MAX_VALUE) {
      // both finite: no NaN (it would have propagated) and no infinity in the chunk
      chunkMin = mn;
      chunkMax = mx;
      chunkFinite = to - from;
      min = Math.min(min, mn);
      max = Math.max(max, mx);
      finite += to - from;
    } else if (to > from) {
      scanChunkSlow(a, from, to);
    } else {
      chunkFinite = 0;
    }
  }

  private void scanChunkSlow(float[] a, int from, int to) {
    float mn = Float.POSITIVE_INFINITY;
    float mx = Float.NEGATIVE_INFINITY;
    long fin = 0;
    long nn = 0;
    long pi = 0;
    long ni = 0;
    for (int i = from; i < to; i++) {
      float v = a[i];
      if (Float.isFinite(v)) {
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
        fin++;
      } else if (v != v) {
        nn++;
      } else if (v > 0) {
        pi++;
      } else {
        ni++;
      }
    }
    chunkMin = mn;
    chunkMax = mx;
    chunkFinite = fin;
    min = Math.min(min, mn);
    max = Math.max(max, mx);
    finite += fin;
    nan += nn;
    posInf += pi;
    negInf += ni;
  }
}
