package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.data.Npy;
import dev.qcal.examples.Cnns;
import dev.qcal.io.StatsFiles;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code qcal drift} on a small Java-built CNN calibrated (shared Spark session) on 160 images of uniform pixels in
 * [-1, 1]: a day of the same pixels scaled by 1.5 is flagged (exit 4), a second independent sample is not (exit 0),
 * the thresholds decide, a qparams.json alone serves as the baseline, and bad input is one line, exit 2, nothing
 * written. The input's figures are checked against the raw pixels: the share outside the deployed range, the JS
 * divergence of the raw values binned on the reported grid, the SQNR of quantizing them.
 */
@ExtendWith(SharedSpark.class)
class DriftCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int N = 160;
  private static final int SAMPLE = 3 * Cnns.SIZE * Cnns.SIZE;

  @TempDir static Path tmp;
  private static Path model;
  private static Path base;
  private static Path same;
  private static Path scaled;
  private static float[] baseX;
  private static float[] scaledX;

  @BeforeAll
  static void calibrateThreeDays() throws IOException {
    SharedSpark.session();
    model = tmp.resolve("small.onnx");
    OnnxModels.save(Cnns.small(13, 3), model);
    baseX = uniform(1);
    float[] sameX = uniform(2);
    scaledX = new float[sameX.length];
    for (int i = 0; i < sameX.length; i++) {
      scaledX[i] = sameX[i] * 1.5f;
    }
    base = calibrate("base", baseX);
    same = calibrate("same", sameX);
    scaled = calibrate("scaled", scaledX);
  }

  private static float[] uniform(long seed) {
    Random r = new Random(seed);
    float[] x = new float[N * SAMPLE];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextFloat() * 2 - 1;
    }
    return x;
  }

  private static Path calibrate(String name, float[] x) throws IOException {
    Path data = Files.createDirectories(tmp.resolve("data-" + name));
    Npy.writeFloat32(data.resolve("part-0.npy"), x, new long[] {N, 3, Cnns.SIZE, Cnns.SIZE});
    Path out = tmp.resolve(name);
    Cli r = Cli.run("calibrate", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
        "--no-report");
    assertEquals(0, r.code(), r.err());
    return out;
  }

  private static Cli drift(Path baseline, Path current, Path out, String... more) {
    List<String> a = new ArrayList<>(List.of("drift", "--baseline", baseline.toString(), "--current",
        current.toString(), "--out", out.toString()));
    a.addAll(List.of(more));
    return Cli.run(a.toArray(new String[0]));
  }

  private static JsonNode read(Path file) throws IOException {
    return JSON.readTree(file.toFile());
  }

  @Test
  void aScaledDayIsFlaggedOnTheInputAndTheTensorsItMoves() throws Exception {
    Path out = tmp.resolve("drift-scaled");
    Cli r = drift(base, scaled, out);
    assertEquals(Main.THRESHOLD, r.code(), r.err());
    assertTrue(r.out().startsWith("qcal: drift: "), r.out());
    JsonNode d = read(out.resolve("drift.json"));
    assertEquals("drift", d.get("verdict").asText());
    JsonNode input = d.get("tensors").get(Cnns.INPUT);
    assertTrue(input.get("past").toString().contains("clip") && input.get("past").toString().contains("js"),
        input.toString());

    // the deployed range is base's qparams.json's; the share of the raw scaled pixels outside it, counted
    JsonNode q = read(base.resolve("qparams.json")).get("activations").get(Cnns.INPUT);
    double lo = q.get("range_min").asDouble();
    double hi = q.get("range_max").asDouble();
    assertEquals(lo, input.get("deployed").get("range").get(0).asDouble());
    assertEquals(hi, input.get("deployed").get("range").get(1).asDouble());
    long outside = 0;
    for (float v : scaledX) {
      outside += v < lo || v > hi ? 1 : 0;
    }
    double counted = (double) outside / scaledX.length;
    assertEquals(1.0 / 3, counted, 0.01, "1.5 u outside [-1, 1] for a third of uniform u");
    JsonNode bounds = input.get("clipped_fraction_bounds");
    assertTrue(bounds.get(0).asDouble() <= counted && counted <= bounds.get(1).asDouble(), bounds + " " + counted);
    assertEquals(counted, input.get("clipped_fraction").asDouble(), 1e-4);

    // JS of the raw pixels binned on the reported grid
    double w = input.get("js_bin_width").asDouble();
    assertEquals(rawJs(baseX, scaledX, w), input.get("js_divergence").asDouble(), 1e-9);
    assertEquals(input.get("js_bins").asInt(), rawBins(baseX, scaledX, w));
    // the deployed parameters' SQNR on the raw scaled pixels, quantized value by value
    double s = q.get("scale").get(0).asDouble();
    long z = q.get("zero_point").get(0).asLong();
    assertEquals(rawSqnr(scaledX, (float) s, z), input.get("sqnr_deployed_db").asDouble(), 0.05);
    assertTrue(input.get("sqnr_loss_db").asDouble() > 6, input.toString());

    // drifted: the tensors past a threshold, most severe first
    List<String> past = new ArrayList<>();
    d.get("tensors").fields().forEachRemaining(e -> {
      if (e.getValue().get("past").size() > 0) {
        past.add(e.getKey());
      }
    });
    List<String> listed = new ArrayList<>();
    double prev = Double.POSITIVE_INFINITY;
    for (JsonNode t : d.get("drifted")) {
      listed.add(t.get("tensor").asText());
      assertTrue(t.get("severity").asDouble() <= prev && t.get("severity").asDouble() > 1, t.toString());
      prev = t.get("severity").asDouble();
    }
    assertEquals(past.stream().sorted().toList(), listed.stream().sorted().toList());
    assertTrue(listed.size() >= 3, "the scaled input moves the layers after it too: " + listed);
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("drift-overlay") && html.contains(Cnns.INPUT), "report with overlays");
  }

  @Test
  void aSecondSampleOfTheSameDistributionIsNotFlagged() throws Exception {
    Path out = tmp.resolve("drift-same");
    Cli r = drift(base, same, out);
    assertEquals(Main.OK, r.code(), r.err() + r.out());
    assertTrue(r.out().startsWith("qcal: no drift: "), r.out());
    JsonNode d = read(out.resolve("drift.json"));
    assertEquals("ok", d.get("verdict").asText());
    assertEquals(0, d.get("drifted").size());
    JsonNode input = d.get("tensors").get(Cnns.INPUT);
    assertEquals(rawJs(baseX, uniform(2), input.get("js_bin_width").asDouble()),
        input.get("js_divergence").asDouble(), 1e-9);
    // an earlier drift output is replaced with --overwrite
    assertEquals(Main.OK, drift(base, same, out, "--overwrite", "--no-report").code());
    assertFalse(Files.exists(out.resolve("report.html")));
  }

  @Test
  void theThresholdsDecide() throws Exception {
    Cli loose = drift(base, scaled, tmp.resolve("loose"), "--max-clip", "1", "--max-js", "1", "--max-sqnr-loss",
        "1000");
    assertEquals(Main.OK, loose.code(), loose.err());
    Cli strict = drift(base, same, tmp.resolve("strict"), "--max-js", "1e-9");
    assertEquals(Main.THRESHOLD, strict.code(), strict.err());
    JsonNode d = read(tmp.resolve("strict").resolve("drift.json"));
    assertEquals(1e-9, d.get("thresholds").get("max_js").asDouble());
    assertEquals(d.get("tensors_compared").asInt(), d.get("drifted").size(), "every tensor's JS is above 1e-9");
  }

  @Test
  void aQParamsJsonAloneIsABaselineWithoutDivergence() throws Exception {
    Path q = tmp.resolve("quantized");
    Cli quantize = Cli.run("quantize", "--model", model.toString(), "--stats", base.toString(), "--out", q.toString(),
        "--no-report");
    assertEquals(0, quantize.code(), quantize.err());
    assertFalse(Files.exists(q.resolve("stats")));
    Cli r = drift(q, scaled.resolve("stats"), tmp.resolve("from-qparams"));
    assertEquals(Main.THRESHOLD, r.code(), r.err());
    Cli s = drift(base.resolve("stats"), scaled, tmp.resolve("from-stats"));
    assertEquals(Main.THRESHOLD, s.code(), s.err());
    JsonNode a = read(tmp.resolve("from-qparams").resolve("drift.json")).get("tensors");
    JsonNode b = read(tmp.resolve("from-stats").resolve("drift.json")).get("tensors");
    for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
      String t = it.next();
      assertTrue(a.get(t).get("js_divergence").isNull(), t);
      assertEquals(b.get(t).get("deployed"), a.get(t).get("deployed"), t);
      assertEquals(b.get(t).get("clipped_fraction"), a.get(t).get("clipped_fraction"), t);
      assertEquals(b.get(t).get("sqnr_loss_db"), a.get(t).get("sqnr_loss_db"), t);
    }
  }

  @Test
  void theFreshRangesAreThoseQuantizeChoosesAndBareStatisticsTakeTheCurrentRunsScheme() throws Exception {
    // the deployed parameters of a percentile run; quantize's own choice on the current statistics as the oracle
    Path deployed = tmp.resolve("percentile-base");
    Path now = tmp.resolve("percentile-now");
    for (Path[] p : new Path[][] {{base, deployed}, {scaled, now}}) {
      Cli q = Cli.run("quantize", "--model", model.toString(), "--stats", p[0].toString(), "--out", p[1].toString(),
          "--method", "percentile", "--percentile", "99.9", "--no-report");
      assertEquals(0, q.code(), q.err());
    }
    Path out = tmp.resolve("drift-percentile");
    assertEquals(Main.THRESHOLD, drift(deployed, scaled, out).code());
    JsonNode t = read(out.resolve("drift.json")).get("tensors");
    JsonNode dq = read(deployed.resolve("qparams.json")).get("activations");
    JsonNode nq = read(now.resolve("qparams.json")).get("activations");
    assertEquals(dq.size(), t.size());
    for (Iterator<String> it = t.fieldNames(); it.hasNext(); ) {
      String n = it.next();
      JsonNode e = t.get(n);
      assertEquals("percentile", e.get("method").asText());
      assertEquals(dq.get(n).get("range_min").floatValue(), e.get("deployed").get("range").get(0).floatValue(), n);
      assertEquals(dq.get(n).get("scale").get(0).floatValue(), e.get("deployed").get("scale").floatValue(), n);
      assertEquals(nq.get(n).get("range_max").floatValue(), e.get("fresh").get("range").get(1).floatValue(), n);
      assertEquals(nq.get(n).get("scale").get(0).floatValue(), e.get("fresh").get("scale").floatValue(), n);
      assertEquals(nq.get(n).get("zero_point").get(0).asLong(), e.get("fresh").get("zero_point").asLong(), n);
      assertEquals(nq.get(n).get("sqnr_db").asDouble(), e.get("sqnr_fresh_db").asDouble(), 1e-9, n);
    }
    // statistics on their own: ranges chosen from them with the current run's scheme (scaled's: minmax)
    Path bare = copy(base.resolve("stats"), tmp.resolve("bare-stats"));
    Path fromBare = tmp.resolve("drift-bare");
    Cli r = drift(bare, scaled, fromBare);
    assertEquals(Main.THRESHOLD, r.code(), r.err());
    JsonNode b = read(fromBare.resolve("drift.json"));
    assertEquals(scaled + "/qparams.json", b.get("scheme").get("from").asText());
    assertEquals("minmax", b.get("scheme").get("method").asText());
    JsonNode bq = read(base.resolve("qparams.json")).get("activations");
    for (Iterator<String> it = b.get("tensors").fieldNames(); it.hasNext(); ) {
      String n = it.next();
      assertEquals(bq.get(n).get("range_min").floatValue(),
          b.get("tensors").get(n).get("deployed").get("range").get(0).floatValue(), n);
      assertEquals(bq.get(n).get("scale").get(0).floatValue(),
          b.get("tensors").get(n).get("deployed").get("scale").floatValue(), n);
    }
  }

  @Test
  void badInputIsOneLineAndNothingWritten() throws Exception {
    Path out = tmp.resolve("bad");
    one(drift(tmp.resolve("nope"), scaled, out), out, "--baseline", "nope", "not found");
    // a run folder without _SUCCESS
    Path unfinished = copy(base, tmp.resolve("unfinished"));
    Files.delete(unfinished.resolve("_SUCCESS"));
    one(drift(unfinished, scaled, out), out, "unfinished", "no _SUCCESS");
    one(drift(base, unfinished.resolve("stats"), out), out, "--current", "no _SUCCESS");
    // statistics of another model (stats.json names its SHA-256)
    Path other = copy(base.resolve("stats"), tmp.resolve("other-model"));
    ObjectNode m = (ObjectNode) read(other.resolve("stats.json"));
    m.put("model_sha256", "0".repeat(64));
    Files.writeString(other.resolve("stats.json"), m.toString());
    one(drift(other, scaled, out), out, "belongs to the model with SHA-256 " + "0".repeat(64));
    // statistics of the model as SmoothQuant rewrote it
    Path smoothed = copy(base.resolve("stats"), tmp.resolve("smoothed"));
    ObjectNode sm = (ObjectNode) read(smoothed.resolve("stats.json"));
    sm.put("model_transform", "smooth_quant");
    Files.writeString(smoothed.resolve("stats.json"), sm.toString());
    one(drift(base, smoothed, out), out, "--current", "smooth_quant");
    // statistics of one tensor more
    Path more = tmp.resolve("more-tensors");
    StatsFiles.Loaded l = StatsFiles.read(scaled.toString(), new Configuration());
    StatsFiles.write(more, l.stats().withAliases(Map.of("extra", Cnns.INPUT)), l.manifest().modelSha256(),
        l.manifest().preparedOpset(), l.manifest().inputShapes());
    one(drift(base.resolve("stats"), more, out), out, "tensor sets differ", "'extra'");
    // thresholds out of range, an output inside an input
    one(drift(base, scaled, out, "--max-clip", "0"), out, "--max-clip 0.0: must be in (0, 1]");
    one(drift(base, scaled, out, "--max-js", "2"), out, "--max-js 2.0: must be in (0, 1]");
    Path inside = base.resolve("drift");
    one(drift(base, scaled, inside), inside, "--out", "lies inside the input --baseline");
  }

  private static void one(Cli r, Path out, String... fragments) {
    r.assertBadInput(out, fragments);
    assertEquals(1, r.err().lines().count(), r.err());
  }

  private static Path copy(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : files.toList()) {
        Path t = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(t);
        } else {
          Files.copy(f, t);
        }
      }
    }
    return to;
  }

  /** Jensen-Shannon divergence (bits) of two value sets binned by floor(v / w). */
  private static double rawJs(float[] a, float[] b, double w) {
    TreeMap<Long, double[]> bins = new TreeMap<>();
    for (float v : a) {
      bins.computeIfAbsent((long) Math.floor(v / w), k -> new double[2])[0]++;
    }
    for (float v : b) {
      bins.computeIfAbsent((long) Math.floor(v / w), k -> new double[2])[1]++;
    }
    double js = 0;
    for (double[] c : bins.values()) {
      double p = c[0] / a.length;
      double q = c[1] / b.length;
      double m = (p + q) / 2;
      js += (p > 0 ? p * Math.log(p / m) : 0) + (q > 0 ? q * Math.log(q / m) : 0);
    }
    return js / 2 / Math.log(2);
  }

  private static int rawBins(float[] a, float[] b, double w) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (float[] x : new float[][] {a, b}) {
      for (float v : x) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    return (int) (Math.floor(hi / w) - Math.floor(lo / w) + 1);
  }

  /** SQNR (dB) of uint8 quantize-dequantize with {@code s}, {@code z} over the raw values. */
  private static double rawSqnr(float[] x, float s, long z) {
    double signal = 0;
    double noise = 0;
    for (float v : x) {
      long q = Math.max(0, Math.min(255, (long) Math.rint(v / s) + z));
      double e = v - (double) s * (q - z);
      signal += (double) v * v;
      noise += e * e;
    }
    return 10 * Math.log10(signal / noise);
  }
}
