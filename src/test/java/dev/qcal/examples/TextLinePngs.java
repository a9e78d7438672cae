package dev.qcal.examples;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** The example's text lines before preprocessing, as PNG files (lossless: the same 8-bit pixels). */
public final class TextLinePngs {
  private TextLinePngs() {}

  /** Writes lines {@code 0 .. count-1} of {@code seed} as {@code dir/line-00000.png}, ... */
  public static void write(Path dir, long seed, int count) throws IOException {
    Files.createDirectories(dir);
    for (int i = 0; i < count; i++) {
      BufferedImage img = TextLines.draw(seed, i).image();
      if (!ImageIO.write(img, "png", dir.resolve(String.format("line-%05d.png", i)).toFile())) {
        throw new IOException("no PNG writer");
      }
    }
  }
}
