package dev.qcal.jobs;

import dev.qcal.data.BadRecordException;
import dev.qcal.data.Batcher;
import dev.qcal.data.DataException;
import dev.qcal.data.InputSpec;
import dev.qcal.data.Padding;
import dev.qcal.data.Sample;
import dev.qcal.model.prepare.FixedBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;

/**
 * Whole inputs, decided by the data. For a model whose inputs all fix their first dimension (or have
 * none: {@link InputSpec#lead()}), a row of an input's full shape ({@code [5,5]} for input {@code [5,5]})
 * is one whole input, run alone and fed as it is; a row without the leading dimension ({@code [5]}) is
 * batched to the model's fixed size ({@link FixedBatch}). The first sample decides for the run: every
 * input must take the same form, and so must every later row. Where the leading dimension is 1 both
 * readings feed the same tensors; such rows are read as rows of a batch of 1 unless another input (a
 * scalar, or a first dimension above 1) makes the run whole. In a run of batched rows, a whole row of a
 * first dimension N > 1 (e.g. a {@code .npy} file of exactly the input's shape) is its N rows.
 */
public final class WholeInputs {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WholeInputs.class);

  private WholeInputs() {}

  /** What {@code inspect} says of a model's feed, and whether every row of its data is a whole input. */
  public record Described(String line, boolean wholeOnly) {}

  /**
   * What {@code inspect} says of a model's feed: null when its rows are always batched (a dynamic first
   * dimension), else the forms its data may take.
   */
  public static Described describe(ai.onnx.proto.OnnxMl.ModelProto m, String modelName) {
    List<InputSpec> specs;
    try {
      specs = ModelInputs.of(m, modelName);
    } catch (dev.qcal.model.onnx.ModelException e) {
      return null; // inputs qcal cannot feed: calibrate says why
    }
    if (!possible(specs)) {
      return null;
    }
    String shapes = String.join(", ", specs.stream().map(s -> s.asWhole().describe()).toList());
    String whole = "batch: none (whole inputs " + shapes + ", run one at a time)";
    java.util.Set<Long> leads = new java.util.TreeSet<>();
    specs.forEach(s -> leads.add(s.whole() && s.lead() == 0 ? -1 : s.lead()));
    if (leads.size() > 1) {
      return new Described(whole + "; the inputs fix different first dimensions (or none), so every row is a whole"
          + " input", true);
    }
    long lead = leads.iterator().next();
    if (lead == 1) {
      return new Described("rows of the full shape (" + shapes + ") are read as rows of a batch of 1: the same"
          + " tensors", false);
    }
    return new Described(whole + " when the data's rows have the full shape; rows without the leading dimension"
        + " are batched to " + lead, false);
  }

  /** The inputs and samples of a run: whole inputs (specs {@link InputSpec#asWhole}) or rows to batch. */
  record Feed(List<InputSpec> inputs, JavaRDD<Sample> samples, boolean whole) {
    /** The model's fixed batch size for rows (0 when dynamic or whole). */
    int fixedBatch(ai.onnx.proto.OnnxMl.ModelProto m, String modelName) {
      return whole ? 0 : FixedBatch.of(m, modelName);
    }

    /** The batch size to feed: {@link Batcher#WHOLE}, or as {@link FixedBatch#batchSize} says. */
    int batchSize(int fixedBatch, int requested, String modelName) {
      if (whole && requested != FixedBatch.DEFAULT_BATCH_SIZE) {
        LOG.warn("--batch-size {} ignored: {} is fed whole inputs, one at a time", requested, modelName);
      }
      return whole ? Batcher.WHOLE : FixedBatch.batchSize(fixedBatch, requested, modelName);
    }
  }

  /** Whether any of {@code specs} may take whole rows (a model that fixes every first dimension). */
  static boolean possible(List<InputSpec> specs) {
    return specs.stream().anyMatch(s -> s.whole() || s.lead() > 0);
  }

  /** {@code specs} as the data is read: rows of either form (a whole spec back to its rows' form). */
  static List<InputSpec> readable(List<InputSpec> specs) {
    return specs.stream().map(s -> s.whole() && s.lead() > 0
        ? new InputSpec(s.name(), Arrays.copyOfRange(s.dims(), 1, s.dims().length), s.type(), s.padded(), s.lead(), false)
        : s).toList();
  }

  /**
   * The feed {@code first} (the data's first sample, read with {@code specs}) decides; every sample of
   * {@code samples} is checked (and a form of leading dimension 1 converted) on its way.
   *
   * @throws DataException when the inputs of the first sample take different forms, or when the run is whole
   *     and {@code padding} pads an input
   */
  static Feed decide(List<InputSpec> specs, JavaRDD<Sample> samples, Sample first, Padding padding) {
    if (!possible(specs)) {
      return new Feed(specs, samples, false);
    }
    String wholeIn = null;
    String rowIn = null;
    for (int i = 0; i < specs.size(); i++) {
      InputSpec in = specs.get(i);
      long[] shape = first.shapes()[i];
      if (in.whole() || in.lead() > 1 && isWhole(in, shape)) {
        wholeIn = wholeIn != null ? wholeIn : "input '" + in.name() + "' is a whole input " + Arrays.toString(shape);
      } else if (in.lead() > 1) {
        rowIn = rowIn != null ? rowIn : "input '" + in.name() + "' is a row " + Arrays.toString(shape)
            + " without the leading dimension";
      }
    }
    if (wholeIn != null && rowIn != null) {
      throw new DataException(first.source() + ": " + wholeIn + " but " + rowIn + "; all inputs of a run take one"
          + " form: each the whole input (its full shape) or each a row without the leading dimension");
    }
    boolean whole = wholeIn != null;
    if (whole && padding != null && padding.any()) {
      throw new DataException((padding.masked() ? "--mask" : "--pad") + ": the data holds whole inputs ("
          + wholeIn + "), fed as they are; padding is for rows batched together");
    }
    List<InputSpec> read = List.copyOf(specs);
    JavaRDD<Sample> checked = samples.flatMap(s -> normalize(s, read, whole).iterator());
    return new Feed(whole ? specs.stream().map(InputSpec::asWhole).toList() : specs, checked, whole);
  }

  /**
   * Opens {@code data} for a model of inputs {@code specs} and decides the feed from its first sample
   * (rows, when there is none: the caller reports that).
   */
  static Feed open(org.apache.spark.sql.SparkSession spark, List<String> data, List<InputSpec> specs,
      java.util.Map<String, long[]> sampleShapes, DataOptions d, Padding padding) {
    List<InputSpec> read = readable(specs);
    JavaRDD<Sample> samples = DataSources.open(spark, data, read, sampleShapes, d).samples();
    List<Sample> first = possible(read) ? samples.take(1) : List.of();
    return first.isEmpty() ? new Feed(read, samples, false) : decide(read, samples, first.get(0), padding);
  }

  /** Whether a row of {@code shape} carries the leading dimension (a whole input) of {@code in}. */
  private static boolean isWhole(InputSpec in, long[] shape) {
    return in.whole() || shape.length == in.dims().length + 1;
  }

  /** {@code s} in the run's form: the sample itself, with a leading 1 added or cut, or a whole input's rows. */
  static List<Sample> normalize(Sample s, List<InputSpec> specs, boolean whole) {
    long[][] shapes = s.shapes().clone();
    boolean split = false;
    for (int i = 0; i < specs.size(); i++) {
      InputSpec in = specs.get(i);
      boolean isWhole = isWhole(in, shapes[i]);
      if (isWhole == whole) {
        continue;
      }
      if (in.lead() == 1) {
        shapes[i] = whole ? prepend(shapes[i]) : Arrays.copyOfRange(shapes[i], 1, shapes[i].length);
      } else if (!whole && in.lead() > 1) {
        split = true;
      } else {
        throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, s.source() + ": input '" + in.name()
            + "' row shape " + Arrays.toString(shapes[i]) + " is a row without the leading dimension, but the run feeds"
            + " whole inputs (as its first sample decided); expected " + in.forms() + ", one form for every row");
      }
    }
    if (!split) {
      return List.of(new Sample(s.values(), shapes, s.source()));
    }
    return rows(s, specs);
  }

  /** A sample of whole inputs (each of first dimension N) as its N rows, for a run of batched rows. */
  private static List<Sample> rows(Sample s, List<InputSpec> specs) {
    long n = specs.get(0).lead();
    for (int i = 0; i < specs.size(); i++) {
      if (!isWhole(specs.get(i), s.shapes()[i]) || specs.get(i).lead() != n) {
        throw new BadRecordException(BadRecordException.SHAPE_MISMATCH, s.source() + ": input '"
            + specs.get(0).name() + "' is a whole input " + Arrays.toString(s.shapes()[0]) + " but input '"
            + specs.get(i).name() + "' is " + Arrays.toString(s.shapes()[i]) + "; expected " + specs.get(i).forms()
            + ", one form for every input");
      }
    }
    List<Sample> out = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      Object[] values = new Object[specs.size()];
      long[][] shapes = new long[specs.size()][];
      for (int i = 0; i < specs.size(); i++) {
        long[] full = s.shapes()[i];
        shapes[i] = Arrays.copyOfRange(full, 1, full.length);
        int per = (int) Sample.elements(shapes[i]);
        Object v = specs.get(i).type().newArray(per);
        System.arraycopy(s.values()[i], r * per, v, 0, per);
        values[i] = v;
      }
      out.add(new Sample(values, shapes, s.source() + " (row " + r + " of the whole input)"));
    }
    return out;
  }

  private static long[] prepend(long[] shape) {
    long[] b = new long[shape.length + 1];
    b[0] = 1;
    System.arraycopy(shape, 0, b, 1, shape.length);
    return b;
  }

  /** What run.json says of the feed: {@code whole} or {@code batched}. */
  static String mode(boolean whole) {
    return whole ? "whole" : "batched";
  }
}
