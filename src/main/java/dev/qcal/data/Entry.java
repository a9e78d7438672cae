package dev.qcal.data;

import java.io.Serializable;

/**
 * One record of a data source before selection: its key (identity and hash), and either the sample
 * or why it is bad. Bad records carry the exception to throw under {@link BadRecords.Policy#FAIL}.
 * A good entry outside the selection's fraction may hold no sample (it was not decoded).
 */
public record Entry(SampleSelection.Key key, Sample sample, BadRecordException bad) implements Serializable {

  public static Entry good(SampleSelection.Key key, Sample sample) {
    return new Entry(key, sample, null);
  }

  public static Entry bad(SampleSelection.Key key, BadRecordException e) {
    return new Entry(key, null, e);
  }
}
