package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.examples.TextLines;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daily DAG without Airflow: for three consecutive dates, the steps {@code jobs/qcal_daily.py} plans (the module
 * the DAG runs, asked with {@code python3}) are run in order, in process, on the shared local Spark, each exit code
 * checked against the ones the plan accepts, as the DAG's tasks do. Days 1 and 2 are two samples of the example's
 * rendered lines (seeds 21 and 22); day 3's lines are brightened and scaled (x -> 1.5 x + 0.5), a shift of every
 * activation. What must happen: day 1 publishes (first publication); day 2 keeps it (no drift, not yet due); day 3
 * finds the drift and publishes the three-day window.
 */
@ExtendWith(SharedSpark.class)
class DailyScheduleTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int PER_DAY = 32;
  @TempDir Path tmp;

  /** One day's rendered lines (scaled and shifted when {@code shifted}) as {@code .npy} files of 8. */
  private static void day(Path dir, long seed, boolean shifted) throws IOException {
    Files.createDirectories(dir);
    for (int part = 0; part < PER_DAY / 8; part++) {
      try (Npy.Writer out = Npy.Writer.float32(dir.resolve("part-" + part + ".npy"),
          new long[] {8, TextLines.CHANNELS, TextLines.HEIGHT, TextLines.WIDTH})) {
        for (int i = part * 8; i < part * 8 + 8; i++) {
          float[] x = TextLines.render(seed, i).chw();
          if (shifted) {
            for (int k = 0; k < x.length; k++) {
              x[k] = 1.5f * x[k] + 0.5f;
            }
          }
          out.writeRow(x);
        }
      }
    }
  }

  /** The plan of date {@code ds}, from the module the DAG runs. */
  private static List<JsonNode> plan(Path config, String ds) throws Exception {
    Process p = new ProcessBuilder("python3", "jobs/qcal_daily.py", "--config", config.toString(), "--ds", ds)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "python3 jobs/qcal_daily.py ended");
    assertEquals(0, p.exitValue(), out);
    List<JsonNode> steps = new ArrayList<>();
    JSON.readTree(out).forEach(steps::add);
    return steps;
  }

  /** Runs a date's steps in order, as the DAG's tasks do; returns each task's exit code. */
  private static Map<String, Integer> runDay(Path config, String ds) throws Exception {
    Map<String, Integer> codes = new LinkedHashMap<>();
    for (JsonNode step : plan(config, ds)) {
      List<String> args = new ArrayList<>();
      step.path("args").forEach(a -> args.add(a.asText()));
      Cli r = Cli.run(args.toArray(String[]::new));
      List<Integer> ok = new ArrayList<>();
      step.path("ok_exit_codes").forEach(c -> ok.add(c.asInt()));
      String task = step.path("task").asText();
      assertTrue(ok.contains(r.code()), ds + " " + task + " exited " + r.code() + ": " + r.err());
      codes.put(task, r.code());
    }
    return codes;
  }

  private static JsonNode read(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void threeDaysPublishFirstKeepThenPublishOnDrift() throws Exception {
    Path data = tmp.resolve("data");
    day(data.resolve("dt=2026-12-01/x"), 21, false);
    day(data.resolve("dt=2026-12-02/x"), 22, false);
    day(data.resolve("dt=2026-12-03/x"), 23, true);
    day(data.resolve("heldout/x"), 29, false);
    Path work = tmp.resolve("work");
    Path published = tmp.resolve("published");
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("model", ExampleData.MODEL.toString());
    cfg.put("data", data + "/dt={ds}/x");
    cfg.put("heldout", data.resolve("heldout/x").toString());
    cfg.put("work", work.toString());
    cfg.put("published", published.toString());
    cfg.put("job_file", "jobs/example-daily.properties");
    cfg.put("window_days", 7);
    cfg.put("republish_after_days", 7);
    cfg.put("min_agreement", 0.5);
    cfg.put("calibrate_args", List.of("--no-report"));
    // days of 32 samples: minmax ranges are the sample's extremes, so two days of the same lines differ by several
    // per cent clipped and by 20 dB of SQNR loss on the smallest tensor (p2o.Add.87, 64 values a day): thresholds
    // far looser than the defaults (meant for runs of hundreds of samples), the clip one still far below what the
    // shifted day does to the input
    cfg.put("drift_args", List.of("--max-clip", "0.1", "--max-sqnr-loss", "40", "--no-report"));
    Path config = tmp.resolve("daily.json");
    JSON.writeValue(config.toFile(), cfg);

    // day 1: nothing published: no drift step; the one-run window is published
    Map<String, Integer> d1 = runDay(config, "2026-12-01");
    assertEquals(List.of("calibrate", "merge", "evaluate", "publish"), List.copyOf(d1.keySet()));
    JsonNode p1 = JSON.readTree(published.resolve("published.json").toFile());
    assertEquals("2026-12-01", p1.path("date").asText());
    assertEquals("first publication", p1.path("reason").asText());
    assertEquals(PER_DAY, p1.path("samples").asLong());
    byte[] model1 = Files.readAllBytes(published.resolve("quantized.onnx"));
    assertArrayEquals(Files.readAllBytes(work.resolve("windows/2026-12-01/quantized.onnx")), model1);

    // day 2: a second sample of the same lines: no drift (exit 0), not due: the publication stays
    Map<String, Integer> d2 = runDay(config, "2026-12-02");
    assertEquals(List.of("calibrate", "merge", "drift", "evaluate", "publish"), List.copyOf(d2.keySet()));
    assertEquals(0, d2.get("drift"), () -> "a second sample of the same distribution is no drift: "
        + read(work.resolve("drift/2026-12-02/drift.json")).path("drifted"));
    assertEquals("ok", JSON.readTree(work.resolve("drift/2026-12-02/drift.json").toFile()).path("verdict").asText());
    assertEquals(p1, JSON.readTree(published.resolve("published.json").toFile()));
    assertArrayEquals(model1, Files.readAllBytes(published.resolve("quantized.onnx")));
    // the window spans both days
    assertEquals(2 * PER_DAY, JSON.readTree(work.resolve("windows/2026-12-02/qparams.json").toFile())
        .path("samples").asLong());

    // day 3: shifted lines: drift (exit 4, accepted), the three-day window published
    Map<String, Integer> d3 = runDay(config, "2026-12-03");
    assertEquals(4, d3.get("drift"), "the shifted day is drift");
    // the input itself: 1.5 x + 0.5 of lines in [-1, 1] puts most values outside the deployed [-1, 1]
    JsonNode x = read(work.resolve("drift/2026-12-03/drift.json")).path("tensors").path("x");
    assertTrue(x.path("clipped_fraction").asDouble() > 0.1, x.toString());
    JsonNode p3 = JSON.readTree(published.resolve("published.json").toFile());
    assertEquals("2026-12-03", p3.path("date").asText());
    assertTrue(p3.path("reason").asText().startsWith("drift"), p3.toString());
    assertEquals(3 * PER_DAY, p3.path("samples").asLong());
    assertEquals("2026-12-01", p3.path("previous").path("date").asText());
    assertArrayEquals(Files.readAllBytes(work.resolve("windows/2026-12-03/quantized.onnx")),
        Files.readAllBytes(published.resolve("quantized.onnx")));
    assertFalse(java.util.Arrays.equals(model1, Files.readAllBytes(published.resolve("quantized.onnx"))));
    assertTrue(Files.exists(published.resolve("drift.json")) && Files.exists(published.resolve("eval.json")));
  }
}
