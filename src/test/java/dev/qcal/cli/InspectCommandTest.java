package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import org.junit.jupiter.api.Test;

class InspectCommandTest {

  @Test
  void listsInputsOutputsAndCalibratedTensors() {
    Cli r = Cli.run("inspect", "--model", ExampleData.MODEL.toString(), "--input-shape", "x=1,3,48,192");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("input:  x [p2o.DynamicDimension.0,3,"), r.out());
    assertTrue(r.out().contains("output: softmax_0.tmp_0"), r.out());
    assertTrue(r.out().contains("prepared: opset 9 -> 13, 250 constants folded, 35 batch norms folded"), r.out());
    assertTrue(r.out().contains("calibrated activations (90):"), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.equals("  x")), r.out());
    assertTrue(r.out().contains("quantized weights (54):"), r.out());
  }

  @Test
  void dynamicInputWithoutAShapeIsAUsageError() {
    Cli r = Cli.run("inspect", "--model", ExampleData.MODEL.toString());
    assertEquals(Main.BAD_INPUT, r.code());
    assertTrue(r.errorLine().contains("--input-shape x="), r.errorLine());
  }

  @Test
  void helpListsTheCommands() {
    Cli r = Cli.run("--help");
    assertEquals(0, r.code());
    assertTrue(r.out().contains("calibrate") && r.out().contains("inspect") && r.out().contains("example-data"), r.out());
  }
}
