package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.cli.Main;
import dev.qcal.examples.TextLinePngs;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example's text lines as a PNG folder through the shipped preprocessing config
 * (jobs/ppocr-cls-preprocess.json) give the .npy run's qparams.json byte for byte: PNG is lossless
 * and the pipeline does PaddleOCR's resize_norm_img in the same float32 arithmetic, so 8-bit decoding
 * loses nothing here (a lossy JPEG would not agree exactly).
 */
@ExtendWith(SharedSpark.class)
class CalibrateImagesTest {
  static final String PREPROCESS = "jobs/ppocr-cls-preprocess.json";
  @TempDir static Path tmp;
  static Path pngs;

  private static Cli run(String name, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(),
        "--out", tmp.resolve(name).toString()));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  @BeforeAll
  static void write(SparkSession spark) throws Exception {
    pngs = tmp.resolve("lines");
    TextLinePngs.write(pngs, 11, 40); // ExampleData.small(): seed 11, 40 lines
  }

  @Test
  void pngFolderGivesTheSameBytesAsNpy(SparkSession spark) throws Exception {
    assertEquals(0, run("npy", "--data", ExampleData.small().resolve("x").toString()).code());
    Cli r = run("png", "--data", pngs.toString(), "--preprocess", PREPROCESS);
    assertEquals(0, r.code(), r.err());
    assertArrayEquals(Files.readAllBytes(tmp.resolve("npy/qparams.json")),
        Files.readAllBytes(tmp.resolve("png/qparams.json")));
  }

  @Test
  void undecodableImageFailsOrIsSkipped(SparkSession spark) throws Exception {
    Path dir = tmp.resolve("with-bad");
    TextLinePngs.write(dir, 11, 6);
    Files.writeString(dir.resolve("broken.png"), "not a png");
    Cli fail = run("f", "--data", dir.toString(), "--format", "images", "--preprocess", PREPROCESS);
    assertEquals(Main.BAD_INPUT, fail.code(), fail.err());
    assertTrue(fail.errorLine().contains("broken.png"), fail.errorLine());
    assertFalse(Files.exists(tmp.resolve("f")));
    Cli skip = run("s", "--data", dir.toString(), "--preprocess", PREPROCESS, "--on-bad-record", "skip");
    assertEquals(0, skip.code(), skip.err());
    JsonNode report = new ObjectMapper().readTree(tmp.resolve("s/run.json").toFile());
    assertEquals(6, report.get("samples").asLong());
    assertEquals(1, report.get("skipped_records").get("undecodable").asLong());
  }

  @Test
  void imageFolderWithoutPreprocessNamesTheOption(SparkSession spark) {
    Cli r = run("n", "--data", pngs.toString());
    assertEquals(Main.BAD_INPUT, r.code(), r.err());
    assertTrue(r.errorLine().contains("--preprocess"), r.errorLine());
  }
}
