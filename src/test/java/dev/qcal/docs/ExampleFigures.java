package dev.qcal.docs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.examples.TextLines;
import dev.qcal.model.plan.PlanOptions;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.ExampleEval;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The figures the docs quote about runs of the bundled example, each computed from the files a fresh run writes:
 * {@code calibrate} on 512 lines (seed 1, as {@code scripts/example}), {@code evaluate} on 256 held-out lines (seed
 * 2, labelled), the FP32 fallback, {@code quantize} with the wide and narrow types and other op types, and
 * {@code drift} against three other samples. Runs in process on the shared Spark session; every value is formatted
 * as the docs print it. The names are those of the {@code <!--fig NAME-->} markers.
 */
final class ExampleFigures {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MODEL = ExampleData.MODEL.toString();
  private final Path dir;
  private final Map<String, String> figures = new LinkedHashMap<>();
  /** {agreement, FP32 accuracy, accuracy} of each quantized model evaluated, by output: each evaluated once. */
  private final Map<Path, double[]> evaluated = new java.util.HashMap<>();
  private Path calib;
  private Path held;
  private Path cal;

  private ExampleFigures(Path dir) {
    this.dir = dir;
  }

  /** Every figure, by marker name, from runs under the empty directory {@code dir}. */
  static Map<String, String> compute(Path dir) throws Exception {
    ExampleFigures f = new ExampleFigures(dir);
    f.calibration();
    f.evaluation();
    f.methods();
    f.fallback();
    f.wideTypes();
    f.opTypes();
    f.drift();
    f.nlpTables();
    return f.figures;
  }

  private void calibration() throws IOException {
    // the lines as the docs' commands write them (scripts/example; the held-out set): the file layout decides which
    // samples the sensitivity ranking draws
    calib = dir.resolve("calib");
    run("example-data", "--out", calib.toString(), "--count", "512", "--seed", Long.toString(ExampleData.CALIB_SEED));
    held = dir.resolve("heldout");
    run("example-data", "--out", held.toString(), "--count", Integer.toString(ExampleEval.LINES), "--seed",
        Long.toString(ExampleData.EVAL_SEED));
    cal = dir.resolve("calibrated");
    run("calibrate", "--model", MODEL, "--data", calib.resolve("x").toString(), "--out", cal.toString());
    figures.put("example.report_kb", Long.toString(Math.round(Files.size(cal.resolve("report.html")) / 1000.0)));
    figures.put("example.int8_bytes", bytes(cal.resolve("quantized.onnx")));
    figures.put("example.int8_percent", f1(100.0 * Files.size(cal.resolve("quantized.onnx"))
        / Files.size(ExampleData.MODEL)));
    figures.put("example.activations", Integer.toString(read(cal.resolve("qparams.json")).get("activations").size()));
  }

  private void evaluation() {
    Path out = dir.resolve("eval");
    run("evaluate", "--fp32", MODEL, "--quantized", cal.resolve("quantized.onnx").toString(), "--data",
        held.resolve("x").toString(), "--labels", held.resolve("labels.npy").toString(), "--out", out.toString());
    JsonNode e = read(out.resolve("eval.json"));
    JsonNode o = e.get("outputs").elements().next();
    JsonNode acc = o.get("accuracy");
    figures.put("eval.agreement", f4(o.get("top1_agreement").asDouble()));
    figures.put("eval.fp32_accuracy", f4(acc.get("fp32").asDouble()));
    figures.put("eval.int8_accuracy", f4(acc.get("quantized").asDouble()));
    figures.put("eval.drop", String.format(Locale.ROOT, "%.2f",
        100 * (acc.get("fp32").asDouble() - acc.get("quantized").asDouble())));
    figures.put("eval.sqnr", f1(o.get("sqnr_db").asDouble()));
    JsonNode s = e.get("sensitivity");
    List<JsonNode> ranked = new ArrayList<>();
    s.get("tensors").forEach(ranked::add);
    long activations = ranked.stream().filter(t -> t.get("kind").asText().equals("activation")).count();
    figures.put("sens.count", Integer.toString(ranked.size()));
    figures.put("sens.activations", Long.toString(activations));
    figures.put("sens.weights", Long.toString(ranked.size() - activations));
    for (int i = 0; i < 2; i++) {
      figures.put("sens.tensor" + (i + 1), "`" + ranked.get(i).get("tensor").asText() + "`");
      figures.put("sens.sqnr" + (i + 1), f1(ranked.get(i).get("output_sqnr_db").asDouble()));
    }
    double lowest = ranked.stream().mapToDouble(t -> t.get("top1_agreement").asDouble()).min().orElseThrow();
    figures.put("sens.lowest_agreement", f4(lowest));
    figures.put("sens.samples", s.get("samples").asText());
    figures.put("sens.json", sensitivityJson(s, ranked.get(0)));
  }

