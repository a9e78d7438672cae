package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The progress line's text: done/total, rate, ETA; an estimated total marked ~. */
class ProgressLineTest {
  @Test
  void showsDoneTotalRateAndEta() {
    assertEquals("qcal: observe 250/1000 samples (25%), 50.0 samples/s, ETA 0:15",
        ProgressLine.observeLine(250, 1000, false, "samples", 5.0));
    assertEquals("qcal: observe 3/8 tasks (37%), 0.3 tasks/s, ETA 0:17",
        ProgressLine.observeLine(3, 8, false, "tasks", 10.0));
    assertEquals("qcal: observe 40 samples, 20.0 samples/s", ProgressLine.observeLine(40, -1, false, "samples", 2.0));
    assertEquals("1:01:05", ProgressLine.duration(3665));
  }

  @Test
  void marksAnEstimatedTotal() {
    assertEquals("qcal: observe 250/~1000 samples (~25%), 50.0 samples/s, ETA ~0:15",
        ProgressLine.observeLine(250, 1000, true, "samples", 5.0));
  }
}
