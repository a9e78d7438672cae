package dev.qcal.jobs;

import dev.qcal.data.BadRecords;
import dev.qcal.data.Entry;
import dev.qcal.data.Sample;
import dev.qcal.data.SampleSelection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;

/**
 * Selects samples from a source's entries: records outside {@code --sample-fraction} are dropped by
 * their hash; with {@code --max-samples}, or to count skipped records, a first pass reduces (exactly,
 * with {@code treeAggregate}) the smallest keys of good records and the bad-record counts, and the
 * returned samples keep the keys up to the N-th smallest.
 */
final class SampleSelector {
  private SampleSelector() {}

  static DataSources.Opened select(SparkContext sc, JavaRDD<Entry> entries, SampleSelection selection,
      DataOptions d) {
    BadRecords.Policy policy = d.onBadRecord();
    Map<String, Long> skipped = null;
    Long selected = null;
    if (d.maxSamples() != null || policy == BadRecords.Policy.SKIP) {
      Scan scan = scan(sc, entries, selection, d);
      if (policy == BadRecords.Policy.SKIP) {
        skipped = scan.counts().asMap();
      }
      if (scan.top() != null) {
        selection = selection.withCutoff(scan.top());
        selected = scan.top().selected(); // N, or every good sample when there are fewer
      }
    }
    SampleSelection chosen = selection;
    JavaRDD<Sample> samples = entries.mapPartitionsWithIndex(
        (p, it) -> new SelectedSamples(it, chosen.picker(p), chosen, policy), false);
    return new DataSources.Opened(samples, skipped, selected);
  }

  /** The first pass: the smallest keys of good records (with a maximum) and the bad-record counts. */
  private static Scan scan(SparkContext sc, JavaRDD<Entry> entries, SampleSelection base, DataOptions d) {
    BadRecords.Policy policy = d.onBadRecord();
    Long max = d.maxSamples();
    sc.setJobDescription("qcal select: "
        + (max == null ? "" : "the " + max + " smallest sample hashes (seed " + d.seed() + ")")
        + (max != null && policy == BadRecords.Policy.SKIP ? " and " : "")
        + (policy == BadRecords.Policy.SKIP ? "bad records per reason" : "") + ", treeAggregate");
    try {
      return entries.mapPartitionsWithIndex((p, it) -> {
        Scan s = Scan.empty(max);
        while (it.hasNext()) {
          s.add(it.next(), p, base, policy);
        }
        return List.of(s).iterator();
      }, false).treeAggregate(Scan.empty(max), Scan::merge, Scan::merge);
    } finally {
      sc.setJobDescription(null);
    }
  }

  /**
   * First-pass state: the smallest keys of good records (with a maximum; copies counted per
   * partition) and bad-record counts.
   */
  record Scan(SampleSelection.TopN top, BadRecords.Counts counts) implements java.io.Serializable {
    static Scan empty(Long max) {
      return new Scan(max == null ? null : new SampleSelection.TopN(Math.toIntExact(max)), new BadRecords.Counts());
    }

    void add(Entry e, int partition, SampleSelection selection, BadRecords.Policy policy) {
      if (!selection.inFraction(e.key())) {
        return;
      }
      if (e.bad() != null) {
        if (policy == BadRecords.Policy.FAIL) {
          throw e.bad();
        }
        counts.add(e.bad().reason());
      } else if (top != null) {
        top.add(e.key(), partition);
      }
    }

    Scan merge(Scan other) {
      if (top != null) {
        top.merge(other.top);
      }
      counts.merge(other.counts);
      return this;
    }
  }

  /** The samples of selected good entries; a selected bad entry fails under FAIL and is dropped under SKIP. */
  private static final class SelectedSamples implements Iterator<Sample> {
    private final Iterator<Entry> it;
    private final SampleSelection.Picker picker;
    private final SampleSelection selection;
    private final BadRecords.Policy policy;
    private Sample next;
    private boolean finished;

    SelectedSamples(Iterator<Entry> it, SampleSelection.Picker picker, SampleSelection selection,
        BadRecords.Policy policy) {
      this.it = it;
      this.picker = picker;
      this.selection = selection;
      this.policy = policy;
    }

    @Override
    public boolean hasNext() {
      while (next == null && it.hasNext()) {
        Entry e = it.next();
        if (!selection.inFraction(e.key())) {
          continue;
        }
        if (e.bad() != null) {
          if (policy == BadRecords.Policy.FAIL) {
            throw e.bad();
          }
        } else if (picker.selects(e.key())) {
          next = e.sample();
        }
      }
      if (next == null && !finished) {
        finished = true;
        picker.finish();
      }
      return next != null;
    }

    @Override
    public Sample next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      Sample s = next;
      next = null;
      return s;
    }
  }
}
