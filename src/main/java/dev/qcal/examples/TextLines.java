package dev.qcal.examples;

import dev.qcal.data.ImagePipeline;
import dev.qcal.data.Npy;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.font.FontRenderContext;
import java.awt.font.GlyphVector;
import java.awt.font.LineMetrics;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

/**
 * Deterministic labelled text-line images for the example model
 * {@code examples/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx} (PaddleOCR's text-direction
 * classifier): label 0 is upright text, label 1 text rotated by 180°, preprocessed exactly as
 * PaddleOCR's {@code TextClassifier.resize_norm_img} into {@code [3, 48, 192]} floats.
 *
 * <p>Sample {@code (seed, index)} depends on nothing else, so any partition can regenerate any sample;
 * pixels are reproducible for a given JDK and font set (the DejaVu fonts behind Java's logical font
 * families). Labels alternate with the index (odd indices are rotated), so every even-length run of
 * indices is exactly balanced.
 */
public final class TextLines {

  /** Model input height. */
  public static final int HEIGHT = 48;
  /** Model input width; narrower lines are padded on the right with zeros. */
  public static final int WIDTH = 192;
  /** Colour channels, in OpenCV's B, G, R order. */
  public static final int CHANNELS = 3;
  /** Floats per sample: {@code 3 * 48 * 192}. */
  public static final int SAMPLE_FLOATS = CHANNELS * HEIGHT * WIDTH;

  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true"); // executors and CI have no display
    }
  }

  private static final String[] FAMILIES = {"SansSerif", "Serif", "Monospaced"};
  private static final String[] COMMON = {
    "the", "and", "of", "to", "in", "for", "with", "on", "at", "from", "by", "is", "total", "date",
    "page", "name", "order", "price", "invoice", "number", "street", "road", "city", "phone", "email",
    "amount", "tax", "item", "qty", "model", "serial", "open", "close", "daily", "hours", "Monday",
    "Friday", "March", "office", "room", "floor", "exit", "station", "line", "bus", "ticket", "store",
    "market", "coffee", "tea", "hotel", "bank", "card", "cash", "paid", "balance", "account", "ID",
    "No.", "Ltd", "Inc", "Co.", "USD", "EUR", "kg", "km", "cm", "mm", "OK", "TEL", "FAX", "www"
  };
  private static final String LOWER = "abcdefghijklmnopqrstuvwxyz";
  private static final String UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  private static final String DIGITS = "0123456789";
  private static final FontRenderContext FRC =
      new FontRenderContext(null, RenderingHints.VALUE_TEXT_ANTIALIAS_ON, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
  private static final Pattern PART = Pattern.compile("part-(\\d{5,})\\.npy");

  /** One preprocessed sample: {@code chw} holds {@code 3 * 48 * 192} floats in [-1, 1]. */
  public record Sample(float[] chw, int label, String text) {}

  /** What a sample looks like before preprocessing; package-private for tests and debugging. */
  record Line(BufferedImage image, int label, String text) {}

  private TextLines() {}

  /** Renders and preprocesses sample {@code index} of the set identified by {@code seed}. */
  public static Sample render(long seed, int index) {
    Line line = draw(seed, index);
    return new Sample(preprocess(line.image()), line.label(), line.text());
  }

  /** The BGR image of sample {@code (seed, index)}, already rotated when its label is 1. */
  static Line draw(long seed, int index) {
    if (index < 0) {
      throw new IllegalArgumentException("sample index must be >= 0, got " + index);
    }
    SplittableRandom rnd = new SplittableRandom(mix64(mix64(seed) ^ (index * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L)));
    int label = index & 1;
    String text = randomText(rnd);

    String family = FAMILIES[rnd.nextInt(FAMILIES.length)];
    int r = rnd.nextInt(10);
    int style = r < 6 ? Font.PLAIN : r < 8 ? Font.BOLD : r < 9 ? Font.ITALIC : Font.BOLD | Font.ITALIC;
    float size = 28f + (float) rnd.nextDouble() * 12f;
    Font font = new Font(family, style, 1).deriveFont(size);

    GlyphVector gv = font.createGlyphVector(FRC, text);
    Rectangle2D ink = gv.getVisualBounds();
    LineMetrics lm = font.getLineMetrics(text, FRC);
    int left = 2 + rnd.nextInt(11);
    int right = 2 + rnd.nextInt(11);
    int top = 1 + rnd.nextInt(6);
    int bottom = 1 + rnd.nextInt(6);
    // Vertically the line box (ascent + descent) so all lines of a font have the same height;
    // horizontally the ink, as a text detector would crop it.
    int w = (int) Math.ceil(ink.getWidth()) + left + right;
    int h = (int) Math.ceil(lm.getAscent() + lm.getDescent()) + top + bottom;

    int bg = 205 + rnd.nextInt(51);
    int fg = rnd.nextInt(70);
    Color background = new Color(jitter(bg, rnd), jitter(bg, rnd), jitter(bg, rnd));
    Color foreground = new Color(jitter(fg, rnd), jitter(fg, rnd), jitter(fg, rnd));

    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    Graphics2D g = img.createGraphics();
    try {
      g.setColor(background);
      g.fillRect(0, 0, w, h);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      g.setColor(foreground);
      g.drawGlyphVector(gv, (float) (left - ink.getX()), top + lm.getAscent());
    } finally {
      g.dispose();
    }
    if (label == 1) {
      rotate180(img);
    }
    return new Line(img, label, text);
  }

  private static int jitter(int v, SplittableRandom rnd) {
    return Math.max(0, Math.min(255, v + rnd.nextInt(-8, 9)));
  }

  private static String randomText(SplittableRandom rnd) {
    int target = 8 + rnd.nextInt(23); // 8..30 characters
    StringBuilder sb = new StringBuilder();
    while (sb.length() < target) {
      String word = randomWord(rnd); // 1..9 characters
      if (sb.length() > 0 && sb.length() + 1 + word.length() > 30) {
        break; // only reached with sb.length() >= 21, so the line still has 8..30 characters
      }
      if (sb.length() > 0) {
        sb.append(' ');
      }
      sb.append(word);
    }
    return sb.toString();
  }

  private static String randomWord(SplittableRandom rnd) {
    int kind = rnd.nextInt(10);
    if (kind < 4) {
      return COMMON[rnd.nextInt(COMMON.length)];
    }
    if (kind < 6) { // a number: 2024, 15.99, 3-7
      String n = chars(DIGITS, 1 + rnd.nextInt(5), rnd);
      int deco = rnd.nextInt(4);
      return deco == 0 ? n + "." + chars(DIGITS, 2, rnd) : deco == 1 ? n + "-" + chars(DIGITS, 1 + rnd.nextInt(3), rnd) : n;
    }
    if (kind < 7) { // a code mixing letters and digits: A12B, x7
      return chars(UPPER, 1 + rnd.nextInt(3), rnd) + chars(DIGITS, 1 + rnd.nextInt(4), rnd);
    }
    String w = chars(LOWER, 2 + rnd.nextInt(8), rnd);
    int caps = rnd.nextInt(4);
    if (caps == 0) {
      return w.toUpperCase(Locale.ROOT);
    }
    return caps == 1 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w;
  }

  private static String chars(String alphabet, int n, SplittableRandom rnd) {
    char[] c = new char[n];
    for (int i = 0; i < n; i++) {
      c[i] = alphabet.charAt(rnd.nextInt(alphabet.length()));
    }
    return new String(c);
  }

  /** Rotates a TYPE_3BYTE_BGR image by 180° in place (reverses the pixel order). */
  private static void rotate180(BufferedImage img) {
    byte[] p = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    int n = img.getWidth() * img.getHeight();
    for (int i = 0, j = n - 1; i < j; i++, j--) {
      for (int c = 0; c < 3; c++) {
        byte t = p[3 * i + c];
        p[3 * i + c] = p[3 * j + c];
        p[3 * j + c] = t;
      }
    }
  }

  /**
   * PaddleOCR's classifier preprocessing ({@code TextClassifier.resize_norm_img}) of a BGR image of
   * height h and width w: resize to {@code (min(192, ceil(48 * w / h)), 48)} with bilinear
   * interpolation as {@code cv2.resize(INTER_LINEAR)} does it (half-pixel centres, edge clamping, the
   * result rounded to 8 bits; computed in float, so it may differ from OpenCV's fixed-point arithmetic
   * by one grey level), then {@code (v / 255 - 0.5) / 0.5} in CHW order with channels B, G, R, and
   * zeros on the right up to width 192.
   */
  public static float[] preprocess(BufferedImage bgr) {
    if (bgr.getType() != BufferedImage.TYPE_3BYTE_BGR) {
      throw new IllegalArgumentException(
          "expected a TYPE_3BYTE_BGR (" + BufferedImage.TYPE_3BYTE_BGR + ") image, got type " + bgr.getType());
    }
    int h = bgr.getHeight();
    int w = bgr.getWidth();
    byte[] src = ((DataBufferByte) bgr.getRaster().getDataBuffer()).getData();
    int rw = (int) Math.min(WIDTH, Math.ceil(HEIGHT * (w / (double) h)));

    int[] px = new int[src.length];
    for (int i = 0; i < src.length; i++) {
      px[i] = src[i] & 0xff;
    }
    int[] resized = ImagePipeline.resize(px, h, w, HEIGHT, rw); // cv2.resize keeps uint8
    float[] out = new float[SAMPLE_FLOATS];
    int plane = HEIGHT * WIDTH;
    for (int y = 0; y < HEIGHT; y++) {
      for (int x = 0; x < rw; x++) {
        for (int c = 0; c < 3; c++) {
          out[c * plane + y * WIDTH + x] = (resized[(y * rw + x) * 3 + c] / 255f - 0.5f) / 0.5f;
        }
      }
    }
    return out;
  }

  /**
   * Writes samples {@code 0 .. count-1} of {@code seed} as {@code dir/x/part-00000.npy}, ... (float32
   * {@code [n, 3, 48, 192]}, at most {@code filesOf} samples each) and their labels as
   * {@code dir/labels.npy} (int64 {@code [count]}, same order). Rerunnable: existing files are
   * overwritten and stale {@code part-*.npy} files beyond the new last part are deleted.
   */
  public static void writeDataset(Path dir, int count, long seed, int filesOf) throws IOException {
    if (count < 0) {
      throw new IllegalArgumentException("count must be >= 0, got " + count);
    }
    if (filesOf <= 0) {
      throw new IllegalArgumentException("samples per file must be > 0, got " + filesOf);
    }
    Path xdir = dir.resolve("x");
    Files.createDirectories(xdir);
    int parts = (count + filesOf - 1) / filesOf;
    try (DirectoryStream<Path> old = Files.newDirectoryStream(xdir, "part-*.npy")) {
      for (Path p : old) {
        var m = PART.matcher(p.getFileName().toString());
        if (m.matches() && Long.parseLong(m.group(1)) >= parts) {
          Files.delete(p);
        }
      }
    }
    long[] labels = new long[count];
    for (int part = 0; part < parts; part++) {
      int first = part * filesOf;
      int n = Math.min(filesOf, count - first);
      Path file = xdir.resolve(String.format("part-%05d.npy", part));
      try (Npy.Writer out = Npy.Writer.float32(file, new long[] {n, CHANNELS, HEIGHT, WIDTH})) {
        for (int i = first; i < first + n; i++) {
          Sample s = render(seed, i);
          labels[i] = s.label();
          out.writeRow(s.chw());
        }
      }
    }
    Npy.writeInt64(dir.resolve("labels.npy"), labels, new long[] {count});
  }

  /** {@code --out DIR --count N --seed S [--per-file K]}: writes a dataset with {@link #writeDataset}. */
  public static void main(String[] args) throws IOException {
    Path out = null;
    Long count = null;
    Long seed = null;
    long perFile = 256;
    try {
      for (int i = 0; i < args.length; i += 2) {
        String a = args[i];
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("missing value for " + a);
        }
        String v = args[i + 1];
        switch (a) {
          case "--out" -> out = Path.of(v);
          case "--count" -> count = parseLong(a, v);
          case "--seed" -> seed = parseLong(a, v);
          case "--per-file" -> perFile = parseLong(a, v);
          default -> throw new IllegalArgumentException("unknown option " + a);
        }
      }
      if (out == null || count == null || seed == null) {
        throw new IllegalArgumentException("--out, --count and --seed are required");
      }
      if (count < 0 || count > Integer.MAX_VALUE || perFile <= 0 || perFile > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "expected 0 <= --count and 0 < --per-file, both at most " + Integer.MAX_VALUE
                + ", found " + count + " and " + perFile);
      }
    } catch (IllegalArgumentException e) {
      System.err.println("TextLines: " + e.getMessage());
      System.err.println("usage: TextLines --out DIR --count N --seed S [--per-file K (default 256)]");
      System.exit(2);
      return;
    }
    long t0 = System.nanoTime();
    writeDataset(out, count.intValue(), seed, (int) perFile);
    double secs = Math.max((System.nanoTime() - t0) / 1e9, 1e-9);
    System.out.printf(
        Locale.ROOT,
        "wrote %d samples (seed %d, %d per file) to %s in %.1f s (%.0f samples/s)%n",
        count, seed, perFile, out, secs, count / secs);
  }

  private static long parseLong(String option, String value) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + ": expected an integer, found '" + value + "'");
    }
  }

  /** Stafford's mix13 finaliser (as in SplittableRandom). */
  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
