package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.testing.Cli;
import dev.qcal.testing.ExampleData;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * evaluate and the fallback's --eval-data take calibrate's data options (one declaration): flat Parquet rows
 * with --sample-shape, --max-samples, --query; the same 40 samples give the .npy run's figures.
 */
@ExtendWith(SharedSpark.class)
class EvalDataOptionsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path tmp;
  static Path parquet;
  static Path quantized;

  @BeforeAll
  static void data(SparkSession spark) throws Exception {
    parquet = tmp.resolve("lines-parquet");
    ParquetExamples.write(spark, ExampleData.small().resolve("x"), parquet, 3, false);
    quantized = ExampleData.calibratedSmall().resolve("quantized.onnx");
  }

  private static Cli evaluate(String name, String... extra) {
    List<String> args = new ArrayList<>(List.of("evaluate", "--fp32", ExampleData.MODEL.toString(), "--quantized",
        quantized.toString(), "--out", tmp.resolve(name).toString(), "--sensitivity-samples", "0"));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(new String[0]));
  }

  private static JsonNode eval(String name) throws Exception {
    return JSON.readTree(tmp.resolve(name).resolve("eval.json").toFile());
  }

  private static double sqnr(JsonNode eval) {
    return eval.get("outputs").elements().next().get("sqnr_db").asDouble();
  }

  @Test
  void evaluateReadsTablesWithTheDataOptions() throws Exception {
    Cli npy = evaluate("npy", "--data", ExampleData.small().resolve("x").toString());
    assertEquals(0, npy.code(), npy.err());
    Cli flat = evaluate("parquet", "--data", parquet.toString(), "--sample-shape", "x=3,48,192");
    assertEquals(0, flat.code(), flat.err());
    assertEquals(40, eval("parquet").get("samples").asLong());
    assertEquals(sqnr(eval("npy")), sqnr(eval("parquet")), 1e-6, "the same samples from Parquet");
    Cli some = evaluate("some", "--data", parquet.toString(), "--sample-shape", "x=3,48,192", "--max-samples", "10",
        "--seed", "5");
    assertEquals(0, some.code(), some.err());
    assertEquals(10, eval("some").get("samples").asLong());
    Cli query = evaluate("query", "--query", "SELECT x FROM parquet.`" + parquet + "`", "--sample-shape", "x=3,48,192");
    assertEquals(0, query.code(), query.err());
    assertEquals(40, eval("query").get("samples").asLong());
    assertEquals(sqnr(eval("npy")), sqnr(eval("query")), 1e-6);
    Cli neither = evaluate("neither");
    assertEquals(2, neither.code());
    assertTrue(neither.errorLine().contains("give exactly one of --data, --table and --query"), neither.errorLine());
  }

  @Test
  void fallbackEvalDataTakesTheFormatOptions() throws Exception {
    String[] fallback = {"--min-sqnr", "1", "--sensitivity-samples", "4", "--eval-data", parquet.toString(),
        "--sample-shape", "x=3,48,192"};
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", ExampleData.MODEL.toString(), "--data",
        ExampleData.small().resolve("x").toString(), "--out", tmp.resolve("calibrated").toString()));
    args.addAll(List.of(fallback));
    Cli c = Cli.run(args.toArray(new String[0]));
    assertEquals(0, c.code(), c.err());
    JsonNode fb = JSON.readTree(tmp.resolve("calibrated/run.json").toFile()).get("fallback");
    assertTrue(fb.toString().contains(parquet.toString()), fb.toString());
    List<String> q = new ArrayList<>(List.of("quantize", "--model", ExampleData.MODEL.toString(), "--stats",
        tmp.resolve("calibrated").toString(), "--out", tmp.resolve("requantized").toString()));
    q.addAll(List.of(fallback));
    Cli r = Cli.run(q.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
  }
}
