package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.ExternalData;
import dev.qcal.model.onnx.ExternalDataFile;
import dev.qcal.quant.LinearQuant;
import dev.qcal.quant.QuantParams;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Function;

/**
 * A weight whose integers and params another algorithm chose ({@link QdqRewriter.Rounded}, GPTQ): they are
 * written as given, into the model or, for a weight kept in external data, appended to the rewrite's
 * {@link StreamedWeightQuantizer.DataFile}. Should the rewrite raise scales for an int32 bias, the integers
 * are those of the given ones' float values rounded to nearest on the raised scales.
 */
final class RoundedWeightQuantizer implements WeightQuantizer {

  private final TensorProto weight;
  private final long[] dims;
  private final Path modelDir;
  private final StreamedWeightQuantizer.DataFile out;
  private final QdqRewriter.Rounded rounded;

  RoundedWeightQuantizer(TensorProto weight, Path modelDir, StreamedWeightQuantizer.DataFile out,
      QdqRewriter.Rounded rounded) {
    this.weight = weight;
    this.dims = QdqTensors.dims(weight);
    this.modelDir = modelDir;
    this.out = out;
    this.rounded = rounded;
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    if (rounded.codes().length != n) {
      throw new IllegalArgumentException("weight '" + weight.getName() + "': " + rounded.codes().length
          + " rounded values given for " + n + " elements");
    }
  }

  /** The given params, which must be those of {@code s}: its type, axis (none per tensor) and block size. */
  @Override
  public QuantParams params(WeightScheme s) {
    QuantParams p = rounded.params();
    if (p.type() != s.type() || p.blockSize() != s.block() || !Objects.equals(p.axis(), s.paramsAxis())) {
      throw new IllegalArgumentException("weight '" + weight.getName() + "': rounded with " + p.type().id()
          + " axis " + p.axis() + " block " + p.blockSize() + ", but the rewrite quantizes it as " + s.type().id()
          + " axis " + s.paramsAxis() + " block " + s.block());
    }
    return p;
  }

  @Override
  public Function<String, TensorProto> values(WeightScheme s, QuantParams p) {
    long[] codes = p.equals(rounded.params()) ? rounded.codes() : reRounded(p);
    return name -> {
      TensorProto t = QdqTensors.intTensor(name, s.type(), dims, codes);
      return ExternalData.isExternal(weight) && modelDir != null ? external(t) : t;
    };
  }

  /** The given integers' float values rounded to nearest with params {@code p}. */
  private long[] reRounded(QuantParams p) {
    QuantParams g = rounded.params();
    float[] values = new float[rounded.codes().length];
    int[] index = LinearQuant.paramIndices(dims, g);
    for (int i = 0; i < values.length; i++) {
      int c = index[i];
      values[i] = LinearQuant.dequantize(rounded.codes()[i], g.scale(c), g.zeroPoint(c));
    }
    return LinearQuant.quantizeAll(values, dims, p);
  }

  /** {@code t}'s bytes appended to the rewrite's data file, {@code t} referencing them. */
  private TensorProto external(TensorProto t) {
    ExternalDataFile file = out.open();
    byte[] bytes = t.getRawData().toByteArray();
    long offset = file.begin(bytes.length);
    file.write(ByteBuffer.wrap(bytes));
    return file.reference(t, offset, bytes.length);
  }
}
