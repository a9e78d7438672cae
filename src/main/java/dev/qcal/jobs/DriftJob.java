package dev.qcal.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.qcal.calib.Calibrators;
import dev.qcal.calib.DriftFigures;
import dev.qcal.calib.Range;
import dev.qcal.data.DataException;
import dev.qcal.io.AtomicOutput;
import dev.qcal.io.OutputGuard;
import dev.qcal.io.QParamsFile;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.QuantType;
import dev.qcal.report.DriftReport;
import dev.qcal.stats.Histogram;
import dev.qcal.stats.TensorStats;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code drift}: whether the quantization parameters deployed from one run (the baseline) still fit the data of
 * another (the current statistics), per calibrated activation ({@link DriftFigures}): the share of the current
 * values the deployed range clips, the Jensen-Shannon divergence of the two histograms, and the SQNR the deployed
 * parameters lose on the current data against those the same method would choose from it now. Writes
 * {@value #NAME} (and report.html) atomically; no Spark job and no inference.
 */
public final class DriftJob {
  private static final Logger LOG = LoggerFactory.getLogger(DriftJob.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  static final String COMMAND = "drift";
  public static final String NAME = "drift.json";
  public static final String FORMAT = "qcal.drift";
  public static final int VERSION = 1;

  private DriftJob() {}

  /**
   * @param baseline statistics of the run the deployed parameters came from (stats/ or its output directory), or
   *     an output directory with the deployed qparams.json
   * @param current the statistics of the data now (stats/ or its output directory)
   */
  public record Options(String baseline, String current, String out, boolean overwrite,
      DriftFigures.Thresholds thresholds, boolean report) {
    List<OutputGuard.Input> inputs() {
      List<OutputGuard.Input> in = new ArrayList<>(OutputGuard.Input.hadoop("--baseline", baseline));
      in.addAll(OutputGuard.Input.hadoop("--current", current));
      return in;
    }
  }

  /**
   * One activation: its method and type, the deployed range and parameters, the fresh ones, both sides'
   * statistics ({@code baseline} null when the baseline is a qparams.json only), the figures, the figures past
   * their thresholds and the severity ({@link DriftFigures#severity}).
   */
  public record Tensor(String name, String method, QuantType type, Range deployed, QuantParams deployedParams,
      Range fresh, QuantParams freshParams, TensorStats baseline, TensorStats current, DriftFigures figures,
      List<String> past, double severity) {}

  /** Every compared tensor (in the current statistics' order) and those past a threshold, most severe first. */
  public record Result(List<Tensor> tensors, List<Tensor> drifted, String out) {
    public boolean drift() {
      return !drifted.isEmpty();
    }
  }

  /** Refuses, before anything is read, an {@code --out} that overlaps an input (or {@code more}) or is not free. */
  public static void checkOutput(Options o, List<OutputGuard.Input> more, Configuration conf) {
    OutputGuard.check(COMMAND, o.out(), o.overwrite(), conf, o.inputs(), more);
  }

  public static Result run(Options o, Configuration conf) {
    checkOutput(o, List.of(), conf);
    long t0 = System.nanoTime();
    DriftInputs.Side[] sides = DriftInputs.read(o.baseline(), o.current(), conf);
    DriftInputs.Side b = sides[0];
    DriftInputs.Side c = sides[1];
    DriftScheme scheme = DriftScheme.of(b, c);
    List<String> names = c.stats().stats().tensors().keySet().stream()
        .filter(n -> b.qparams() == null || b.deployed().contains(n)).toList();
    Tensor[] computed = new Tensor[names.size()];
    // entropy and mse searches take tens of ms a tensor: tensors in parallel, results by index
    IntStream.range(0, names.size()).parallel()
        .forEach(i -> computed[i] = tensor(names.get(i), b, c, scheme, o.thresholds()));
    List<Tensor> tensors = List.of(computed);
    List<Tensor> drifted = tensors.stream().filter(t -> !t.past().isEmpty())
        .sorted(Comparator.comparingDouble((Tensor t) -> -t.severity()).thenComparing(Tensor::name)).toList();
    String qualified = AtomicOutput.qualified(o.out(), conf);
    ObjectNode json = json(o, b, c, scheme, tensors, drifted);
    try (AtomicOutput out = AtomicOutput.begin(o.out(), COMMAND, o.overwrite(), conf)) {
      QParamsFile.writeJson(out.dir().resolve(NAME), json);
      if (o.report()) {
        Map<String, Histogram> base = new LinkedHashMap<>();
        Map<String, Histogram> now = new LinkedHashMap<>();
        for (Tensor t : tensors) {
          now.put(t.name(), t.current().histogram());
          if (t.baseline() != null && t.baseline().histogram() != null) {
            base.put(t.name(), t.baseline().histogram());
          }
        }
        DriftReport.write(out.dir().resolve(DriftReport.NAME), json, base, now);
      }
      out.commit();
    }
    LOG.info("Drift of {} tensors, {} past a threshold, in {} s", tensors.size(), drifted.size(),
        (System.nanoTime() - t0) / 1e9);
    return new Result(tensors, drifted, qualified);
  }

  /** The deployed and fresh ranges of tensor {@code name} and its figures. */
  private static Tensor tensor(String name, DriftInputs.Side b, DriftInputs.Side c, DriftScheme s,
      DriftFigures.Thresholds th) {
    TensorStats now = c.stats().stats().get(name);
    if (now.count() == 0 || now.histogram() == null) {
      throw new DataException("--current " + c.location() + ": tensor '" + name + "' has no finite values");
    }
    TensorStats then = b.stats() == null ? null : b.stats().stats().get(name);
    String method = s.method(name);
    QuantType type = s.type(name);
    Range deployed;
    QuantParams deployedParams;
    if (b.qparams() != null) {
      QParamsFile.Stored e = b.qparams().activations().stream().filter(a -> a.name().equals(name)).findFirst()
          .orElseThrow();
      String file = b.runDir() + "/" + QParamsFile.NAME;
      if (e.entry().range() == null || e.scale().length != 1 || e.zeroPoint().length != 1) {
        throw new DataException(file + ": activation '" + name + "' has no range_min/range_max or no per-tensor scale"
            + " and zero point");
      }
      deployed = new Range(e.entry().range()[0], e.entry().range()[1]);
      deployedParams = QuantParams.perTensor(e.scale()[0], e.zeroPoint()[0], type);
    } else {
      deployed = choose(name, "--baseline", method, then, type, s);
      deployedParams = s.params(deployed, type);
    }
    Range fresh = "fixed".equals(method) ? deployed : choose(name, "--current", method, now, type, s);
    QuantParams freshParams = s.params(fresh, type);
    DriftFigures f = DriftFigures.of(now.histogram(), then == null ? null : then.histogram(), deployed,
        deployedParams, freshParams);
    return new Tensor(name, method, type, deployed, deployedParams, fresh, freshParams, then, now, f, f.past(th),
        f.severity(th));
  }

  private static Range choose(String name, String side, String method, TensorStats t, QuantType type, DriftScheme s) {
    try {
      return Calibrators.of(method, s.percentile()).range(name, t, type, s.symmetric());
    } catch (IllegalArgumentException e) {
      String m = e.getMessage();
      throw new DataException(side + ": " + (m.contains("'" + name + "'") ? m : "tensor '" + name + "': " + m));
    }
  }

  /** drift.json: what was compared, the thresholds, the verdict, the drifted tensors and every tensor's figures. */
  private static ObjectNode json(Options o, DriftInputs.Side b, DriftInputs.Side c, DriftScheme s, List<Tensor> all,
      List<Tensor> drifted) {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("format_version", VERSION);
    root.put("model_sha256", c.sha256());
    ObjectNode base = root.putObject("baseline");
    base.put("location", o.baseline());
    base.put("deployed_from", b.qparams() != null ? b.runDir() + "/" + QParamsFile.NAME : "statistics");
    if (b.stats() != null) {
      base.put("samples", b.stats().stats().samples());
    } else {
      base.put("samples", b.qparams().header().samples());
    }
    ObjectNode cur = root.putObject("current");
    cur.put("location", o.current());
    cur.put("samples", c.stats().stats().samples());
    root.set("scheme", s.toJson());
    ObjectNode th = root.putObject("thresholds");
    th.put("max_clip", o.thresholds().maxClip());
    th.put("max_js", o.thresholds().maxJs());
    th.put("max_sqnr_loss_db", o.thresholds().maxSqnrLossDb());
    root.put("verdict", drifted.isEmpty() ? "ok" : "drift");
    root.put("tensors_compared", all.size());
    ArrayNode d = root.putArray("drifted");
    for (Tensor t : drifted) {
      ObjectNode n = d.addObject();
      n.put("tensor", t.name());
      number(n, "severity", t.severity());
      t.past().forEach(n.putArray("past")::add);
    }
    ObjectNode tensors = root.putObject("tensors");
    for (Tensor t : all) {
      tensors.set(t.name(), tensorJson(t));
    }
    return root;
  }

  private static ObjectNode tensorJson(Tensor t) {
    ObjectNode n = JSON.createObjectNode();
    n.put("method", t.method());
    n.put("dtype", t.type().id());
    params(n.putObject("deployed"), t.deployed(), t.deployedParams());
    params(n.putObject("fresh"), t.fresh(), t.freshParams());
    if (t.baseline() != null) {
      pair(n, "baseline_observed", t.baseline().min(), t.baseline().max());
    }
    pair(n, "current_observed", t.current().min(), t.current().max());
    n.put("current_count", t.current().count());
    n.put("current_non_finite", t.current().nonFiniteCount());
    DriftFigures f = t.figures();
    n.put("clipped_fraction", f.clipped().fraction());
    pair(n, "clipped_fraction_bounds", f.clipped().lowerBound(), f.clipped().upperBound());
    if (f.jsDivergence() == null) {
      n.putNull("js_divergence");
      n.putNull("js_bins");
      n.putNull("js_bin_width");
    } else {
      n.put("js_divergence", f.jsDivergence());
      n.put("js_bins", f.jsBins());
      n.put("js_bin_width", f.jsBinWidth());
    }
    number(n, "sqnr_deployed_db", f.sqnrDeployedDb());
    number(n, "sqnr_fresh_db", f.sqnrFreshDb());
    number(n, "sqnr_loss_db", f.sqnrLossDb());
    t.past().forEach(n.putArray("past")::add);
    number(n, "severity", t.severity());
    return n;
  }

  private static void params(ObjectNode n, Range r, QuantParams p) {
    pair(n, "range", r.min(), r.max());
    n.put("scale", p.scale(0));
    n.put("zero_point", p.zeroPoint(0));
  }

  private static void pair(ObjectNode n, String field, double a, double b) {
    ArrayNode arr = n.putArray(field);
    arr.add(a);
    arr.add(b);
  }

  /** Two floats in their shortest form (as qparams.json writes them). */
  private static void pair(ObjectNode n, String field, float a, float b) {
    ArrayNode arr = n.putArray(field);
    arr.add(a);
    arr.add(b);
  }

  /** A finite number, or null: JSON has no Infinity (an infinite SQNR is exact quantization). */
  private static void number(ObjectNode n, String field, double v) {
    if (Double.isFinite(v)) {
      n.put(field, v);
    } else {
      n.putNull(field);
    }
  }
}