  /** Each range method from the same statistics, evaluated on the held-out lines: which one to keep. */
  private void methods() {
    StringBuilder table = new StringBuilder(String.format("%n%n| `--method` | logits SQNR | top-1 agreement | accuracy |%n"
        + "|---|---|---|---|%n"));
    for (String method : List.of("minmax", "percentile", "entropy", "mse")) {
      Path q = dir.resolve("method-" + method);
      run("quantize", "--model", MODEL, "--stats", cal.toString(), "--method", method, "--out", q.toString(),
          "--no-report");
      Path out = dir.resolve("eval-" + method);
      run("evaluate", "--fp32", MODEL, "--quantized", q.resolve("quantized.onnx").toString(), "--data",
          held.resolve("x").toString(), "--labels", held.resolve("labels.npy").toString(), "--out", out.toString(),
          "--sensitivity-samples", "0");
      JsonNode o = read(out.resolve("eval.json")).get("outputs").elements().next();
      table.append(String.format(Locale.ROOT, "| `%s` | %.1f dB | %s | %s |%n", method, o.get("sqnr_db").asDouble(),
          f4(o.get("top1_agreement").asDouble()), f4(o.get("accuracy").get("quantized").asDouble())));
    }
    figures.put("methods.table", table.append(String.format("%n")).toString());
  }

  /** The sample of {@code eval.json}'s ranking: its head and first entry, in a fenced block. */
  private static String sensitivityJson(JsonNode s, JsonNode first) {
    StringBuilder nodes = new StringBuilder();
    first.get("nodes").forEach(n -> nodes.append(nodes.length() == 0 ? "" : ", ").append('"').append(n.asText())
        .append('"'));
    return String.format(Locale.ROOT, "%n%n```json%n\"sensitivity\": {\"samples\": %d, \"metric\": \"%s\", \"tensors\": [%n"
        + "  {\"rank\": 1, \"tensor\": \"%s\", \"kind\": \"%s\", \"nodes\": [%s],%n"
        + "   \"output_sqnr_db\": %.2f, \"top1_agreement\": %s}, ...]}%n```%n%n", s.get("samples").asInt(),
        s.get("metric").asText(), first.get("tensor").asText(), first.get("kind").asText(), nodes,
        first.get("output_sqnr_db").asDouble(), first.get("top1_agreement").asText());
  }

  private void fallback() {
    List<String> base = List.of("quantize", "--model", MODEL, "--stats", cal.toString(), "--eval-data",
        held.resolve("x").toString(), "--eval-labels", held.resolve("labels.npy").toString());
    Path loose = dir.resolve("fallback-0.5");
    run(concat(base, "--max-accuracy-drop", "0.5", "--out", loose.toString(), "--no-report"));
    JsonNode looseSteps = read(loose.resolve("run.json")).get("fallback").get("steps");
    figures.put("fallback.loose_steps", Integer.toString(looseSteps.size() - 1));
    Path strict = dir.resolve("fallback-0");
    run(concat(base, "--max-accuracy-drop", "0", "--out", strict.toString(), "--no-report"));
    JsonNode fb = read(strict.resolve("run.json")).get("fallback");
    List<String> nodes = new ArrayList<>();
    List<String> tensors = new ArrayList<>();
    for (JsonNode step : fb.get("steps")) {
      if (step.get("step").asInt() > 0) {
        step.get("excluded_nodes").forEach(n -> nodes.add("`" + n.asText() + "`"));
        tensors.add("`" + step.get("tensor").asText() + "`");
      }
    }
    JsonNode last = fb.get("steps").get(fb.get("steps").size() - 1);
    figures.put("fallback.status", fb.get("status").asText());
    figures.put("fallback.steps", Integer.toString(fb.get("steps").size() - 1));
    figures.put("fallback.nodes", String.join(", ", nodes));
    figures.put("fallback.tensors", String.join(", ", tensors));
    figures.put("fallback.agreement", f4(last.get("top1_agreement").asDouble()));
    figures.put("fallback.drop", String.format(Locale.ROOT, "%.2f", last.get("accuracy_drop_points").asDouble()));
    figures.put("fallback.bytes", bytes(strict.resolve("quantized.onnx")));
  }

