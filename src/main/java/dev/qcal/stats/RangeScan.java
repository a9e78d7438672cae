package dev.qcal.stats;

import java.nio.FloatBuffer;

/**
 * One pass over a window of values: the finite min and max and the counts of finite, NaN, +Inf and
 * -Inf values. Mutable scratch, reused across calls; never shared.
 *
 * <p>Zero extremes are always {@code +0.0}: the sign of a zero minimum or maximum does not change a
 * quantization range, and a reduction that cannot order {@code -0.0} before {@code 0.0} (ONNX
 * Runtime's ReduceMin returns whichever it meets first) gives the same bits ({@link #canonical}).
 *
 * <p>Fast path: {@code Math.min}/{@code Math.max} over a chunk propagate NaN and keep infinities,
 * so a chunk whose min and max come out finite has only finite values and is counted without a
 * per-value branch. Only chunks that hold a non-finite value are scanned again, value by value.
 */
final class RangeScan {
  /** Windows shorter than this are scanned with scalar chains instead of the vectorized loop. */
  static final int SHORT = 144;

  final Chunks chunks = new Chunks();
  float min;
  float max;
  long finite;
  long nan;
  long posInf;
  long negInf;

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
    return canonicalize();
  }

  /** Resets, then scans {@code a[from, to)}. */
  RangeScan scan(float[] a, int from, int to) {
    reset();
    for (int i = from; i < to; i += Chunks.SIZE) {
      scanChunk(a, i, Math.min(to, i + Chunks.SIZE));
    }
    return canonicalize();
  }

  /** {@code v} with {@code -0.0} replaced by {@code +0.0}; every other value unchanged. */
  static float canonical(float v) {
    return v + 0f; // -0.0 + 0.0 = +0.0 (round to nearest); exact for every other value
  }

  private RangeScan canonicalize() {
    min = canonical(min);
    max = canonical(max);
    return this;
  }

  private void scanChunk(float[] a, int from, int to) {
    float mn = Float.POSITIVE_INFINITY;
    float mx = Float.NEGATIVE_INFINITY;
    if (to - from < SHORT) {
      // Short windows (per-channel runs of small feature maps): the vectorized loop below spends more
      // on folding its vector lanes than on the values; four scalar chains are several times faster.
      // Math.min/max are associative and commutative (NaN absorbs, -0.0 < 0.0): the same bits.
      float mn1 = mn;
      float mn2 = mn;
      float mn3 = mn;
      float mx1 = mx;
      float mx2 = mx;
      float mx3 = mx;
      int i = from;
      for (; i + 3 < to; i += 4) {
        mn = Math.min(mn, a[i]);
        mx = Math.max(mx, a[i]);
        mn1 = Math.min(mn1, a[i + 1]);
        mx1 = Math.max(mx1, a[i + 1]);
        mn2 = Math.min(mn2, a[i + 2]);
        mx2 = Math.max(mx2, a[i + 2]);
        mn3 = Math.min(mn3, a[i + 3]);
        mx3 = Math.max(mx3, a[i + 3]);
      }
      for (; i < to; i++) {
        mn = Math.min(mn, a[i]);
        mx = Math.max(mx, a[i]);
      }
      mn = Math.min(Math.min(mn, mn1), Math.min(mn2, mn3));
      mx = Math.max(Math.max(mx, mx1), Math.max(mx2, mx3));
    } else {
      for (int i = from; i < to; i++) {
        float v = a[i];
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
      }
    }
    if (mn >= -Float.MAX_VALUE && mx <= Float.MAX_VALUE) {
      // both finite: no NaN (it would have propagated) and no infinity in the chunk
      min = Math.min(min, mn);
      max = Math.max(max, mx);
      finite += to - from;
    } else if (to > from) {
      scanChunkSlow(a, from, to);
    }
  }

  private void scanChunkSlow(float[] a, int from, int to) {
    float mn = min;
    float mx = max;
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
    min = mn;
    max = mx;
    finite += fin;
    nan += nn;
    posInf += pi;
    negInf += ni;
  }
}
