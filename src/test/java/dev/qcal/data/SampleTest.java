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

  @Test
  void contentHashFollowsTheValuesAndShapesNotTheSource() {
    float[] x = {1f, -2f, 0f, 3.5f, 7f, 8f};
    long[] ids = {101, 2023, 102};
    Sample a = new Sample(new Object[] {x, ids}, new long[][] {{2, 3}, {3}}, "file:/data/part-0.npy:4");
    Sample moved = new Sample(new Object[] {x.clone(), ids.clone()}, new long[][] {{2, 3}, {3}}, "hdfs://nn/b.npy:0");
    assertEquals(a.contentHash(), moved.contentHash());
    float[] negZero = x.clone();
    negZero[2] = -0f; // another bit pattern, equal as floats
    java.util.List<Sample> others = java.util.List.of(
        new Sample(new Object[] {negZero, ids}, new long[][] {{2, 3}, {3}}, "s"),
        new Sample(new Object[] {x, ids}, new long[][] {{3, 2}, {3}}, "s"),
        new Sample(new Object[] {x, new long[] {101, 2023, 103}}, new long[][] {{2, 3}, {3}}, "s"),
        new Sample(new Object[] {ids, x}, new long[][] {{3}, {2, 3}}, "s"));
    java.util.Set<Long> hashes = new java.util.HashSet<>(java.util.List.of(a.contentHash()));
    for (Sample o : others) {
      hashes.add(o.contentHash());
    }
    assertEquals(5, hashes.size(), "a changed bit, shape, value or input order changes the hash");
    // every element type is read
    for (Object v : java.util.List.<Object>of(new double[] {1, 2}, new int[] {1, 2}, new short[] {1, 2},
        new byte[] {1, 2})) {
      Sample one = new Sample(new Object[] {v}, new long[][] {{2}}, "s");
      Object changed = java.lang.reflect.Array.newInstance(v.getClass().getComponentType(), 2);
      java.lang.reflect.Array.set(changed, 0, java.lang.reflect.Array.get(v, 0));
      Sample other = new Sample(new Object[] {changed}, new long[][] {{2}}, "s");
      assertEquals(false, one.contentHash() == other.contentHash(), v.getClass().getSimpleName());
    }
  }
}