  private void wideTypes() throws Exception {
    StringBuilder table = new StringBuilder(String.format("%n%n| model | agreement with FP32 | accuracy | bytes |%n"
        + "|---|---|---|---|%n"));
    double[] u8 = evaluate(cal);
    table.append(String.format(Locale.ROOT, "| FP32 | – | %s | %s |%n", f4(u8[1]), bytes(ExampleData.MODEL)));
    table.append(row("uint8 activations, int8 weights (the defaults)", cal));
    Map<String, List<String>> variants = new LinkedHashMap<>();
    variants.put("uint16 activations", List.of("--activation-type", "uint16"));
    variants.put("int16 activations", List.of("--activation-type", "int16"));
    variants.put("int16 activations, `--symmetric-activations`", List.of("--activation-type", "int16",
        "--symmetric-activations"));
    variants.put("`--weight-type int4` (Gemm; Convs int8)", List.of("--weight-type", "int4"));
    variants.put("`--weight-type uint4`", List.of("--weight-type", "uint4"));
    variants.put("`--weight-type int4 --weight-block-size 32`", List.of("--weight-type", "int4",
        "--weight-block-size", "32"));
    variants.put("`--per-channel=false` (int8 weights per tensor)", List.of("--per-channel=false"));
    double gain16 = Double.POSITIVE_INFINITY;
    int n = 0;
    for (Map.Entry<String, List<String>> v : variants.entrySet()) {
      Path out = dir.resolve("wide-" + n++);
      List<String> args = new ArrayList<>(List.of("quantize", "--model", MODEL, "--stats", cal.toString(), "--out",
          out.toString(), "--no-report"));
      args.addAll(v.getValue());
      run(args);
      table.append(row(v.getKey(), out));
      if (v.getKey().startsWith("int16 activations, ")) {
        figures.put("wide.gain_symmetric", f1(smallestGain(out)));
      } else if (v.getKey().contains("16")) {
        gain16 = Math.min(gain16, smallestGain(out));
      }
    }
    figures.put("wide.gain16", f1(gain16));
    figures.put("wide.table", table.append(String.format("%n")).toString());
  }

  /** {@link ExampleEval#evaluate} of {@code out}'s quantized model, once per model. */
  private double[] evaluate(Path out) throws Exception {
    double[] e = evaluated.get(out);
    if (e == null) {
      e = ExampleEval.evaluate(out.resolve("quantized.onnx"));
      evaluated.put(out, e);
    }
    return e;
  }

  /** A table row: agreement and accuracy on the held-out lines, and the file's size. */
  private String row(String name, Path out) throws Exception {
    double[] e = evaluate(out);
    return String.format(Locale.ROOT, "| %s | %s | %s | %s |%n", name, f4(e[0]), f4(e[2]),
        bytes(out.resolve("quantized.onnx")));
  }

  /** The smallest per-tensor {@code sqnr_db} gain of {@code out}'s parameters over the uint8 calibration's. */
  private double smallestGain(Path out) {
    JsonNode a8 = read(cal.resolve("qparams.json")).get("activations");
    double min = Double.POSITIVE_INFINITY;
    for (var it = read(out.resolve("qparams.json")).get("activations").fields(); it.hasNext(); ) {
      var t = it.next();
      JsonNode s8 = a8.get(t.getKey()).get("sqnr_db");
      JsonNode s16 = t.getValue().get("sqnr_db");
      if (!s8.isNull() && !s16.isNull()) {
        min = Math.min(min, s16.asDouble() - s8.asDouble());
      }
    }
    return min;
  }

