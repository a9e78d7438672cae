package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.io.RunReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * run.json's layout as {@link RunRecord} writes it: the field order and value types calibrate and quantize
 * wrote before the record existed (the expected lists are copied from run.json files written by the
 * earlier code), and what only one command writes.
 */
class RunRecordTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private static RunRecord.Subject subject(List<String> data, String stats) {
    return new RunRecord.Subject(data != null ? "calibrate" : "quantize", "m.onnx", "ab", data,
        stats == null ? null : List.of(new RunRecord.StatsInput(stats, 128)), "file:/o", "minmax",
        new RunRecord.Ranges("minmax", 99.999, "uint8", false, false, false), 128);
  }

  private static RunRecord.Timings timings(Double observeRate) {
    Map<String, Double> stages = new LinkedHashMap<>();
    stages.put("prepare", 2.5);
    stages.put("observe_and_reduce", 3.0);
    return new RunRecord.Timings(5.5, observeRate, stages);
  }

  private static RunRecord.Quantization quantization() {
    return new RunRecord.Quantization(90, 108, List.of(), List.of("n"));
  }

  private JsonNode written(RunRecord r) throws Exception {
    Path f = tmp.resolve(RunReport.NAME);
    r.write(f);
    return JSON.readTree(Files.readString(f));
  }

  private static List<String> fields(JsonNode n) {
    List<String> l = new ArrayList<>();
    n.fieldNames().forEachRemaining(l::add);
    return l;
  }

  @Test
  void calibrateWritesItsFieldsInTheEarlierOrder() throws Exception {
    RunRecord.Feed feed = new RunRecord.Feed(12, 16, "batched", false, 0, 8,
        new RunRecord.Selection(128L, 1.0, 0, "fail", Map.of()));
    RunRecord.Step step = new RunRecord.Step(0, List.of(), null, null, 1.0, null, 30.4, false);
    RunRecord.Fallback fb = new RunRecord.Fallback(new Fp32Fallback.Target(null, null, 36.0), null, null,
        List.of(step), 64, List.of("c"), "missed", null);
    JsonNode run = written(new RunRecord(subject(List.of("d"), null), feed, quantization(),
        new RunRecord.Statistics(Map.of(), 576846), new RunRecord.Spark("local[*]", "app"), Map.of("qcal", "t"), fb,
        List.of(), timings(42.0)));
    assertEquals(List.of("format", "format_version", "command", "model", "model_sha256", "data", "out", "method",
        "range_options", "samples", "batches", "batch_size", "feed", "observe", "partitions", "max_samples",
        "sample_fraction", "seed", "on_bad_record", "skipped_records", "calibrated_tensors", "quantized_weights",
        "skipped", "weight_notes", "non_finite_values", "stats_state_bytes", "spark_master", "spark_application_id",
        "versions", "fallback", "wall_seconds", "observe_samples_per_second", "stage_seconds"), fields(run));
    assertEquals(List.of("method", "percentile", "activation_type", "symmetric_activations", "reduce_range",
        "power_of_two_scales"), fields(run.get("range_options")));
    assertEquals(List.of("target", "eval_data", "eval_labels", "steps", "eval_samples", "excluded_nodes", "status",
        "reason", "sensitivity"), fields(run.get("fallback")));
    assertEquals(List.of("step", "excluded_nodes", "tensor", "kind", "top1_agreement", "accuracy_drop_points",
        "output_sqnr_db", "met"), fields(run.get("fallback").get("steps").get(0)));
    assertEquals(List.of("prepare", "observe_and_reduce"), fields(run.get("stage_seconds")));
    // as the earlier code wrote them: the fraction a double, counts integers, the observe mode an object
    assertTrue(run.get("sample_fraction").isDouble());
    assertTrue(run.get("samples").isIntegralNumber());
    assertEquals("{\"mode\":\"exposed\"}", run.get("observe").toString());
    assertEquals("calibration data", run.get("fallback").get("eval_data").asText());
    assertEquals("not_met", run.get("fallback").get("status").asText());
  }

  @Test
  void reducedObserveRecordsItsReruns() throws Exception {
    RunRecord.Feed feed = new RunRecord.Feed(3, 1, "whole", true, 2, 1,
        new RunRecord.Selection(null, 0.5, 7, "skip", Map.of("a.npy", 1L)));
    JsonNode run = written(new RunRecord(subject(List.of("d"), null), feed, quantization(),
        new RunRecord.Statistics(Map.of(), 1), new RunRecord.Spark("local", "app"), Map.of(), null, List.of(), timings(null)));
    assertEquals("{\"mode\":\"reduced_in_onnxruntime\",\"batches_rerun_exposed\":2}", run.get("observe").toString());
    assertTrue(run.get("max_samples").isNull());
    assertTrue(run.get("observe_samples_per_second").isNull());
    assertEquals(1, run.get("skipped_records").get("a.npy").asInt());
  }

  @Test
  void quantizeWritesNoFeedStatisticsClusterOrThroughput() throws Exception {
    JsonNode run = written(new RunRecord(subject(null, "s/stats"), null, quantization(), null, null,
        Map.of("qcal", "t"), null, List.of(), timings(null)));
    assertEquals(List.of("format", "format_version", "command", "model", "model_sha256", "stats", "out", "method",
        "range_options", "samples", "calibrated_tensors", "quantized_weights", "skipped", "weight_notes", "versions",
        "wall_seconds", "stage_seconds"), fields(run));
    assertTrue(run.get("stats").isTextual(), run.toString());
    assertEquals("s/stats", run.get("stats").asText());
  }

  @Test
  void mergeWritesQuantizesFieldsWithEachStatisticsAndItsSamples() throws Exception {
    RunRecord.Subject merge = new RunRecord.Subject("merge", "m.onnx", "ab", null,
        List.of(new RunRecord.StatsInput("day1", 16), new RunRecord.StatsInput("hdfs://nn/day2/stats", 24)), "file:/o",
        "minmax", new RunRecord.Ranges("minmax", 99.999, "uint8", false, false, false), 40);
    JsonNode run = written(new RunRecord(merge, null, quantization(), null, null, Map.of("qcal", "t"), null,
        List.of(), timings(null)));
    assertEquals(List.of("format", "format_version", "command", "model", "model_sha256", "stats", "out", "method",
        "range_options", "samples", "calibrated_tensors", "quantized_weights", "skipped", "weight_notes", "versions",
        "wall_seconds", "stage_seconds"), fields(run));
    assertEquals("[{\"path\":\"day1\",\"samples\":16},{\"path\":\"hdfs://nn/day2/stats\",\"samples\":24}]",
        run.get("stats").toString());
    assertEquals(40, run.get("samples").asLong());
  }

  @Test
  void algorithmsAreRecordedByNameInTheOrderTheyRanAfterTheWeightNotes() throws Exception {
    Algorithms.Applied smooth = applied("smooth_quant", Map.of("alpha", 0.5));
    Algorithms.Applied bias = applied("bias_correction", Map.of("layers", 3));
    JsonNode run = written(new RunRecord(subject(null, "s/stats"), null, quantization(), null, null,
        Map.of("qcal", "t"), null, List.of(smooth, bias), timings(null)));
    assertEquals(List.of("format", "format_version", "command", "model", "model_sha256", "stats", "out", "method",
        "range_options", "samples", "calibrated_tensors", "quantized_weights", "skipped", "weight_notes", "algorithms",
        "versions", "wall_seconds", "stage_seconds"), fields(run));
    assertEquals("{\"smooth_quant\":{\"alpha\":0.5},\"bias_correction\":{\"layers\":3}}",
        run.get("algorithms").toString());
  }

  @Test
  void aSessionStartedForTheRunAddsItsStartUpAfterTheStages() throws Exception {
    Map<String, Double> startup = new LinkedHashMap<>();
    startup.put("jvm_to_session", 0.75);
    startup.put("spark_session", 2.5);
    RunRecord.Timings t = new RunRecord.Timings(5.5, null, timings(null).stageSeconds(), startup);
    JsonNode run = written(new RunRecord(subject(null, "s/stats"), null, quantization(), null, null,
        Map.of("qcal", "t"), null, List.of(), t));
    List<String> f = fields(run);
    assertEquals(List.of("wall_seconds", "stage_seconds", "startup_seconds"), f.subList(f.size() - 3, f.size()));
    assertEquals("{\"jvm_to_session\":0.75,\"spark_session\":2.5}", run.get("startup_seconds").toString());
  }

  private static Algorithms.Applied applied(String name, Map<String, Object> json) {
    return new Algorithms.Applied() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Map<String, Object> toJson() {
        return json;
      }
    };
  }

  @Test
  void aRunReadsEitherDataOrStatistics() {
    assertThrows(IllegalArgumentException.class, () -> subject(List.of("d"), "s"));
    assertThrows(IllegalArgumentException.class, () -> subject(null, null));
    assertThrows(IllegalArgumentException.class, () -> new RunRecord.Subject("merge", "m.onnx", "ab", null, List.of(),
        "file:/o", "minmax", new RunRecord.Ranges("minmax", 99.999, "uint8", false, false, false), 0));
  }
}
