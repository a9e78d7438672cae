package dev.qcal.io;

import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;

/**
 * A process that publishes an {@link AtomicOutput} and stops dead at one publishing step, printing
 * {@code PAUSED <step>}, so a test can SIGKILL it there. Args: target, step, new content.
 */
public final class AtomicOutputKillChild {
  private AtomicOutputKillChild() {}

  public static void main(String[] args) throws Exception {
    String target = args[0];
    String pauseAt = args[1];
    try (AtomicOutput out = AtomicOutput.begin(target, AtomicOutputContract.CMD, true, new Configuration())) {
      Files.write(out.dir().resolve("a.bin"), new byte[1 << 20]);
      Files.writeString(out.dir().resolve("b.txt"), args[2]);
      out.onStep(step -> {
        if (step.equals(pauseAt)) {
          System.out.println("PAUSED " + step);
          System.out.flush();
          try {
            Thread.sleep(Long.MAX_VALUE);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      out.commit();
    }
    System.out.println("COMMITTED");
  }
}
