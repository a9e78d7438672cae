package dev.qcal.zoo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code scripts/bench algorithms}: what each algorithm beyond range setting (issue 18) does to the zoo models and
 * the example, one calibrate and one evaluate per model, weight setting and configuration, in one JVM and one run:
 * logits SQNR and top-1 agreement of the quantized model against FP32 on held-out samples, and the wall time of the
 * run as a ratio of plain calibration with the same weights (run.json {@code wall_seconds}), with the seconds of
 * the algorithm's own stage.
 *
 * <p>Options: {@code --models bert,gpt,vit,separable_cnn,example} (zoo ids, {@code example} = the bundled PaddleOCR
 * classifier on rendered lines), {@code --configs plain,smooth,bias,gptq,all}, {@code --weights int8,int4} (int4:
 * {@code --weight-type int4 --weight-block-size 32}), {@code --calib N} (calibration samples; default the zoo's,
 * 512 lines for the example), {@code --dir D} (kept; default a temporary folder).
 */
public final class AlgorithmsBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, List<String>> CONFIGS = new LinkedHashMap<>();
  private static final Map<String, List<String>> WEIGHTS = new LinkedHashMap<>();

  static {
    CONFIGS.put("plain", List.of());
    CONFIGS.put("smooth", List.of("--smooth-quant"));
    CONFIGS.put("bias", List.of("--bias-correction"));
    CONFIGS.put("gptq", List.of("--weight-algorithm", "gptq"));
    CONFIGS.put("all", List.of("--smooth-quant", "--bias-correction", "--weight-algorithm", "gptq"));
    WEIGHTS.put("int8", List.of());
    WEIGHTS.put("int4", List.of("--weight-type", "int4", "--weight-block-size", "32"));
  }

  private AlgorithmsBench() {}

  /** One model: where its file and data are, and the data options of calibrate and evaluate. */
  private record Subject(String id, Path model, List<String> calib, List<String> eval) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> o = options(args);
    Path root = o.containsKey("dir") ? Path.of(o.get("dir")) : Files.createTempDirectory("qcal-algorithms-bench");
    List<String> models = List.of(o.getOrDefault("models", "bert,gpt,vit,separable_cnn,example").split(","));
    List<String> configs = List.of(o.getOrDefault("configs", "plain,smooth,bias,gptq").split(","));
    List<String> weights = List.of(o.getOrDefault("weights", "int8,int4").split(","));
    Integer calib = o.containsKey("calib") ? Integer.valueOf(o.get("calib")) : null;
    List<String> table = new ArrayList<>(List.of(
        "| model | weights | config | logits SQNR dB | top-1 agreement | wall s | wall / plain | own stage s |",
        "|---|---|---|---|---|---|---|---|"));
    for (String m : models) {
      Subject s = subject(m, root.resolve(m), calib);
      for (String w : weights) {
        Double plainWall = null;
        for (String c : configs) {
          Row r = run(s, w, c);
          if ("plain".equals(c)) {
            plainWall = r.wall;
          }
          table.add(r.line(s.id(), w, c, plainWall));
          System.out.println(table.get(table.size() - 1));
        }
      }
    }
    System.out.println();
    table.forEach(System.out::println);
    System.out.println("(models and data in " + root + ")");
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --option value, got " + Arrays.toString(args));
      }
      m.put(args[i].substring(2), args[i + 1]);
    }
    return m;
  }

  /** @param calib calibration samples (null: the zoo's own count; the example: 512 lines) */
  private static Subject subject(String id, Path dir, Integer calib) throws Exception {
    Files.createDirectories(dir);
    if ("example".equals(id)) {
      Path data = dir.resolve("data");
      if (!Files.exists(data.resolve("_SUCCESS"))) {
        check(Cli.run("example-data", "--out", data.toString(), "--count", String.valueOf(calib == null ? 512 : calib), "--seed", "1"), "example-data");
      }
      Path eval = dir.resolve("eval");
      if (!Files.exists(eval.resolve("_SUCCESS"))) {
        check(Cli.run("example-data", "--out", eval.toString(), "--count", "256", "--seed", "2"), "example-data");
      }
      return new Subject(id, ExampleData.MODEL, List.of("--data", data.resolve("x").toString()),
          List.of("--data", eval.resolve("x").toString()));
    }
    Zoo zoo = Arrays.stream(Zoo.values()).filter(z -> z.id().equals(id)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no zoo model '" + id + "'"));
    Files.write(dir.resolve("model.onnx"), zoo.model().toByteArray());
    zoo.writeData(dir.resolve("calib"), calib == null ? zoo.calibSamples() : calib, Zoo.CALIB_SEED);
    zoo.writeData(dir.resolve("eval"), zoo.evalSamples(), Zoo.EVAL_SEED);
    return new Subject(id, dir.resolve("model.onnx"), ZooRun.data(zoo, dir.resolve("calib")),
        ZooRun.data(zoo, dir.resolve("eval")));
  }

  /** The figures of one run; a failed run keeps its first error line. */
  private record Row(Double sqnr, Double agreement, Double wall, Double ownStage, String error) {
    String line(String model, String weights, String config, Double plainWall) {
      if (error != null) {
        return "| " + model + " | " + weights + " | " + config + " | failed: " + error.replace('|', '/') + " | | | | |";
      }
      return String.format(Locale.ROOT, "| %s | %s | %s | %.2f | %s | %.1f | %s | %s |", model, weights, config, sqnr,
          agreement == null ? "-" : String.format(Locale.ROOT, "%.4f", agreement), wall,
          plainWall == null ? "-" : String.format(Locale.ROOT, "%.2f", wall / plainWall),
          ownStage == null ? "-" : String.format(Locale.ROOT, "%.1f", ownStage));
    }
  }

  private static Row run(Subject s, String weights, String config) throws Exception {
    Path out = s.model().getParent().resolve("runs").resolve(s.id() + "-" + weights + "-" + config);
    if (ExampleData.MODEL.equals(s.model())) {
      out = Path.of(System.getProperty("java.io.tmpdir")).resolve("qcal-algorithms-bench-example")
          .resolve(weights + "-" + config);
    }
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", s.model().toString(), "--out",
        out.resolve("q").toString(), "--overwrite", "--no-report"));
    args.addAll(s.calib());
    args.addAll(WEIGHTS.get(weights));
    args.addAll(CONFIGS.get(config));
    Cli c = Cli.run(args.toArray(String[]::new));
    if (c.code() != 0) {
      return new Row(null, null, null, null, c.errorLine());
    }
    List<String> e = new ArrayList<>(List.of("evaluate", "--fp32", s.model().toString(), "--quantized",
        out.resolve("q/quantized.onnx").toString(), "--out", out.resolve("e").toString(), "--overwrite",
        "--sensitivity-samples", "0"));
    e.addAll(s.eval());
    Cli v = Cli.run(e.toArray(String[]::new));
    if (v.code() != 0) {
      return new Row(null, null, null, null, "evaluate: " + v.errorLine());
    }
    JsonNode run = JSON.readTree(out.resolve("q/run.json").toFile());
    JsonNode output = JSON.readTree(out.resolve("e/eval.json").toFile()).get("outputs").elements().next();
    JsonNode stages = run.get("stage_seconds");
    double own = 0;
    boolean any = false;
    for (String stage : List.of("smooth_quant", "gptq_hessian", "bias_correction")) {
      if (stages.has(stage)) {
        own += stages.get(stage).asDouble();
        any = true;
      }
    }
    JsonNode agree = output.get("top1_agreement");
    return new Row(output.get("sqnr_db").asDouble(), agree == null || agree.isNull() ? null : agree.asDouble(),
        run.get("wall_seconds").asDouble(), any ? own : null, null);
  }

  private static void check(Cli c, String what) {
    if (c.code() != 0) {
      throw new IllegalStateException(what + ": " + c.err());
    }
  }
}
