package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.data.BadRecordException;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;

class RowValuesTest {
  @Test
  void acceptedColumnTypes() {
    assertTrue(RowValues.accepts(DataTypes.FloatType));
    assertTrue(RowValues.accepts(DataTypes.LongType));
    assertTrue(RowValues.accepts(DataTypes.BinaryType));
    assertTrue(RowValues.accepts(DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.IntegerType))));
    assertTrue(RowValues.accepts(DataTypes.createArrayType(DataTypes.StringType)));
    assertTrue(RowValues.accepts(DataTypes.StringType));
    assertFalse(RowValues.accepts(DataTypes.createMapType(DataTypes.StringType, DataTypes.FloatType)));
  }

  @Test
  void scalarsNestedArraysStringsAndBinary() {
    assertArrayEquals(new float[] {3.5f}, RowValues.floats(RowFactory.create(3.5d), 0, "x", "r"));
    assertArrayEquals(new float[] {7f}, RowValues.floats(RowFactory.create(7L), 0, "x", "r"));
    assertArrayEquals(new float[] {1, 2, 3, 4},
        RowValues.floats(RowFactory.create(List.of(List.of(1, 2), List.of(3, 4))), 0, "x", "r"));
    assertArrayEquals(new float[] {0.25f, -1f},
        RowValues.floats(RowFactory.create(List.of("0.25", " -1 ")), 0, "x", "r"));
    assertArrayEquals(new float[] {0.5f, 1f, -2f}, RowValues.floats(RowFactory.create("0.5 1;-2"), 0, "x", "r"));
    assertArrayEquals(new float[] {0.5f, 1f}, RowValues.floats(RowFactory.create(" [0.5, 1] "), 0, "x", "r"));
    assertEquals(BadRecordException.NON_NUMERIC, assertThrows(BadRecordException.class,
        () -> RowValues.floats(RowFactory.create("1 two"), 0, "x", "r")).reason());
    byte[] le = {0, 0, (byte) 0x80, 0x3f}; // 1.0f little-endian
    assertArrayEquals(new float[] {1f}, RowValues.floats(RowFactory.create((Object) le), 0, "x", "r"));
  }

  @Test
  void badValuesNameTheReason() {
    assertEquals(BadRecordException.NULL_VALUE, assertThrows(BadRecordException.class,
        () -> RowValues.floats(RowFactory.create((Object) null), 0, "x", "r")).reason());
    assertEquals(BadRecordException.NULL_VALUE, assertThrows(BadRecordException.class,
        () -> RowValues.floats(RowFactory.create(Arrays.asList(1f, null)), 0, "x", "r")).reason());
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> RowValues.floats(RowFactory.create(List.of("1", "x1")), 0, "x", "file.parquet row 3"));
    assertEquals(BadRecordException.NON_NUMERIC, e.reason());
    assertTrue(e.getMessage().startsWith("file.parquet row 3: column 'x' has a non-numeric value 'x1' at element 1"),
        e.getMessage());
    assertEquals(BadRecordException.WRONG_ELEMENT_COUNT, assertThrows(BadRecordException.class,
        () -> RowValues.floats(RowFactory.create((Object) new byte[5]), 0, "x", "r")).reason());
  }
}
