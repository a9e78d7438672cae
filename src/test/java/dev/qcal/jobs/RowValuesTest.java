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

  private static final dev.qcal.data.InputSpec IDS =
      new dev.qcal.data.InputSpec("input_ids", new long[] {-1}, dev.qcal.data.ElemType.INT64);

  @Test
  void integerColumnsFeedIntegerInputsAsThemselves() {
    assertArrayEquals(new long[] {101, 1L << 40, -1},
        (long[]) RowValues.values(RowFactory.create(List.of(101L, 1L << 40, -1L)), 0, "ids", IDS, "r"));
    assertArrayEquals(new long[] {7, 8},
        (long[]) RowValues.values(RowFactory.create(List.of(7, (short) 8)), 0, "ids", IDS, "r"));
    assertArrayEquals(new long[] {1, 0},
        (long[]) RowValues.values(RowFactory.create(List.of(true, false)), 0, "ids", IDS, "r"));
    assertArrayEquals(new long[] {3, -4}, (long[]) RowValues.values(RowFactory.create("[3, -4]"), 0, "ids", IDS, "r"));
    byte[] le = {5, 0, 0, 0, 0, 0, 0, 0}; // int64 5, little-endian
    assertArrayEquals(new long[] {5}, (long[]) RowValues.values(RowFactory.create((Object) le), 0, "ids", IDS, "r"));
    dev.qcal.data.InputSpec mask = new dev.qcal.data.InputSpec("mask", new long[] {-1}, dev.qcal.data.ElemType.BOOL);
    assertArrayEquals(new byte[] {1, 0, 1},
        (byte[]) RowValues.values(RowFactory.create(List.of("true", "0", "1")), 0, "m", mask, "r"));
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> RowValues.values(RowFactory.create(List.of(1, 2)), 0, "m", mask, "t.parquet row 4"));
    assertEquals(BadRecordException.DOES_NOT_FIT, e.reason());
    assertEquals("t.parquet row 4: column 'm' for input 'mask' (bool): element 1: 2 is outside bool's range [0, 1]",
        e.getMessage());
  }

  @Test
  void floatColumnsDoNotFeedIntegerInputs() {
    assertFalse(RowValues.accepts(DataTypes.createArrayType(DataTypes.DoubleType), dev.qcal.data.ElemType.INT64));
    assertFalse(RowValues.accepts(DataTypes.createArrayType(DataTypes.FloatType), dev.qcal.data.ElemType.BOOL));
    assertTrue(RowValues.accepts(DataTypes.createArrayType(DataTypes.LongType), dev.qcal.data.ElemType.INT32));
    assertTrue(RowValues.accepts(DataTypes.createArrayType(DataTypes.BooleanType), dev.qcal.data.ElemType.FLOAT32));
    assertTrue(RowValues.accepts(DataTypes.createArrayType(DataTypes.StringType), dev.qcal.data.ElemType.INT64));
    // a double that reaches an integer input anyway (a string column holding text is parsed; a double is not)
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> RowValues.values(RowFactory.create(List.of(1.0)), 0, "ids", IDS, "r"));
    assertEquals(BadRecordException.DOES_NOT_FIT, e.reason());
    assertEquals("r: column 'ids' for input 'input_ids' (int64): element 0: 1.0 is a double; float data does not feed"
        + " an integer or bool input", e.getMessage());
  }

  @Test
  void float32InputsTakeBooleansAndRefuseInexactIntegers() {
    assertArrayEquals(new float[] {1f, 0f}, RowValues.floats(RowFactory.create(List.of(true, false)), 0, "x", "r"));
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> RowValues.floats(RowFactory.create(List.of((1L << 24) + 1)), 0, "x", "r"));
    assertEquals(BadRecordException.DOES_NOT_FIT, e.reason());
    assertEquals("r: column 'x': element 0: 16777217 is not exactly a float32", e.getMessage());
  }
}
