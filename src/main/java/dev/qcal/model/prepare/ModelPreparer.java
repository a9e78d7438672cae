package dev.qcal.model.prepare;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.IrVersions;
import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.runtime.Ort;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns an exported model into the float model qcal calibrates and quantizes: ONNX Runtime's BASIC
 * optimizations (constants folded into initializers, BatchNormalization folded into Conv), the default
 * domain raised to opset {@value #TARGET_OPSET} (per-channel DequantizeLinear needs it), or to
 * {@value #WIDE_TYPES_OPSET} when 16-bit activations, 4-bit or blocked weights need it, unused opset
 * imports dropped, then verified against the original on deterministic pseudo-random inputs.
 *
 * <p>A model with external data is optimized into {@code optimized.onnx} plus
 * {@value #OPTIMIZED_DATA_FILE} (ONNX Runtime writes the initializers there, so a model over 2 GB can be
 * saved); {@code prepared.onnx} is written next to them and references the same data file. When such a
 * model has no Constant or BatchNormalization node, ONNX Runtime's optimization, which would only write
 * a second copy of the weights, is skipped (logged): the model is used as is, its data files hard-linked
 * (else copied) into the work folder, and verification runs only if the opset upgrade changed the graph.
 */
public final class ModelPreparer {

  private static final Logger LOG = LoggerFactory.getLogger(ModelPreparer.class);

  /** The default-domain opset of a prepared model (unless the original is already newer). */
  public static final int TARGET_OPSET = 13;

  /** The opset prepared for int16/uint16 activations and int4/uint4 or blocked weights (Q/DQ-21). */
  public static final int WIDE_TYPES_OPSET = 21;

  /** The batch size used for a dynamic first dimension when the caller gives no shape for an input. */
  public static final int DEFAULT_BATCH = 2;

  /** Seed of the verification inputs, uniform in [-1, 1). */
  public static final long VERIFY_SEED = 20_240_607L;

  /** Relative tolerance: outputs match when {@code max|prepared - original| <= TOLERANCE * (1 + max|original|)}. */
  public static final double TOLERANCE = 1e-4;

  /** File names written in the work folder. */
  public static final String OPTIMIZED_FILE = "optimized.onnx";

  public static final String PREPARED_FILE = "prepared.onnx";

  /** The original with its IR version lowered (see {@link IrVersions}), what ONNX Runtime reads instead. */
  public static final String LOWERED_FILE = "lowered.onnx";

  /** The external data file of the optimized and prepared models, when the original has external data. */
  public static final String OPTIMIZED_DATA_FILE = "optimized.onnx.data";

  /** Operators whose input 1 (and 2) are weights that must be initializers for quantization. */
  private static final Set<String> WEIGHTED = Set.of("Conv", "ConvTranspose", "Gemm", "MatMul");

  /**
   * The prepared model and what preparation did.
   *
   * @param model the prepared model, as saved to {@code file}
   * @param file {@code workDir/prepared.onnx}
   * @param sourceOpset the original model's default-domain opset
   * @param opset the prepared model's default-domain opset
   * @param foldedConstants Constant nodes in the original minus those left
   * @param foldedBatchNorms BatchNormalization nodes in the original minus those left
   * @param maxAbsDiff the largest absolute output difference seen in verification, NaN when not verified
   *     ({@link Unverified#withoutVerification})
   * @param sourceIrVersion the original model's IR version
   * @param irVersion the prepared model's IR version (lower when the runtime reads no newer, see {@link IrVersions})
   */
  public record Prepared(ModelProto model, Path file, int sourceOpset, int opset, int foldedConstants,
      int foldedBatchNorms, double maxAbsDiff, long sourceIrVersion, long irVersion) {

    /** Whether preparation lowered the IR version for ONNX Runtime. */
    public boolean irLowered() {
      return irVersion < sourceIrVersion;
    }

    /** Whether the prepared model's outputs were compared with the original's. */
    public boolean verified() {
      return !Double.isNaN(maxAbsDiff);
    }
  }

  private ModelPreparer() {}

  /**
   * Prepares {@code original} in {@code workDir} and verifies it.
   *
   * @param verifyShapes the shape of each graph input for verification, normally that of one real
   *     sample batch; an input missing here uses its declared shape with a dynamic first dimension set
   *     to {@value #DEFAULT_BATCH}
   * @throws ModelException when the model cannot be read, optimized, upgraded or verified
   */
  public static Prepared prepare(Path original, Path workDir, Map<String, long[]> verifyShapes) {
    return prepare(original, workDir, verifyShapes, TARGET_OPSET);
  }

  /**
   * As {@link #prepare(Path, Path, Map)}, raising the default domain to at least {@code targetOpset}
   * ({@value #TARGET_OPSET} or {@value #WIDE_TYPES_OPSET}). Tensor names do not depend on the target, so
   * statistics collected at one opset serve a model prepared at another.
   */
  public static Prepared prepare(Path original, Path workDir, Map<String, long[]> verifyShapes, int targetOpset) {
    return transform(original, workDir, targetOpset, () -> verifyShapes).verify(verifyShapes);
  }

  /**
   * The prepared model before its verification, which needs input shapes (normally those of a real
   * sample): what the plan and a dry run of the rewrite need, available before any data is read.
   */
  public static final class Unverified {
    private final Path original;
    private final ModelProto source;
    private final ModelProto model;
    private final Path file;
    private final boolean asIs;
    private final int foldedConstants;
    private final int foldedBatchNorms;
    private final long sourceIrVersion;

    private Unverified(Path original, ModelProto source, ModelProto model, Path file, boolean asIs,
        int foldedConstants, int foldedBatchNorms, long sourceIrVersion) {
      this.sourceIrVersion = sourceIrVersion;
      this.original = original;
      this.source = source;
      this.model = model;
      this.file = file;
      this.asIs = asIs;
      this.foldedConstants = foldedConstants;
      this.foldedBatchNorms = foldedBatchNorms;
    }

    /** The prepared model, as saved to {@link #file()}. */
    public ModelProto model() {
      return model;
    }

    /** {@code workDir/prepared.onnx}. */
    public Path file() {
      return file;
    }

    /**
     * Verifies the prepared model against the original (see {@link ModelPreparer#prepare(Path, Path, Map)}
     * for {@code verifyShapes}).
     *
     * @throws ModelException when the outputs differ or a model cannot run
     */
    public Prepared verify(Map<String, long[]> verifyShapes) {
      double maxAbsDiff;
      if (asIs && model.getGraph().equals(source.getGraph())) {
        LOG.info("{}: the prepared graph is the original's; nothing to verify", file);
        maxAbsDiff = 0;
      } else {
        maxAbsDiff = ModelPreparer.verify(original, source, file, verifyShapes == null ? Map.of() : verifyShapes);
      }
      return new Prepared(model, file, OnnxModels.opset(source), OnnxModels.opset(model), foldedConstants,
          foldedBatchNorms, maxAbsDiff, sourceIrVersion, model.getIrVersion());
    }

    /**
     * What preparation did, without comparing the prepared model's outputs with the original's ({@code
     * maxAbsDiff} NaN): for a look at the plan when no input shapes are known ({@code qcal inspect}).
     */
    public Prepared withoutVerification() {
      return new Prepared(model, file, OnnxModels.opset(source), OnnxModels.opset(model), foldedConstants,
          foldedBatchNorms, Double.NaN, sourceIrVersion, model.getIrVersion());
    }
  }

  /**
   * Optimizes, upgrades and saves {@code original} as {@code workDir/prepared.onnx}, raising the default
   * domain to at least {@code targetOpset}, without verifying it ({@link Unverified#verify}).
   *
   * @throws ModelException when the model cannot be read, optimized or upgraded
   */
  public static Unverified transform(Path original, Path workDir, int targetOpset) {
    return transform(original, workDir, targetOpset, Map::of);
  }

  /**
   * As {@link #transform(Path, Path, int)}; when the opset upgrade needs a rank that shape inference
   * cannot decide, the model is run once (a probe, see {@link RankProbe}) on verification inputs of the
   * shapes {@code probeShapes} gives (asked only then; normally those of the first sample, see
   * {@link #prepare(Path, Path, Map)}), and the ranks seen there are used where inference failed.
   */
  public static Unverified transform(Path given, Path workDir, int targetOpset,
      Supplier<Map<String, long[]>> probeShapes) {
    ModelProto loaded = OnnxModels.load(given);
    Readable readable = readable(given, loaded, workDir);
    ModelProto source = readable.model();
    Path original = readable.path();
    int sourceOpset = OnnxModels.opset(source);
    boolean asIs = ExternalData.uses(source) && count(source, "Constant") == 0
        && count(source, "BatchNormalization") == 0;
    ModelProto model = asIs ? usedAsIs(source, given, original, workDir) : optimized(source, original, workDir);
    if (OnnxModels.opset(model) < targetOpset) {
      model = upgraded(model, original, workDir, targetOpset, probeShapes);
    }
    model = dropUnusedOpsetImports(model);
    model = InitializerIdentities.fold(model);

    int constants = count(source, "Constant");
    int batchNorms = count(source, "BatchNormalization");
    int constantsLeft = count(model, "Constant");
    int batchNormsLeft = count(model, "BatchNormalization");
    checkFolded(original, model);
    LOG.info("{}: folded {} of {} Constant nodes and {} of {} BatchNormalization nodes; opset {} -> {}",
        original, constants - constantsLeft, constants, batchNorms - batchNormsLeft, batchNorms, sourceOpset,
        OnnxModels.opset(model));

    Path preparedFile = workDir.resolve(PREPARED_FILE);
    OnnxModels.save(model, preparedFile);
    return new Unverified(original, source, model, preparedFile, asIs, constants - constantsLeft,
        batchNorms - batchNormsLeft, loaded.getIrVersion());
  }

  /** A model ONNX Runtime reads, and the file it is in. */
  private record Readable(Path path, ModelProto model) {}

  /**
   * The given model, or when ONNX Runtime would refuse its IR version, a lowered copy in {@code workDir}
   * (which is then what is read and verified against).
   */
  private static Readable readable(Path given, ModelProto source, Path workDir) {
    ModelProto lowered = IrVersions.lowered(given, source);
    if (lowered == source) {
      return new Readable(given, source);
    }
    if (ExternalData.uses(source)) {
      linkExternalData(source, given, workDir);
    }
    Path original = workDir.resolve(LOWERED_FILE);
    OnnxModels.save(lowered, original);
    LOG.info("{}: {}", given, IrVersions.describe(source.getIrVersion(), lowered.getIrVersion()));
    return new Readable(original, lowered);
  }

  /** A model with its weights in external data and nothing to fold: ONNX Runtime would copy them to fold nothing. */
  private static ModelProto usedAsIs(ModelProto source, Path given, Path original, Path workDir) {
    LOG.info("{}: keeps its weights in external data and has no Constant or BatchNormalization node to fold;"
        + " used as is, without ONNX Runtime's optimization", original);
    linkExternalData(source, given, workDir);
    return source;
  }

  /** ONNX Runtime's basic optimization (constant folding, BatchNormalization fusion) of {@code original}. */
  private static ModelProto optimized(ModelProto source, Path original, Path workDir) {
    Path optimizedFile = workDir.resolve(OPTIMIZED_FILE);
    try {
      Ort.optimize(original, optimizedFile, Ort.OptLevel.BASIC,
          ExternalData.uses(source) ? OPTIMIZED_DATA_FILE : null);
    } catch (Ort.Failure e) {
      throw new ModelException(e.getMessage(), e);
    }
    return OnnxModels.load(optimizedFile);
  }

  /**
   * {@code model} upgraded to {@code targetOpset}; ranks shape inference cannot decide are learned from one
   * run on inputs of the shapes {@code probeShapes} gives.
   */
  private static ModelProto upgraded(ModelProto model, Path original, Path workDir, int targetOpset,
      Supplier<Map<String, long[]>> probeShapes) {
    Set<String> unknown = OpsetUpgrader.ranksToLearn(model, targetOpset);
    Map<String, Integer> learned = Map.of();
    if (!unknown.isEmpty()) {
      Map<String, long[]> shapes = probeShapes.get();
      Inputs in = inputs(original, model, shapes == null ? Map.of() : shapes);
      LOG.info("{}: shape inference cannot decide the rank of {} tensors the upgrade to opset {} needs ({});"
          + " learning them from one run on inputs {}", original, unknown.size(), targetOpset, unknown,
          describe(in.shapes()));
      learned = RankProbe.ranks(model, workDir, unknown, in.data(), in.shapes());
    }
    return OpsetUpgrader.upgrade(model, targetOpset, learned);
  }

  /**
   * Makes {@code model}'s external data files (checked on load) visible from {@code workDir} under their
   * locations, so the prepared model saved there finds them: hard links, or copies when the work folder is
   * on another file system.
   */
  private static void linkExternalData(ModelProto model, Path original, Path workDir) {
    Path dir = ExternalData.directory(original);
    for (String location : ExternalData.locations(model)) {
      Path from = dir.resolve(location).normalize();
      Path to = workDir.resolve(location).normalize();
      try {
        java.nio.file.Files.createDirectories(to.getParent());
        java.nio.file.Files.deleteIfExists(to);
        try {
          java.nio.file.Files.createLink(to, from.toRealPath());
        } catch (java.io.IOException | UnsupportedOperationException e) {
          LOG.info("{}: cannot link {} into the work folder ({}); copying it", original, from, e.toString());
          java.nio.file.Files.copy(from, to);
        }
      } catch (java.io.IOException e) {
        throw new ModelException(original + ": cannot stage external data " + from + " in " + workDir + " (" + e + ")", e);
      }
    }
  }

  private static int count(ModelProto m, String opType) {
    return (int) m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(opType)).count();
  }

  /** Keeps the default domain and the domains some node uses (ORT writes every domain it knows). */
  static ModelProto dropUnusedOpsetImports(ModelProto m) {
    Set<String> used = new HashSet<>();
    for (NodeProto n : m.getGraph().getNodeList()) {
      used.add(n.getDomain());
    }
    ModelProto.Builder b = m.toBuilder().clearOpsetImport();
    for (OperatorSetIdProto id : m.getOpsetImportList()) {
      if (OnnxModels.isDefaultDomain(id.getDomain()) || used.contains(id.getDomain())) {
        b.addOpsetImport(id);
      }
    }
    return b.build();
  }

  /**
   * Weights must be initializers (a Constant node feeding a Conv/Gemm/MatMul weight is an error);
   * a BatchNormalization right after a Conv is only logged, as the model stays correct.
   */
  private static void checkFolded(Path original, ModelProto m) {
    Map<String, NodeProto> producers = new HashMap<>();
    for (NodeProto n : m.getGraph().getNodeList()) {
      for (String o : n.getOutputList()) {
        producers.put(o, n);
      }
    }
    int bnAfterConv = 0;
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (WEIGHTED.contains(n.getOpType())) {
        for (int k = 1; k < Math.min(3, n.getInputCount()); k++) {
          NodeProto p = producers.get(n.getInput(k));
          if (p != null && p.getOpType().equals("Constant")) {
            throw new ModelException(original + ": after ONNX Runtime's BASIC optimization, input " + k + " ('"
                + n.getInput(k) + "') of node '" + n.getName() + "' (" + n.getOpType()
                + ") still comes from a Constant node, expected an initializer");
          }
        }
      }
      if (n.getOpType().equals("BatchNormalization")) {
        NodeProto p = producers.get(n.getInput(0));
        if (p != null && p.getOpType().equals("Conv")) {
          bnAfterConv++;
        }
      }
    }
    if (bnAfterConv > 0) {
      LOG.warn("{}: {} BatchNormalization nodes still follow a Conv after optimization (Conv output used elsewhere?);"
          + " they stay in float", original, bnAfterConv);
    }
  }

  /** Verification inputs: flattened data and shape per graph input. */
  private record Inputs(Map<String, float[]> data, Map<String, long[]> shapes) {}

  /**
   * The verification inputs of {@code original}: uniform in [-1, 1) from {@link #VERIFY_SEED}, of the
   * shapes in {@code verifyShapes} or else declared (a dynamic first dimension set to {@value #DEFAULT_BATCH}).
   */
  private static Inputs inputs(Path originalFile, ModelProto original, Map<String, long[]> verifyShapes) {
    Set<String> initializers = new HashSet<>();
    for (TensorProto t : original.getGraph().getInitializerList()) {
      initializers.add(t.getName());
    }
    Random random = new Random(VERIFY_SEED);
    Map<String, float[]> inputs = new LinkedHashMap<>();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (ValueInfoProto in : original.getGraph().getInputList()) {
      if (initializers.contains(in.getName())) {
        continue;
      }
      TypeProto.Tensor t = in.getType().getTensorType();
      // an integer or bool input (token ids, a mask) gets 0 or 1: valid ids for any embedding, valid masks
      boolean integral = t.getElemType() != TensorProto.DataType.FLOAT_VALUE
          && t.getElemType() != TensorProto.DataType.DOUBLE_VALUE && t.getElemType() != TensorProto.DataType.FLOAT16_VALUE;
      long[] shape = verifyShapes.containsKey(in.getName()) ? verifyShapes.get(in.getName()) : declaredShape(originalFile, in);
      long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
      float[] data = new float[Math.toIntExact(count)];
      for (int k = 0; k < data.length; k++) {
        data[k] = integral ? random.nextInt(2) : random.nextFloat() * 2 - 1;
      }
      inputs.put(in.getName(), data);
      shapes.put(in.getName(), shape);
    }
    return new Inputs(inputs, shapes);
  }

  private static double verify(Path originalFile, ModelProto original, Path preparedFile, Map<String, long[]> verifyShapes) {
    Inputs in = inputs(originalFile, original, verifyShapes);
    Map<String, float[]> inputs = in.data();
    Map<String, long[]> shapes = in.shapes();
    Map<String, float[]> expected;
    Map<String, float[]> actual;
    try {
      expected = Ort.run(originalFile, inputs, shapes);
      actual = Ort.run(preparedFile, inputs, shapes);
    } catch (Ort.Failure e) {
      throw new ModelException(e.getMessage(), e);
    }
    double worst = 0;
    for (Map.Entry<String, float[]> e : expected.entrySet()) {
      String name = e.getKey();
      float[] ref = e.getValue();
      float[] got = actual.get(name);
      if (got == null || got.length != ref.length) {
        throw new ModelException(preparedFile + ": output '" + name + "' has "
            + (got == null ? "disappeared" : got.length + " values") + ", expected " + ref.length + " as in " + originalFile);
      }
      double maxRef = 0;
      double diff = 0;
      for (int k = 0; k < ref.length; k++) {
        double d;
        if (Float.isFinite(ref[k]) && Float.isFinite(got[k])) {
          maxRef = Math.max(maxRef, Math.abs(ref[k]));
          d = Math.abs((double) got[k] - ref[k]);
        } else {
          // a NaN where the original has NaN, or the same infinity, matches; anything else does not
          d = Float.compare(got[k], ref[k]) == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        diff = Math.max(diff, d);
      }
      double allowed = TOLERANCE * (1 + maxRef);
      if (!(diff <= allowed)) {
        throw new ModelException(preparedFile + ": output '" + name + "' differs from " + originalFile + " by " + diff
            + ", expected at most " + allowed + " (shapes " + describe(shapes) + ")");
      }
      worst = Math.max(worst, diff);
      LOG.debug("output '{}': max abs diff {} (allowed {})", name, diff, allowed);
    }
    LOG.info("{}: verified {} outputs against {} on inputs {}, max abs diff {}", preparedFile, expected.size(),
        originalFile, describe(shapes), worst);
    return worst;
  }

  private static long[] declaredShape(Path file, ValueInfoProto in) {
    TypeProto.Tensor t = in.getType().getTensorType();
    if (!t.hasShape()) {
      throw new ModelException(file + ": input '" + in.getName() + "' has no declared shape; pass its shape to verify with");
    }
    List<TensorShapeProto.Dimension> dims = t.getShape().getDimList();
    long[] shape = new long[dims.size()];
    for (int k = 0; k < shape.length; k++) {
      TensorShapeProto.Dimension d = dims.get(k);
      if (d.hasDimValue() && d.getDimValue() > 0) {
        shape[k] = d.getDimValue();
      } else if (k == 0) {
        shape[k] = DEFAULT_BATCH;
      } else {
        throw new ModelException(file + ": input '" + in.getName() + "' has dynamic dimension " + k + " ('"
            + d.getDimParam() + "'); pass its shape to verify with");
      }
    }
    return shape;
  }

  private static String describe(Map<String, long[]> shapes) {
    StringBuilder sb = new StringBuilder("{");
    shapes.forEach((k, v) -> sb.append(sb.length() > 1 ? ", " : "").append(k).append('=').append(Arrays.toString(v)));
    return sb.append('}').toString();
  }
}
