package dev.qcal.data;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * Which samples a run uses: each sample's key is a 64-bit hash of (seed, identity), its identity
 * being where it lives ({@code file#row}, the file relative to the data root). A fraction F keeps the
 * keys below {@code F * 2^64}; a maximum N keeps the N smallest keys among the rest. Keys depend on
 * neither partitioning nor order, so the selection is the same whatever the partitioning.
 *
 * @param seed hash seed
 * @param fraction in (0, 1]; 1 keeps every sample
 * @param cutoff null, or the largest key kept ({@code --max-samples}, found by a first pass with {@link TopN})
 */
public record SampleSelection(long seed, double fraction, Key cutoff) implements Serializable {
  public static final SampleSelection ALL = new SampleSelection(0, 1.0, null);

  public SampleSelection {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new IllegalArgumentException("sample fraction must be in (0, 1], got " + fraction);
    }
  }

  /**
   * A sample's position in the selection order: its hash (unsigned), then its identity, then (only
   * for sources without row positions, where identical rows share an identity) where it was read.
   * Rows equal in hash and identity hold the same values, so which of them a cutoff keeps changes no
   * statistic.
   */
  public record Key(long hash, String id, long position) implements Comparable<Key>, Serializable {
    private static final Comparator<Key> ORDER = Comparator.<Key>comparingLong(k -> k.hash ^ Long.MIN_VALUE)
        .thenComparing(Key::id).thenComparingLong(Key::position);

    public Key(long hash, String id) {
      this(hash, id, 0);
    }

    @Override
    public int compareTo(Key o) {
      return ORDER.compare(this, o);
    }
  }

  public Key key(String identity) {
    return new Key(hash(seed, identity), identity);
  }

  /**
   * The key of a row known only by its content (a table or query, a JSON or ORC file): the hash of
   * {@code id} (a file, or empty) and the values' bits; {@code position} breaks ties between copies.
   */
  public Key contentKey(String id, float[][] values, long position) {
    long h = hash(seed, id);
    for (float[] v : values) {
      h = mix(h ^ v.length);
      for (float f : v) {
        h = (h ^ Float.floatToIntBits(f)) * 0x100000001b3L;
      }
    }
    return new Key(mix(h), id, position);
  }

  /** The key of a row known only by its text (a bad row of a table). */
  public Key textKey(String id, String text, long position) {
    return new Key(hash(seed, id + "\u0000" + text), id, position);
  }

  /** Whether the fraction keeps this key (applied before any maximum). */
  public boolean inFraction(Key k) {
    return fraction >= 1.0 || (k.hash() >>> 11) * 0x1.0p-53 < fraction;
  }

  /** Whether the sample is used: in the fraction and, with a maximum, not after the cutoff. */
  public boolean selects(Key k) {
    return inFraction(k) && (cutoff == null || k.compareTo(cutoff) <= 0);
  }

  public SampleSelection withCutoff(Key c) {
    return new SampleSelection(seed, fraction, c);
  }

  /** FNV-1a over the UTF-8 identity, seeded, then the SplitMix64 finaliser: stable across JVMs. */
  public static long hash(long seed, String identity) {
    long h = 0xcbf29ce484222325L ^ mix(seed);
    for (byte b : identity.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  private static long mix(long z) {
    z += 0x9e3779b97f4a7c15L;
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /**
   * The {@code n} smallest keys seen: a mergeable state. Merge contract: associative and
   * commutative ({@code merge} of any split of the keys equals adding them all to one instance),
   * {@code new TopN(n)} is the identity, both sides must have the same {@code n}.
   */
  public static final class TopN implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int n;
    private final TreeSet<Key> keys = new TreeSet<>();

    public TopN(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("n must be >= 1, got " + n);
      }
      this.n = n;
    }

    public TopN add(Key k) {
      if (keys.size() < n) {
        keys.add(k);
      } else if (k.compareTo(keys.last()) < 0 && keys.add(k)) {
        keys.pollLast();
      }
      return this;
    }

    public TopN merge(TopN other) {
      if (other.n != n) {
        throw new IllegalArgumentException("Cannot merge top-" + n + " with top-" + other.n);
      }
      for (Key k : other.keys) {
        add(k);
      }
      return this;
    }

    /** The largest key kept when more than {@code n} keys were seen, else null (keep all). */
    public Key cutoff() {
      return keys.size() < n ? null : keys.last();
    }

    public List<Key> keys() {
      return new ArrayList<>(keys);
    }
  }
}
