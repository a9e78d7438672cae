package dev.qcal.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Image preprocessing declared in a JSON file ({@code --preprocess}): decode (PNG, JPEG, BMP), colour
 * order, resize (fixed, or to a height keeping the aspect ratio up to a maximum width), centre crop,
 * {@code v / divide}, per-channel {@code (v - mean) / std}, padding on the right and bottom, layout.
 * Resizing is bilinear as OpenCV's {@code INTER_LINEAR} (half-pixel centres, edge clamping) with the
 * result rounded to 8 bits, as {@code cv2.resize} of a {@code uint8} image; all arithmetic is float32.
 *
 * <pre>{"color": "BGR", "resize": {"height": 48, "keep_ratio": true, "max_width": 192},
 *  "divide": 255, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
 *  "pad": {"height": 48, "width": 192, "value": 0}, "layout": "NCHW"}</pre>
 */
public record ImagePipeline(boolean bgr, int resizeHeight, int resizeWidth, boolean keepRatio, int cropHeight,
    int cropWidth, float divide, float[] mean, float[] std, int padHeight, int padWidth, float padValue,
    boolean nchw) implements Serializable {

  /**
   * Largest image decoded, in pixels (2^26, e.g. 8192x8192): decoding and preprocessing hold about 20
   * bytes per pixel, so an image at the limit needs about 1.3 GB of executor memory.
   */
  public static final long MAX_PIXELS = 1L << 26;

  private static final Set<String> KEYS = Set.of("color", "resize", "center_crop", "divide", "mean", "std", "pad",
      "layout");

  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  /** Parses the JSON config; {@code source} names it in errors. */
  public static ImagePipeline parse(String json, String source) {
    JsonNode n;
    try {
      n = new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw new DataException(source + ": not JSON: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (n == null || !n.isObject()) {
      throw new DataException(source + ": expected a JSON object");
    }
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!KEYS.contains(k)) {
        throw new DataException(source + ": unknown key '" + k + "' (valid: " + new java.util.TreeSet<>(KEYS) + ")");
      }
    }
    String color = n.path("color").asText("RGB");
    if (!color.equals("RGB") && !color.equals("BGR")) {
      throw new DataException(source + ": color must be RGB or BGR, got '" + color + "'");
    }
    JsonNode r = n.path("resize");
    boolean keep = r.path("keep_ratio").asBoolean(false);
    int rh = r.path("height").asInt(0);
    int rw = keep ? r.path("max_width").asInt(Integer.MAX_VALUE) : r.path("width").asInt(0);
    if (!r.isMissingNode() && (rh < 1 || rw < 1)) {
      throw new DataException(source + ": resize needs height and width (or keep_ratio with height and max_width)");
    }
    JsonNode c = n.path("center_crop");
    int ch = c.isArray() ? c.path(0).asInt() : 0;
    int cw = c.isArray() ? c.path(1).asInt() : 0;
    JsonNode p = n.path("pad");
    String layout = n.path("layout").asText("NCHW");
    if (!layout.equals("NCHW") && !layout.equals("NHWC")) {
      throw new DataException(source + ": layout must be NCHW or NHWC, got '" + layout + "'");
    }
    return new ImagePipeline(color.equals("BGR"), rh, rw, keep, ch, cw, (float) n.path("divide").asDouble(1.0),
        channels(n.path("mean"), 0f, source), channels(n.path("std"), 1f, source), p.path("height").asInt(0),
        p.path("width").asInt(0), (float) p.path("value").asDouble(0), layout.equals("NCHW"));
  }

  private static float[] channels(JsonNode a, float dflt, String source) {
    float[] v = {dflt, dflt, dflt};
    if (a.isMissingNode()) {
      return v;
    }
    if (!a.isArray() || a.size() != 3) {
      throw new DataException(source + ": mean and std are arrays of 3 numbers, in the output colour order");
    }
    for (int i = 0; i < 3; i++) {
      v[i] = (float) a.get(i).asDouble();
    }
    return v;
  }

  /**
   * Decodes and preprocesses one image file; an undecodable file, or one larger than
   * {@link #MAX_PIXELS} (checked from its header, before decoding), throws a {@link BadRecordException}.
   */
  public Sample apply(byte[] file, String source) {
    BufferedImage img = decode(file, source);
    int h = img.getHeight();
    int w = img.getWidth();
    // 8-bit channels in the output colour order, interleaved
    int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
    int[] px = new int[h * w * 3];
    for (int i = 0; i < argb.length; i++) {
      int r = (argb[i] >> 16) & 0xff;
      int g = (argb[i] >> 8) & 0xff;
      int b = argb[i] & 0xff;
      px[3 * i] = bgr ? b : r;
      px[3 * i + 1] = g;
      px[3 * i + 2] = bgr ? r : b;
    }
    if (resizeHeight > 0) {
      int th = resizeHeight;
      int tw = keepRatio ? (int) Math.min(resizeWidth, Math.ceil(th * (w / (double) h))) : resizeWidth;
      px = resize(px, h, w, th, tw);
      h = th;
      w = tw;
    }
    if (cropHeight > 0 && cropWidth > 0) {
      if (cropHeight > h || cropWidth > w) {
        throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, source + ": image " + h + "x" + w
            + " is smaller than the centre crop " + cropHeight + "x" + cropWidth);
      }
      int top = (h - cropHeight) / 2;
      int left = (w - cropWidth) / 2;
      int[] c = new int[cropHeight * cropWidth * 3];
      for (int y = 0; y < cropHeight; y++) {
        System.arraycopy(px, ((top + y) * w + left) * 3, c, y * cropWidth * 3, cropWidth * 3);
      }
      px = c;
      h = cropHeight;
      w = cropWidth;
    }
    int oh = Math.max(h, padHeight);
    int ow = Math.max(w, padWidth);
    float[] out = new float[3 * oh * ow];
    if (padValue != 0f) {
      Arrays.fill(out, padValue);
    }
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int c = 0; c < 3; c++) {
          float v = (px[(y * w + x) * 3 + c] / divide - mean[c]) / std[c];
          out[nchw ? (c * oh + y) * ow + x : (y * ow + x) * 3 + c] = v;
        }
      }
    }
    long[] shape = nchw ? new long[] {3, oh, ow} : new long[] {oh, ow, 3};
    return new Sample(new float[][] {out}, new long[][] {shape}, source);
  }

  /**
   * Decodes {@code file} with the first ImageIO reader for it (as {@code ImageIO.read}), after reading
   * its width and height from the header: an image over {@link #MAX_PIXELS} is refused undecoded.
   */
  static BufferedImage decode(byte[] file, String source) {
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(file))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new BadRecordException(BadRecordException.UNDECODABLE, source + ": not a PNG, JPEG or BMP image");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        long w = reader.getWidth(0);
        long h = reader.getHeight(0);
        if (w * h > MAX_PIXELS) {
          throw new BadRecordException(BadRecordException.TOO_LARGE, source + ": image is " + w + "x" + h
              + " pixels (" + w * h + "), over the limit of " + MAX_PIXELS + " pixels");
        }
        return reader.read(0, reader.getDefaultReadParam());
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof BadRecordException b) {
        throw b;
      }
      throw new BadRecordException(BadRecordException.UNDECODABLE, source + ": cannot decode image: " + e.getMessage(), e);
    }
  }

  /** Bilinear resize of interleaved 3-channel 8-bit pixels as {@code cv2.resize(INTER_LINEAR)}, rounded to 8 bits. */
  public static int[] resize(int[] src, int h, int w, int th, int tw) {
    int[] x0 = new int[tw];
    float[] ax = new float[tw];
    mapAxis(w, tw, x0, ax);
    int[] y0 = new int[th];
    float[] ay = new float[th];
    mapAxis(h, th, y0, ay);
    int[] out = new int[th * tw * 3];
    for (int y = 0; y < th; y++) {
      int r0 = y0[y] * w * 3;
      int r1 = Math.min(y0[y] + 1, h - 1) * w * 3;
      float fy = ay[y];
      for (int x = 0; x < tw; x++) {
        int c0 = x0[x] * 3;
        int c1 = Math.min(x0[x] + 1, w - 1) * 3;
        float fx = ax[x];
        for (int c = 0; c < 3; c++) {
          float top = src[r0 + c0 + c] * (1 - fx) + src[r0 + c1 + c] * fx;
          float bot = src[r1 + c0 + c] * (1 - fx) + src[r1 + c1 + c] * fx;
          out[(y * tw + x) * 3 + c] = Math.round(top * (1 - fy) + bot * fy);
        }
      }
    }
    return out;
  }

  /** OpenCV's INTER_LINEAR source coordinates: {@code (d + 0.5) * scale - 0.5}, clamped at the edges. */
  private static void mapAxis(int srcLen, int dstLen, int[] i0, float[] frac) {
    double scale = srcLen / (double) dstLen;
    for (int d = 0; d < dstLen; d++) {
      double f = (d + 0.5) * scale - 0.5;
      int s = (int) Math.floor(f);
      double a = f - s;
      if (s < 0) {
        s = 0;
        a = 0;
      }
      if (s >= srcLen - 1) {
        s = srcLen - 1;
        a = 0;
      }
      i0[d] = s;
      frac[d] = (float) a;
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ImagePipeline p && toString().equals(p.toString());
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  @Override
  public String toString() {
    return "ImagePipeline[" + (bgr ? "BGR" : "RGB") + ", resize " + resizeHeight + "x" + resizeWidth
        + (keepRatio ? " keep ratio" : "") + ", crop " + cropHeight + "x" + cropWidth + ", /" + divide + ", mean "
        + Arrays.toString(mean) + ", std " + Arrays.toString(std) + ", pad " + padHeight + "x" + padWidth + "="
        + padValue + ", " + (nchw ? "NCHW" : "NHWC") + "]";
  }
}
