package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.qcal.model.onnx.ModelException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which activation axes run over the padded length: by shape inference, and from two probe runs where it is open. */
class PaddedAxesTest {
  private static final Map<String, int[]> PAD = Map.of("input_ids", new int[] {0}, "attention_mask", new int[] {0},
      "token_type_ids", new int[] {0});

  @Test
  void inferenceTracesTheSequenceAxis() {
    ModelProto m = CalibratePaddingTest.build("seq", false);
    String emb = CalibratePaddingTest.embeddings;
    String hidden = CalibratePaddingTest.hidden;
    String pooled = outputOf(m, "ReduceSum");
    PaddedAxes p = PaddedAxes.trace(m, PAD, List.of(emb, hidden, pooled, "input_ids"), "--pad", "");
    assertTrue(p.complete());
    assertArrayEquals(new int[] {-1, 0, -1}, p.of(emb));
    assertArrayEquals(new int[] {-1, 0, -1}, p.of(hidden));
    assertArrayEquals(new int[] {-1, -1}, p.of(pooled), "summed over the sequence: no padded axis");
    assertArrayEquals(new int[] {-1, 0}, p.of("input_ids"));
  }

  @Test
  void aFixedPaddedDimensionIsTracedAsTheSymbolToo() {
    ModelProto m = CalibratePaddingTest.build(6L, false);
    PaddedAxes p = PaddedAxes.trace(m, PAD, List.of(CalibratePaddingTest.embeddings), "--pad", "");
    assertArrayEquals(new int[] {-1, 0, -1}, p.of(CalibratePaddingTest.embeddings));
  }

  @Test
  void openAxesAreDecidedByTwoRuns() {
    ModelProto m = CalibratePaddingTest.build("seq", true);
    String folded = outputOf(m, "Reshape");
    PaddedAxes p = PaddedAxes.trace(m, PAD, List.of(folded), "--pad", "; remedy");
    assertFalse(p.complete(), "a Reshape to [0, -1, 1] is open to inference");
    // sizes that follow the padded length (4, then 5) make it a padded axis; constant ones do not
    PaddedAxes ok = p.resolve(Map.of(folded, new long[] {1, 4, 1}), new long[] {4}, Map.of(folded,
        new long[] {1, 5, 1}), new long[] {5});
    assertArrayEquals(new int[] {-1, 0, -1}, ok.of(folded));
    // twice the padded length: neither
    ModelException e = assertThrows(ModelException.class, () -> p.resolve(Map.of(folded, new long[] {1, 8, 1}),
        new long[] {4}, Map.of(folded, new long[] {1, 10, 1}), new long[] {5}));
    assertEquals("--pad: cannot tell the padded positions of tensor '" + folded + "': axis 1 (size 8 and 10 at pad"
        + " lengths [4] and [5]) may depend on the padded length; remedy", e.getMessage());
    // a fixed pad length (6 in both runs) cannot be told from a constant 6
    assertThrows(ModelException.class, () -> p.resolve(Map.of(folded, new long[] {1, 6, 1}), new long[] {6},
        Map.of(folded, new long[] {1, 6, 1}), new long[] {6}));
  }

  private static String outputOf(ModelProto m, String op) {
    for (var n : m.getGraph().getNodeList()) {
      if (n.getOpType().equals(op)) {
        return n.getOutput(0);
      }
    }
    throw new AssertionError();
  }
}
