package dev.qcal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImagePipelineTest {
  /** A 2x4 RGB image whose pixel (y, x) is (10y + x, 100 + x, 200 - y). */
  private static byte[] png() throws Exception {
    BufferedImage img = new BufferedImage(4, 2, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 2; y++) {
      for (int x = 0; x < 4; x++) {
        img.setRGB(x, y, ((10 * y + x) << 16) | ((100 + x) << 8) | (200 - y));
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  @Test
  void rgbNhwcWithCropPadAndNormalisation() throws Exception {
    ImagePipeline p = ImagePipeline.parse("{\"color\": \"RGB\", \"center_crop\": [2, 2], \"divide\": 1,"
        + " \"mean\": [1, 2, 3], \"std\": [1, 1, 2], \"pad\": {\"height\": 3, \"width\": 2, \"value\": -9},"
        + " \"layout\": \"NHWC\"}", "t");
    Sample s = p.apply(png(), "a.png");
    assertArrayEquals(new long[] {3, 2, 3}, s.shapes()[0]);
    float[] v = (float[]) s.values()[0];
    // (y=0, x=0) of the crop is source (0, 1): r=1, g=101, b=200
    assertEquals(0f, v[0]);
    assertEquals(99f, v[1]);
    assertEquals(98.5f, v[2]);
    // (y=1, x=1) is source (1, 2): r=12, g=102, b=199
    assertEquals(11f, v[(1 * 2 + 1) * 3]);
    assertEquals(-9f, v[(2 * 2) * 3]); // padded row
  }

  @Test
  void bgrNchwWithAFixedResizeToTheSameSizeIsTheIdentity() throws Exception {
    ImagePipeline p = ImagePipeline.parse("{\"color\": \"BGR\", \"resize\": {\"height\": 2, \"width\": 4}}", "t");
    float[] v = (float[]) p.apply(png(), "a.png").values()[0];
    assertEquals(200f, v[0]); // channel 0 is blue
    assertEquals(13f, v[2 * 8 + 4 + 3]); // red, (1, 3)
  }

  @Test
  void undecodableAndUnknownKeys() {
    ImagePipeline p = ImagePipeline.parse("{}", "t");
    BadRecordException e = assertThrows(BadRecordException.class, () -> p.apply(new byte[] {1, 2, 3}, "x.png"));
    assertEquals(BadRecordException.UNDECODABLE, e.reason());
    assertTrue(e.getMessage().startsWith("x.png"), e.getMessage());
    DataException k = assertThrows(DataException.class, () -> ImagePipeline.parse("{\"resise\": {}}", "cfg.json"));
    assertTrue(k.getMessage().contains("unknown key 'resise'"), k.getMessage());
  }

  @Test
  void imageOverThePixelLimitIsRefusedFromItsHeader() throws Exception {
    ImagePipeline p = ImagePipeline.parse("{}", "t");
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> p.apply(dev.qcal.testing.TestImages.pngHeader(30000, 30000), "big.png"));
    assertEquals(BadRecordException.TOO_LARGE, e.reason());
    assertEquals("big.png: image is 30000x30000 pixels (900000000), over the limit of 67108864 pixels", e.getMessage());
    // at the limit: the header passes, so the missing pixel data is what fails
    BadRecordException u = assertThrows(BadRecordException.class,
        () -> p.apply(dev.qcal.testing.TestImages.pngHeader(8192, 8192), "ok.png"));
    assertEquals(BadRecordException.UNDECODABLE, u.reason());
  }
}
