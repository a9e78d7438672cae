package dev.qcal.model.qdq;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.qcal.model.onnx.ExternalDataFile;
import dev.qcal.model.onnx.Initializers;
import dev.qcal.quant.QuantParams;
import dev.qcal.quant.StreamedWeight;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * A weight kept in external data, quantized one chunk at a time ({@link StreamedWeight}): its ranges in a
 * first pass over its file, its values in a second that appends them to the rewrite's {@link DataFile}.
 */
final class StreamedWeightQuantizer implements WeightQuantizer {

  /**
   * The new data file, in the model's directory, that a rewrite's quantized external weights go to; made on
   * the first one.
   */
  static final class DataFile implements AutoCloseable {
    private final Path modelDir;
    private ExternalDataFile file;

    DataFile(Path modelDir) {
      this.modelDir = modelDir;
    }

    ExternalDataFile open() {
      if (file == null) {
        String location = "qcal-quantized-" + java.util.UUID.randomUUID() + ".data";
        file = new ExternalDataFile(modelDir.resolve(location), location);
      }
      return file;
    }

    @Override
    public void close() {
      if (file != null) {
        file.close();
      }
    }
  }

  private final TensorProto weight;
  private final long[] dims;
  private final Path modelDir;
  private final DataFile out;
  private StreamedWeight streamed;

  StreamedWeightQuantizer(TensorProto weight, Path modelDir, DataFile out) {
    this.weight = weight;
    this.dims = QdqTensors.dims(weight);
    this.modelDir = modelDir;
    this.out = out;
  }

  @Override
  public QuantParams params(WeightScheme s) {
    streamed = new StreamedWeight(dims, s.paramsAxis(), s.block());
    Initializers.forEachChunk(weight, modelDir, Initializers.CHUNK_FLOATS, streamed::observe);
    QuantParams p = streamed.params(s.type());
    StreamedWeight.byteLength(s.type(), Initializers.count(weight));
    return p;
  }

  @Override
  public Function<String, TensorProto> values(WeightScheme s, QuantParams p) {
    return name -> write(name, p);
  }

  /** Quantizes the weight chunk by chunk in a second pass over its file, appending the values to the data file. */
  private TensorProto write(String name, QuantParams p) {
    ExternalDataFile file = out.open();
    long length = StreamedWeight.byteLength(p.type(), Initializers.count(weight));
    long offset = file.begin(length);
    ByteBuffer buf = ByteBuffer.allocateDirect(StreamedWeight.maxChunkBytes(p.type(), Initializers.CHUNK_FLOATS))
        .order(ByteOrder.LITTLE_ENDIAN);
    Initializers.forEachChunk(weight, modelDir, Initializers.CHUNK_FLOATS, (first, chunk) -> {
      buf.clear();
      streamed.quantize(first, chunk, p, buf);
      file.write(buf.flip());
    });
    buf.clear();
    streamed.finish(buf);
    if (buf.position() > 0) {
      file.write(buf.flip());
    }
    TensorProto header = TensorProto.newBuilder().setName(name).setDataType(p.type().onnxElemType())
        .addAllDims(weight.getDimsList()).build();
    return file.reference(header, offset, length);
  }
}
