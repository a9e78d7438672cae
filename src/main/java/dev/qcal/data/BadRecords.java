package dev.qcal.data;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * What to do with a record that cannot become a sample, and how many were skipped per reason.
 * The counts are a mergeable state: {@code merge} is associative and commutative, {@code new
 * BadRecords.Counts()} is its identity, so counts reduced over any partitioning are exact.
 */
public final class BadRecords {
  private BadRecords() {}

  /** {@code --on-bad-record}: stop at the first bad record, or skip and count it. */
  public enum Policy {
    FAIL,
    SKIP;

    public static Policy parse(String s) {
      return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "fail" -> FAIL;
        case "skip" -> SKIP;
        default -> throw new IllegalArgumentException("expected fail or skip, got '" + s + "'");
      };
    }
  }

  /** Skipped records per reason, sorted by reason. */
  public static final class Counts implements Serializable {
    private static final long serialVersionUID = 1L;
    private final TreeMap<String, Long> byReason = new TreeMap<>();

    public Counts add(String reason) {
      byReason.merge(reason, 1L, Long::sum);
      return this;
    }

    public Counts merge(Counts other) {
      other.byReason.forEach((r, n) -> byReason.merge(r, n, Long::sum));
      return this;
    }

    public Map<String, Long> asMap() {
      return new TreeMap<>(byReason);
    }

    public long total() {
      return byReason.values().stream().mapToLong(Long::longValue).sum();
    }
  }
}
