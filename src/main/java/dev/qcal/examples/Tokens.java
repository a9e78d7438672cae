package dev.qcal.examples;

import dev.qcal.data.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Deterministic token sequences for the example transformers. A {@link #bert} sample is a sentence pair
 * {@code [CLS] a... [SEP] b... [SEP]} of a true length drawn from {@code [MIN_LENGTH, seq]}, padded with id 0
 * to {@code seq}; its attention mask is 1 on the true length and 0 on padding, its token types 0 on the first
 * sentence and 1 on the second (0 on padding). A {@link #gpt} sample is {@code seq} ids of free text. Sample
 * {@code (seed, index)} depends on nothing else.
 */
public final class Tokens {
  public static final long PAD = 0;
  public static final long CLS = 1;
  public static final long SEP = 2;
  /** Shortest true length of a sentence pair: {@code [CLS] a [SEP] b [SEP]}. */
  public static final int MIN_LENGTH = 5;

  /** One BERT sample: three int64 rows of the same length. */
  public record Pair(long[] inputIds, long[] attentionMask, long[] tokenTypeIds, int length) {}

  private Tokens() {}

  /** Sample {@code index} of {@code seed}: a sentence pair over ids {@code [3, vocab)} padded to {@code seq}. */
  public static Pair bert(long seed, int index, int seq, int vocab) {
    if (seq < MIN_LENGTH) {
      throw new IllegalArgumentException("sequence length must be >= " + MIN_LENGTH + ", got " + seq);
    }
    SplittableRandom r = random(seed, index);
    int length = MIN_LENGTH + r.nextInt(seq - MIN_LENGTH + 1);
    int firstSep = 2 + r.nextInt(length - 4); // first sentence: 1 .. length-4 tokens
    long[] ids = new long[seq];
    long[] mask = new long[seq];
    long[] types = new long[seq];
    for (int t = 0; t < length; t++) {
      ids[t] = t == 0 ? CLS : t == firstSep || t == length - 1 ? SEP : 3 + r.nextInt(vocab - 3);
      mask[t] = 1;
      types[t] = t > firstSep ? 1 : 0;
    }
    return new Pair(ids, mask, types, length);
  }

  /** Sample {@code index} of {@code seed}: {@code seq} ids uniform in {@code [3, vocab)}. */
  public static long[] gpt(long seed, int index, int seq, int vocab) {
    SplittableRandom r = random(seed, index);
    long[] ids = new long[seq];
    for (int t = 0; t < seq; t++) {
      ids[t] = 3 + r.nextInt(vocab - 3);
    }
    return ids;
  }

  /**
   * Writes samples {@code 0 .. count-1} of {@link #bert} as {@code dir/input_ids.npy},
   * {@code dir/attention_mask.npy} and {@code dir/token_type_ids.npy}, int64 {@code [count, seq]}.
   */
  public static void writeBertNpy(Path dir, int count, long seed, int seq, int vocab) throws IOException {
    Files.createDirectories(dir);
    long[] shape = {count, seq};
    try (Npy.Writer ids = Npy.Writer.int64(dir.resolve("input_ids.npy"), shape);
        Npy.Writer mask = Npy.Writer.int64(dir.resolve("attention_mask.npy"), shape);
        Npy.Writer types = Npy.Writer.int64(dir.resolve("token_type_ids.npy"), shape)) {
      for (int k = 0; k < count; k++) {
        Pair p = bert(seed, k, seq, vocab);
        ids.writeRow(p.inputIds());
        mask.writeRow(p.attentionMask());
        types.writeRow(p.tokenTypeIds());
      }
    }
  }

  /** Writes samples {@code 0 .. count-1} of {@link #gpt} as {@code dir/input_ids.npy}, int64 {@code [count, seq]}. */
  public static void writeGptNpy(Path dir, int count, long seed, int seq, int vocab) throws IOException {
    Files.createDirectories(dir);
    try (Npy.Writer ids = Npy.Writer.int64(dir.resolve("input_ids.npy"), new long[] {count, seq})) {
      for (int k = 0; k < count; k++) {
        ids.writeRow(gpt(seed, k, seq, vocab));
      }
    }
  }

  private static SplittableRandom random(long seed, int index) {
    if (index < 0) {
      throw new IllegalArgumentException("sample index must be >= 0, got " + index);
    }
    return new SplittableRandom(new SplittableRandom(seed).split().nextLong() ^ (index * 0x9E3779B97F4A7C15L));
  }
}
