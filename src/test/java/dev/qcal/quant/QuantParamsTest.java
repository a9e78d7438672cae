package dev.qcal.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** QuantParams compares and prints every field, so an assertEquals on it can fail; QuantType's words and checks. */
class QuantParamsTest {
  private static final QuantParams BASE = new QuantParams(new float[] {0.5f, 0.25f}, new long[] {0, 1}, QuantType.INT8, 1);

  @Test
  void equalWhenEveryFieldIsEqualAndNotWhenAnyDiffers() {
    QuantParams same = new QuantParams(new float[] {0.5f, 0.25f}, new long[] {0, 1}, QuantType.INT8, 1, 0);
    assertEquals(BASE, same);
    assertEquals(BASE.hashCode(), same.hashCode());
    List<QuantParams> others = List.of(
        new QuantParams(new float[] {0.5f, 0.125f}, new long[] {0, 1}, QuantType.INT8, 1),
        new QuantParams(new float[] {0.5f, 0.25f}, new long[] {0, 2}, QuantType.INT8, 1),
        new QuantParams(new float[] {0.5f, 0.25f}, new long[] {0, 1}, QuantType.INT16, 1),
        new QuantParams(new float[] {0.5f, 0.25f}, new long[] {0, 1}, QuantType.INT8, 0),
        new QuantParams(new float[] {0.5f, 0.25f}, new long[] {0, 1}, QuantType.INT8, 1, 32));
    for (QuantParams o : others) {
      assertNotEquals(BASE, o, o.toString());
      assertNotEquals(o, BASE, o.toString());
    }
    assertNotEquals(BASE, (Object) "QuantParams");
    // hashes of these five differ from BASE's (a constant hash would make them all equal)
    assertEquals(5, others.stream().filter(o -> o.hashCode() != BASE.hashCode()).count());
  }

  @Test
  void toStringNamesTypeAxisBlockScalesAndZeroPoints() {
    assertEquals("QuantParams[int8, axis=1, scale=[0.5, 0.25], zeroPoint=[0, 1]]", BASE.toString());
    assertEquals("QuantParams[uint8, axis=null, scale=[2.0], zeroPoint=[128]]",
        QuantParams.perTensor(2f, 128, QuantType.UINT8).toString());
    assertEquals("QuantParams[int4, axis=0, blockSize=32, scale=[1.0], zeroPoint=[0]]",
        new QuantParams(new float[] {1f}, new long[] {0}, QuantType.INT4, 0, 32).toString());
  }

  @Test
  void typeIdsReadAsAList() {
    assertEquals("", QuantType.ids(List.of()));
    assertEquals("uint8", QuantType.ids(List.of(QuantType.UINT8)));
    assertEquals("uint8 or int8", QuantType.ids(List.of(QuantType.UINT8, QuantType.INT8)));
    assertEquals("uint8, int8 or int16", QuantType.ids(List.of(QuantType.UINT8, QuantType.INT8, QuantType.INT16)));
  }

  @Test
  void unpackingFourBitValuesChecksTheByteCount() {
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> QuantType.INT4.unpack4(new byte[1], 3));
    assertEquals("3 values need 2 bytes, got 1", e.getMessage());
    // 3 values in 2 bytes: 0x21, 0x03 hold 1, 2, 3 (low nibble first)
    org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {1, 2, 3},
        QuantType.UINT4.unpack4(new byte[] {0x21, 0x03}, 3));
  }
}