  private void opTypes() throws Exception {
    Path noDw = dir.resolve("no-depthwise");
    run("quantize", "--model", MODEL, "--stats", cal.toString(), "--exclude-depthwise", "--out", noDw.toString(),
        "--no-report");
    Path every = dir.resolve("every-rule");
    run("calibrate", "--model", MODEL, "--data", calib.resolve("x").toString(), "--out", every.toString(),
        "--op-types", String.join(",", PlanOptions.knownOpTypes()), "--no-report");
    double[] u8 = evaluate(cal);
    figures.put("ops.table", String.format("%n%n| model | agreement with FP32 | accuracy | bytes |%n|---|---|---|---|%n")
        + String.format(Locale.ROOT, "| FP32 | – | %s | %s |%n", f4(u8[1]), bytes(ExampleData.MODEL))
        + row("int8, default op types", cal) + row("int8, `--exclude-depthwise`", noDw)
        + row("int8, every rule (`--op-types` with every op type that has a rule)", every) + String.format("%n"));
  }

  private void drift() throws IOException {
    StringBuilder table = new StringBuilder(String.format("%n%n| current (512 lines) | exit | drifted | largest clipped "
        + "| largest JS | largest loss | most severe (clipped, JS, SQNR loss) |%n|---|---|---|---|---|---|---|%n"));
    Map<String, UnaryOperator<Float>> currents = new LinkedHashMap<>();
    currents.put("seed 5", x -> x);
    currents.put("seed 5, pixels x 1.5", x -> 1.5f * x);
    currents.put("seed 5, pixels + 0.25", x -> x + 0.25f);
    int i = 0;
    for (Map.Entry<String, UnaryOperator<Float>> c : currents.entrySet()) {
      Path data = dir.resolve("drift-data-" + i);
      lines(data, 5, 512, c.getValue());
      Path current = dir.resolve("drift-current-" + i);
      run("calibrate", "--model", MODEL, "--data", data.toString(), "--out", current.toString(), "--no-report");
      Path out = dir.resolve("drift-" + i++);
      Cli r = Cli.run("drift", "--baseline", cal.toString(), "--current", current.toString(), "--out", out.toString(),
          "--no-report");
      if (r.code() != 0 && r.code() != 4) {
        throw new IllegalStateException("drift exited " + r.code() + ": " + r.err());
      }
      table.append(driftRow(c.getKey(), r.code(), read(out.resolve("drift.json"))));
    }
    figures.put("drift.table", table.append(String.format("%n")).toString());
  }

  /** A row of the drift table, and the README's figures of the first two rows. */
  private String driftRow(String name, int code, JsonNode d) {
    double clip = 0;
    double js = 0;
    double loss = 0;
    for (var it = d.get("tensors").elements(); it.hasNext(); ) {
      JsonNode t = it.next();
      clip = Math.max(clip, t.get("clipped_fraction").asDouble());
      js = Math.max(js, t.path("js_divergence").asDouble());
      loss = Math.max(loss, t.get("sqnr_loss_db").asDouble());
    }
    List<String> severe = new ArrayList<>();
    d.get("drifted").forEach(t -> severe.add(t.get("tensor").asText()));
    String closest = null;
    for (var it = d.get("tensors").fields(); it.hasNext(); ) {
      var t = it.next();
      if (closest == null || t.getValue().get("severity").asDouble() > d.get("tensors").get(closest).get("severity")
          .asDouble()) {
        closest = t.getKey();
      }
    }
    List<String> shown = new ArrayList<>();
    for (String t : severe.isEmpty() ? List.of(closest) : severe.subList(0, Math.min(3, severe.size()))) {
      JsonNode f = d.get("tensors").get(t);
      shown.add(String.format(Locale.ROOT, "`%s` (%.2f %%, %.3f, %.1f dB)", t,
          100 * f.get("clipped_fraction").asDouble(), f.path("js_divergence").asDouble(),
          f.get("sqnr_loss_db").asDouble()));
    }
    String most = (severe.isEmpty() ? "none past a threshold; closest " : "") + String.join(", ", shown)
        + (severe.size() > 3 ? ", ..." : "");
    if (name.equals("seed 5")) {
      figures.put("drift.same_clip", f2(100 * clip));
    } else if (name.contains("x 1.5")) {
      figures.put("drift.scaled_clip", f1(100 * d.get("tensors").get("x").get("clipped_fraction").asDouble()));
      figures.put("drift.scaled_loss", f1(d.get("tensors").get("x").get("sqnr_loss_db").asDouble()));
    }
    return String.format(Locale.ROOT, "| %s | %d | %d | %s %% | %.3f | %.1f dB | %s |%n", name, code, severe.size(),
        f2(100 * clip), js, loss, most);
  }

