package dev.qcal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.calib.Calibrators;
import dev.qcal.calib.Range;
import dev.qcal.data.DataException;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.report.ReportWriter;
import dev.qcal.report.RunDirectory;
import dev.qcal.stats.StatsCodec;
import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsSet;
import dev.qcal.stats.TensorStats;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One set of hostile and non-ASCII tensor names through every writer, each file read back with an
 * independent reader (Jackson, StatsCodec, a TensorRT-like line parser, the page's text): every
 * name round-trips, or calibration.cache refuses it naming the tensor and the file.
 */
public class HostileNamesTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String PLAIN = "plain";
  @TempDir Path tmp;

  /** Names and whether TensorRT's calibration.cache can carry them (decided by hand, not by the code). */
  static Stream<Arguments> names() {
    return Stream.of(
        Arguments.of("r1\nINJECTED: 3c000000", false),
        Arguments.of("carriage\rreturn", false),
        Arguments.of("nul\0char", false),
        Arguments.of("line\u2028separator", false),
        Arguments.of("colon: space", false),
        Arguments.of("tab\tname", true),
        Arguments.of("double\"quote", true),
        Arguments.of("single'quote", true),
        Arguments.of("back\\slash\\n", true),
        Arguments.of("<script>alert(1)</script>", true),
        Arguments.of("a&amp;b&lt;", true),
        Arguments.of("../x", true),
        Arguments.of("/", true),
        Arguments.of("x".repeat(10_000), true),
        Arguments.of("emoji \uD83D\uDE00 CJK 卷积层 RTL שכבה \u202Eevil", true),
        Arguments.of("tf/conv:0", true),
        Arguments.of("ends with colon:", true),
        Arguments.of("", true));
  }

  /** Two activations (the hostile one and {@link #PLAIN}) with a few thousand values each. */
  private static StatsSet stats(String name) {
    StatsSet s = StatsSet.empty(List.of(name, PLAIN), new StatsConfig(256, 0, Map.of()));
    s.countBatch(4);
    float[] v = new float[1000];
    for (int i = 0; i < v.length; i++) {
      v[i] = (i % 97) / 10f - 3f;
    }
    s.add(name, FloatBuffer.wrap(v), new long[] {v.length});
    float[] w = new float[1000];
    for (int i = 0; i < w.length; i++) {
      w[i] = (i % 13) / 2f;
    }
    s.add(PLAIN, FloatBuffer.wrap(w), new long[] {w.length});
    return s;
  }

  /** Writes qparams.json, calibration_table.json, run.json, stats/ and report.html as calibrate does. */
  private static Map<String, float[]> writeAll(Path dir, String name, StatsSet stats) throws Exception {
    Files.createDirectories(dir);
    List<QParamsFile.Entry> entries = new ArrayList<>();
    Map<String, float[]> ranges = new LinkedHashMap<>();
    for (String t : List.of(name, PLAIN)) {
      TensorStats ts = stats.get(t);
      Range r = Calibrators.of("minmax", 99.9).range(t, ts, QuantType.UINT8, false);
      QuantParams p = LinearQuant.forRange(r.min(), r.max(), QuantType.UINT8, false);
      entries.add(new QParamsFile.Entry(t, "activation", p, new float[] {ts.min()}, new float[] {ts.max()},
          ts.count(), ts.nanCount(), ts.posInfCount(), ts.negInfCount(), "minmax",
          new float[] {r.min(), r.max()}, null, null));
      ranges.put(t, new float[] {r.min(), r.max()});
    }
    QuantParams w = LinearQuant.forRanges(new float[] {-1f}, new float[] {1f}, QuantType.INT8, true, 0);
    entries.add(QParamsFile.Entry.constant(name + ".weight", "weight", w, new float[] {-1f}, new float[] {1f}, 9));
    QParamsFile.write(dir.resolve(QParamsFile.NAME),
        new QParamsFile.Header(name + ".onnx", "ab".repeat(32), 13, 13, "minmax", stats.samples(),
            Map.of("qcal", "test")), entries);
    InterchangeFiles.writeOrtTable(dir.resolve(InterchangeFiles.ORT_TABLE), ranges);
    Map<String, Object> options = new LinkedHashMap<>();
    options.put("method", "minmax");
    options.put("percentile", 99.9);
    options.put("activation_type", "uint8");
    options.put("symmetric_activations", false);
    options.put("reduce_range", false);
    options.put("power_of_two_scales", false);
    new RunReport().put("command", "calibrate").put("model", name + ".onnx").put("range_options", options)
        .put("samples", stats.samples()).put("non_finite_values", Map.of(name, 1L))
        .put("versions", Map.of("qcal", "test")).write(dir.resolve(RunReport.NAME));
    StatsFiles.write(dir.resolve(StatsFiles.DIR), stats, "ab".repeat(32), 13, Map.of(name, new long[] {2, 3}));
    ReportWriter.write(dir.resolve(ReportWriter.NAME), RunDirectory.ofLocalRun(dir, stats));
    return ranges;
  }

  @ParameterizedTest
  @MethodSource("names")
  void jsonStatsAndReportRoundTrip(String name, boolean inCache) throws Exception {
    Path dir = tmp.resolve("out");
    StatsSet stats = stats(name);
    Map<String, float[]> ranges = writeAll(dir, name, stats);

    JsonNode q = JSON.readTree(dir.resolve(QParamsFile.NAME).toFile());
    assertEquals(List.of(name, PLAIN), fieldNames(q.get("activations")));
    assertEquals(List.of(name + ".weight"), fieldNames(q.get("weights")));
    assertEquals(name + ".onnx", q.get("model").get("path").asText());
    assertEquals(ranges.get(name)[1], q.get("activations").get(name).get("range_max").floatValue());

    JsonNode table = JSON.readTree(dir.resolve(InterchangeFiles.ORT_TABLE).toFile());
    assertEquals(List.of(name, PLAIN), fieldNames(table));
    assertEquals(ranges.get(name)[0], table.get(name).get(0).floatValue());

    JsonNode run = JSON.readTree(dir.resolve(RunReport.NAME).toFile());
    assertEquals(name + ".onnx", run.get("model").asText());
    assertEquals(List.of(name), fieldNames(run.get("non_finite_values")));

    JsonNode manifest = JSON.readTree(dir.resolve(StatsFiles.DIR).resolve(StatsFiles.MANIFEST).toFile());
    assertEquals(name, manifest.get("tensors").get(0).asText());
    assertEquals(List.of(name), fieldNames(manifest.get("input_shapes")));
    try (InputStream in = Files.newInputStream(dir.resolve(StatsFiles.DIR).resolve(StatsFiles.BIN))) {
      StatsSet back = StatsCodec.read(in);
      assertEquals(List.of(name, PLAIN), List.copyOf(back.tensors().keySet()));
      assertEquals(stats.get(name).max(), back.get(name).max());
    }
    // every file name in the output is qcal's own: none is derived from a tensor name
    try (Stream<Path> files = Files.walk(dir)) {
      assertEquals(List.of("calibration_table.json", "qparams.json", "report.html", "run.json", "stats",
          "stats.bin", "stats.json"), files.filter(p -> !p.equals(dir)).map(p -> p.getFileName().toString()).sorted().toList());
    }

    String html = Files.readString(dir.resolve(ReportWriter.NAME), StandardCharsets.UTF_8);
    if (!name.isEmpty()) {
      assertTrue(html.contains(htmlText(name)), "the report shows the name, escaped");
    }
    assertEquals(1, count(html, "<script"), "only the page's own script");
    if (name.contains("<") || name.contains("&")) {
      assertFalse(html.contains(name), "raw name in the page");
    }
  }

  @ParameterizedTest
  @MethodSource("names")
  void tensorRtCacheRoundTripsOrRefusesNamingTheTensor(String name, boolean inCache) throws Exception {
    StatsSet stats = stats(name);
    Map<String, float[]> ranges = writeAll(tmp.resolve("out"), name, stats);
    Path cache = tmp.resolve("out").resolve(InterchangeFiles.TENSORRT_CACHE);
    assertEquals(!inCache, TensorNames.problem(name, true) != null, "problem(" + name + ")");
    if (!inCache) {
      DataException e = assertThrows(DataException.class,
          () -> InterchangeFiles.writeTensorRtCache(cache, "8601", ranges));
      assertTrue(e.getMessage().startsWith(InterchangeFiles.TENSORRT_CACHE + ": tensor '"
          + TensorNames.printable(name) + "'"), e.getMessage());
      assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
      assertFalse(Files.exists(cache));
      return;
    }
    InterchangeFiles.writeTensorRtCache(cache, "8601", ranges);
    Map<String, String> read = readLikeTensorRt(Files.readAllBytes(cache));
    Map<String, String> expected = new LinkedHashMap<>();
    for (Map.Entry<String, float[]> e : ranges.entrySet()) {
      float amax = Math.max(Math.abs(e.getValue()[0]), Math.abs(e.getValue()[1]));
      expected.put(e.getKey(), String.format("%08x", Float.floatToRawIntBits(amax / 127f)));
    }
    assertEquals(expected, read);
  }

  @Test
  void namesLongerThanTheLimitAreRefusedAndPrintedShort() {
    String ok = "\uD83D\uDE00".repeat(TensorNames.MAX_BYTES / 4);
    assertNull(TensorNames.problem(ok, true));
    String tooLong = ok + "x";
    String p = TensorNames.problem(tooLong, false);
    assertNotNull(p);
    assertTrue(p.contains((TensorNames.MAX_BYTES + 1) + " bytes"), p);
    String shown = TensorNames.printable(tooLong);
    assertTrue(shown.length() < 300 && shown.endsWith("(" + tooLong.length() + " characters)"), shown);
    assertEquals("r1\\nINJECTED: 3c000000 \\u0000 \\u202e \\\\", TensorNames.printable("r1\nINJECTED: 3c000000 \0 \u202E \\"));
  }

  /**
   * TensorRT's calibration cache as a byte-oriented reader sees it: UTF-8 lines split at '\n', the
   * first is the header, each other line is {@code name: 8 hex digits} split at its last ": ".
   * Fails on a line that is not of that form or a name seen twice (a forged line).
   */
  public static Map<String, String> readLikeTensorRt(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    assertTrue(text.endsWith("\n"), "ends with a newline");
    Iterator<String> lines = List.of(text.substring(0, text.length() - 1).split("\n", -1)).iterator();
    assertEquals("TRT-8601-EntropyCalibration2", lines.next());
    Map<String, String> m = new LinkedHashMap<>();
    while (lines.hasNext()) {
      String line = lines.next();
      int sep = line.lastIndexOf(": ");
      assertTrue(sep >= 0 && line.substring(sep + 2).matches("[0-9a-f]{8}"), "bad line: " + line);
      assertNull(m.put(line.substring(0, sep), line.substring(sep + 2)), "name twice: " + line);
      assertEquals(sep, line.indexOf(": "), "a reader splitting at the first ': ' reads the same name");
    }
    return m;
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> l = new ArrayList<>();
    n.fieldNames().forEachRemaining(l::add);
    return l;
  }

  /** HTML text escaping written out here, independently of Html.esc. */
  private static String htmlText(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")
        .replace("'", "&#39;");
  }

  private static int count(String s, String sub) {
    int c = 0;
    for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) {
      c++;
    }
    return c;
  }
}
