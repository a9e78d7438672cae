package dev.qcal.jobs;

import dev.qcal.data.BadRecords;

/**
 * How the calibration data is read and which of it is used.
 *
 * @param maxSamples null, or keep at most this many samples (the smallest hashes of (seed, identity))
 * @param fraction keep samples whose hash falls in this fraction, in (0, 1]
 * @param seed seed of the sample hash
 * @param onBadRecord stop at a bad record, or skip and count it
 */
public record DataOptions(Long maxSamples, double fraction, long seed, BadRecords.Policy onBadRecord) {
  public static final DataOptions DEFAULT = new DataOptions(null, 1.0, 0, BadRecords.Policy.FAIL);

  public boolean samples() {
    return maxSamples != null || fraction < 1.0;
  }
}
