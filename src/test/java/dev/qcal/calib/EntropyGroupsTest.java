package dev.qcal.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The entropy search's level of each kept bin, computed by stepping ({@link EntropyCalibrator#groups}), against
 * the definition {@code floor(j min(L, i) / i)} evaluated with a division for every bin, over every bin count up
 * to 2100 (past TensorRT's 2048) and the level counts of 4-, 8- and 16-bit types and odd ones.
 */
class EntropyGroupsTest {

  @Test
  void eachBinsLevelIsTheFloorOfItsShareOfTheLevels() {
    int[] groupOf = new int[2100];
    long checked = 0;
    for (int levels : new int[] {1, 3, 8, 16, 127, 128, 256, 1000, 32768}) {
      for (int i = 1; i <= 2100; i++) {
        int g = Math.min(levels, i);
        EntropyCalibrator.groups(i, g, groupOf);
        for (int j = 0; j < i; j++) {
          long want = Math.floorDiv((long) j * g, i);
          if (groupOf[j] != want) {
            assertEquals(want, groupOf[j], "bin " + j + " of " + i + ", " + levels + " levels");
          }
          checked++;
        }
        // every level holds a bin: the last bin is in level g - 1
        assertEquals(g - 1, groupOf[i - 1], i + " bins, " + levels + " levels");
      }
    }
    assertEquals(9L * 2100 * 2101 / 2, checked);
  }
}
