package dev.qcal.jobs;

import dev.qcal.data.Batcher;
import dev.qcal.runtime.ModelRunner;
import dev.qcal.stats.StatsSet;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Statistics without padded positions ({@code --pad}, {@code --pad-stats exclude}): each real sample of a
 * padded batch adds to a tensor only its valid box, below its true length on the tensor's axes that run over
 * a pad axis ({@link PaddedAxes}) and whole on the others ({@link dev.qcal.stats.TensorStats#addBox}).
 *
 * <p>A tensor of leading dimension 1 in a batch of several rows has no batch axis: one slice that every row
 * reads through a broadcast (a position embedding {@code [1, L, H]} added to {@code [N, L, H]}). Each real
 * sample then adds that slice's valid box for its own true lengths, as if the slice were broadcast to the
 * batch: the statistics are those a batch of 1 gives (where the leading 1 is the batch), so they stay
 * independent of the batch size, and positions no real sample reads are left out.
 */
record ValidPositions(PaddedAxes axes) implements Serializable {

  /** The sink adding batch {@code b}'s real samples' valid boxes to {@code stats}. */
  ModelRunner.OutputSink sink(Batcher.Batch b, StatsSet stats) {
    return (tensor, values, shape) -> {
      int[] k = axes.of(tensor);
      if (k.length != shape.length || k.length == 0 || k[0] >= 0) {
        throw new IllegalStateException("tensor '" + tensor + "': shape " + Arrays.toString(shape)
            + " is not the traced one (pad axes " + Arrays.toString(k) + ") for the batch starting at " + b.firstSource());
      }
      boolean broadcast = shape[0] == 1;
      long[] ends = new long[shape.length - 1];
      for (int r = 0; r < b.size(); r++) {
        for (int a = 1; a < shape.length; a++) {
          ends[a - 1] = k[a] >= 0 ? b.lengths()[r][k[a]] : shape[a];
        }
        stats.get(tensor).addBox(values, shape, broadcast ? 0 : r, ends);
      }
    };
  }
}