  /**
   * The NLP example (its docs' commands: 512 token rows calibrated with {@code --mask}, 128 evaluation rows) with
   * the default op types and with its embedding table quantized (Gather and the pass-through ops named).
   */
  private void nlpTables() {
    Path nlp = dir.resolve("nlp");
    run("example-data", "--kind", "bert", "--out", nlp.toString());
    List<String> calibrate = List.of("calibrate", "--model", nlp.resolve("model.onnx").toString(), "--data",
        nlp.resolve("tokens.parquet").toString(), "--mask", "attention_mask", "--no-report");
    String gather = "Conv,Gemm,MatMul,Gather,Reshape,Transpose,Squeeze,Unsqueeze,Slice,Split,Expand";
    Map<String, List<String>> variants = new LinkedHashMap<>();
    variants.put("defaults", List.of());
    variants.put("gather", List.of("--op-types", gather));
    for (Map.Entry<String, List<String>> v : variants.entrySet()) {
      Path out = dir.resolve("nlp-" + v.getKey());
      List<String> args = new ArrayList<>(calibrate);
      args.addAll(List.of("--out", out.toString()));
      args.addAll(v.getValue());
      run(args);
      Path eval = dir.resolve("nlp-eval-" + v.getKey());
      run("evaluate", "--fp32", nlp.resolve("model.onnx").toString(), "--quantized",
          out.resolve("quantized.onnx").toString(), "--data", nlp.resolve("eval.parquet").toString(), "--out",
          eval.toString(), "--sensitivity-samples", "0");
      JsonNode o = read(eval.resolve("eval.json")).get("outputs").elements().next();
      figures.put("nlp." + v.getKey(), String.format(Locale.ROOT, "%.1f dB and top-1 agreement %.3f, %s bytes",
          o.get("sqnr_db").asDouble(), o.get("top1_agreement").asDouble(), bytes(out.resolve("quantized.onnx"))));
    }
  }

  /** {@code count} lines of {@code seed}, each value mapped by {@code f}, as {@code .npy} files of 64. */
  private static void lines(Path dir, long seed, int count, UnaryOperator<Float> f) throws IOException {
    Files.createDirectories(dir);
    for (int part = 0; part < count / 64; part++) {
      try (Npy.Writer out = Npy.Writer.float32(dir.resolve(String.format("part-%05d.npy", part)),
          new long[] {64, TextLines.CHANNELS, TextLines.HEIGHT, TextLines.WIDTH})) {
        for (int i = part * 64; i < part * 64 + 64; i++) {
          float[] x = TextLines.render(seed, i).chw();
          for (int k = 0; k < x.length; k++) {
            x[k] = f.apply(x[k]);
          }
          out.writeRow(x);
        }
      }
    }
  }

  private static List<String> concat(List<String> base, String... more) {
    List<String> out = new ArrayList<>(base);
    out.addAll(List.of(more));
    return out;
  }

  private static void run(List<String> args) {
    run(args.toArray(String[]::new));
  }

  private static void run(String... args) {
    Cli r = Cli.run(args);
    if (r.code() != 0) {
      throw new IllegalStateException(String.join(" ", args) + " exited " + r.code() + ": " + r.err());
    }
  }

  private static JsonNode read(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String bytes(Path file) {
    try {
      return String.format(Locale.ROOT, "%,d", Files.size(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String f1(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  private static String f2(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }

  private static String f4(double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }
}
