package dev.qcal.data;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which samples a run uses: each sample's key is a 64-bit hash of (seed, identity). A located
 * sample's identity is where it lives ({@code file#row}, the file relative to the data root); a row
 * of a table or query, which has no stable position, is known by its content (the values bound to
 * the model inputs). A fraction F keeps the keys below {@code F * 2^64}; a maximum N keeps the N
 * smallest keys among the rest. Keys depend on neither partitioning nor order, so the selection is
 * the same whatever the partitioning.
 *
 * <p>Copies of one row share their key. When copies straddle the N-th key, the first pass ({@link
 * TopN}) knows how many copies each partition holds, and {@link #quotas} says how many each partition
 * takes (in partition order), so exactly N samples are used; which copies is immaterial, they are equal.
 *
 * @param seed hash seed
 * @param fraction in (0, 1]; 1 keeps every sample
 * @param cutoff null, or the largest key kept ({@code --max-samples}, found by a first pass with {@link TopN})
 * @param quotas null when every copy of {@code cutoff} is kept; else per partition index how many
 *     copies of it that partition keeps (absent: none)
 */
public record SampleSelection(long seed, double fraction, Key cutoff, Map<Integer, Long> quotas)
    implements Serializable {
  public static final SampleSelection ALL = new SampleSelection(0, 1.0, null);

  public SampleSelection {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new IllegalArgumentException("sample fraction must be in (0, 1], got " + fraction);
    }
    quotas = quotas == null ? null : Map.copyOf(quotas);
  }

  public SampleSelection(long seed, double fraction, Key cutoff) {
    this(seed, fraction, cutoff, null);
  }

  /**
   * A sample's position in the selection order: its hash (unsigned), then its identity, then a tie
   * breaker: 0 for located samples (their identity is unique), a second, independent 64-bit hash
   * of the content for rows known by content. Rows equal in all three are taken for copies of one
   * row: they are, unless two different rows collide in all 128 bits of hash (odds about 2^-128 per
   * pair), and only then would which of them is used depend on the partitioning.
   */
  public record Key(long hash, String id, long tie) implements Comparable<Key>, Serializable {
    private static final Comparator<Key> ORDER = Comparator.<Key>comparingLong(k -> k.hash ^ Long.MIN_VALUE)
        .thenComparing(Key::id).thenComparingLong(k -> k.tie ^ Long.MIN_VALUE);

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
   * The key of a row known by its content (a table or query, an ORC, JSON, CSV or Delta row): the
   * hash of {@code id} (its file, or empty) and the bits of the values bound to the model inputs
   * (float32 values by their bits, other types by their value), with a second, independent hash of the
   * same as the tie breaker. Equal rows get equal keys.
   */
  public Key contentKey(String id, Object[] values) {
    long h = hash(seed, id);
    long t = hash(~seed, id);
    for (Object v : values) {
      int n = ElemType.length(v);
      h = mix(h ^ n);
      t = mix(t + n);
      for (int k = 0; k < n; k++) {
        long bits = bits(v, k);
        h = (h ^ bits) * 0x100000001b3L;
        t = (t + bits) * 0x9e3779b97f4a7c15L;
      }
    }
    return new Key(mix(h), id, mix(t ^ 0x632be59bd9b4e019L));
  }

  private static long bits(Object v, int k) {
    if (v instanceof float[] f) {
      return Float.floatToIntBits(f[k]);
    }
    if (v instanceof long[] l) {
      return l[k];
    }
    if (v instanceof int[] i) {
      return i[k];
    }
    if (v instanceof double[] d) {
      return Double.doubleToLongBits(d[k]);
    }
    if (v instanceof short[] s) {
      return s[k];
    }
    return ((byte[]) v)[k];
  }

  /** The key of a row known only by its text (a bad row of a table); equal texts get equal keys. */
  public Key textKey(String id, String text) {
    String s = id + "\u0000" + text;
    return new Key(hash(seed, s), id, hash(~seed, s));
  }

  /** Whether the fraction keeps this key (applied before any maximum). */
  public boolean inFraction(Key k) {
    return fraction >= 1.0 || (k.hash() >>> 11) * 0x1.0p-53 < fraction;
  }

  /**
   * Whether the sample is used: in the fraction and, with a maximum, not after the cutoff. With
   * {@link #quotas}, copies of the cutoff key are chosen by a {@link #picker} instead (false here).
   */
  public boolean selects(Key k) {
    if (!inFraction(k)) {
      return false;
    }
    if (cutoff == null) {
      return true;
    }
    int c = k.compareTo(cutoff);
    return c < 0 || (c == 0 && quotas == null);
  }

  public SampleSelection withCutoff(Key c) {
    return new SampleSelection(seed, fraction, c, null);
  }

  /** This selection cut where {@code top} says: its N-th key and, when copies of it straddle N, the quotas. */
  public SampleSelection withCutoff(TopN top) {
    return new SampleSelection(seed, fraction, top.cutoff(), top.quotas());
  }

  /** Selection within one partition (by index): counts the copies of the cutoff key it takes. */
  public Picker picker(int partition) {
    return new Picker(partition);
  }

  /** {@link #selects} for the records of one partition, in any order, taking at most its quota of cutoff copies. */
  public final class Picker {
    private final int partition;
    private final long quota;
    private long taken;

    private Picker(int partition) {
      this.partition = partition;
      this.quota = quotas == null ? Long.MAX_VALUE : quotas.getOrDefault(partition, 0L);
    }

    public boolean selects(Key k) {
      if (quotas == null || !k.equals(cutoff) || !inFraction(k)) {
        return SampleSelection.this.selects(k);
      }
      if (taken < quota) {
        taken++;
        return true;
      }
      return false;
    }

    /**
     * At the end of the partition: it must have held its quota of cutoff copies, as it did in the
     * first pass; fewer means the data changed between the passes (a query whose result is not
     * deterministic), and the run would silently see fewer samples than selected.
     */
    public void finish() {
      if (quotas != null && taken < quota) {
        throw new IllegalStateException("--max-samples: partition " + partition + " held " + quota
            + " or more copies of the row at the selection cut-off in the first pass but only " + taken
            + " in the second: the data changed between the passes (is the query deterministic?)");
      }
    }
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
   * The {@code n} smallest keys seen, counting copies: the smallest distinct keys, each with how
   * many copies of it every partition holds, as long as the copies of all but the largest number
   * fewer than {@code n}. Merge contract: associative and commutative ({@code merge} of any split of
   * the keys equals adding them all to one instance; a kept key's counts are always complete, since
   * a key is dropped whole, and only once {@code n} copies of smaller keys were seen), {@code new
   * TopN(n)} is the identity, both sides must have the same {@code n}.
   */
  public static final class TopN implements Serializable {
    private static final long serialVersionUID = 2L;
    private final int n;
    private final TreeMap<Key, Copies> keys = new TreeMap<>();
    private long copies;

    public TopN(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("n must be >= 1, got " + n);
      }
      this.n = n;
    }

    public TopN add(Key k) {
      return add(k, 0);
    }

    /** One record with key {@code k}, read in partition {@code partition}. */
    public TopN add(Key k, int partition) {
      if (copies >= n && k.compareTo(keys.lastKey()) > 0) {
        return this;
      }
      keys.computeIfAbsent(k, x -> new Copies()).add(partition, 1);
      copies++;
      trim();
      return this;
    }

    public TopN merge(TopN other) {
      if (other.n != n) {
        throw new IllegalArgumentException("Cannot merge top-" + n + " with top-" + other.n);
      }
      for (Map.Entry<Key, Copies> e : other.keys.entrySet()) {
        if (copies >= n && e.getKey().compareTo(keys.lastKey()) > 0) {
          break; // other's keys are sorted: the rest are larger still
        }
        Copies mine = keys.computeIfAbsent(e.getKey(), x -> new Copies());
        mine.merge(e.getValue());
        copies += e.getValue().total;
        trim();
      }
      return this;
    }

    /** Drops the largest key while the copies of the smaller ones already number {@code n}. */
    private void trim() {
      while (copies - keys.lastEntry().getValue().total >= n) {
        copies -= keys.pollLastEntry().getValue().total;
      }
    }

    /** The N-th smallest key when at least {@code n} records were seen, else null (keep all). */
    public Key cutoff() {
      return copies < n ? null : keys.lastKey();
    }

    /**
     * Null when every copy of the cutoff key is needed to make {@code n}; else how many of its
     * copies each partition keeps: the partitions in index order each give all theirs until {@code n} is reached.
     */
    public Map<Integer, Long> quotas() {
      if (copies <= n) {
        return null;
      }
      Copies last = keys.lastEntry().getValue();
      long need = n - (copies - last.total);
      Map<Integer, Long> q = new TreeMap<>();
      for (int i = 0; i < last.partitions.length && need > 0; i++) {
        long take = Math.min(need, last.counts[i]);
        q.put(last.partitions[i], take);
        need -= take;
      }
      return q;
    }

    /** Records selected: {@code n}, or all of them when fewer were seen. */
    public long selected() {
      return Math.min(n, copies);
    }

    /** The distinct keys kept, in order. */
    public List<Key> keys() {
      return new ArrayList<>(keys.keySet());
    }
  }

  /** Copies of one key per partition index: sorted partition indexes and their counts. */
  private static final class Copies implements Serializable {
    private static final long serialVersionUID = 1L;
    int[] partitions = new int[0];
    long[] counts = new long[0];
    long total;

    void add(int partition, long count) {
      int i = java.util.Arrays.binarySearch(partitions, partition);
      if (i < 0) {
        i = -i - 1;
        int[] p = new int[partitions.length + 1];
        long[] c = new long[counts.length + 1];
        System.arraycopy(partitions, 0, p, 0, i);
        System.arraycopy(counts, 0, c, 0, i);
        System.arraycopy(partitions, i, p, i + 1, partitions.length - i);
        System.arraycopy(counts, i, c, i + 1, counts.length - i);
        p[i] = partition;
        partitions = p;
        counts = c;
      }
      counts[i] += count;
      total += count;
    }

    void merge(Copies other) {
      for (int i = 0; i < other.partitions.length; i++) {
        add(other.partitions[i], other.counts[i]);
      }
    }
  }
}
