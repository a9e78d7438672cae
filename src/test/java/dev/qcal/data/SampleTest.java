package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

/** A sample holds one primitive array per input, of the input's type, and travels as such. */
class SampleTest {

  @Test
  void typedArraysSurviveJavaSerializationUnboxed() throws Exception {
    Sample s = new Sample(new Object[] {new long[] {1L << 40, -1}, new float[] {0.5f}, new short[] {0x3c00},
        new byte[] {1, 0, 1}, new int[] {7, 8}, new double[] {0.1}},
        new long[][] {{2}, {1}, {1}, {3}, {2}, {1}}, "f.npy:0");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(s);
    }
    Sample back;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      back = (Sample) in.readObject();
    }
    assertArrayEquals(new long[] {1L << 40, -1}, (long[]) back.values()[0]);
    assertArrayEquals(new float[] {0.5f}, (float[]) back.values()[1]);
    assertArrayEquals(new short[] {0x3c00}, (short[]) back.values()[2]);
    assertArrayEquals(new byte[] {1, 0, 1}, (byte[]) back.values()[3]);
    assertArrayEquals(new int[] {7, 8}, (int[]) back.values()[4]);
    assertArrayEquals(new double[] {0.1}, (double[]) back.values()[5]);
    assertEquals("f.npy:0", back.source());
  }

  @Test
  void refusesBoxedValuesAndWrongCounts() {
    assertThrows(IllegalArgumentException.class,
        () -> new Sample(new Object[] {new Long[] {1L}}, new long[][] {{1}}, "s"));
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> new Sample(new Object[] {new long[] {1, 2, 3}}, new long[][] {{2}}, "s"));
    assertEquals(BadRecordException.WRONG_ELEMENT_COUNT, e.reason());
  }
}
