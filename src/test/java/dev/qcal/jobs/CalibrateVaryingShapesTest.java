package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qcal.data.Npy;
import dev.qcal.model.TestGraphs;
import dev.qcal.model.onnx.OnnxModels;
import dev.qcal.testing.Cli;
import dev.qcal.testing.SharedSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images of two sizes, interleaved file by file, through a fully convolutional net with dynamic H and W:
 * batches hold one size each and are full, and no statistic depends on partitioning or batch size.
 */
@ExtendWith(SharedSpark.class)
class CalibrateVaryingShapesTest {
  @TempDir Path tmp;

  /** x [N, 3, H, W] → Conv 3x3 → Relu → Conv 3x3 → GlobalAveragePool → Flatten → Gemm → y [N, 3]. */
  private Path model() {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : new Object[] {"N", 3L, "H", "W"}) {
      shape.addDim(d instanceof String s ? TensorShapeProto.Dimension.newBuilder().setDimParam(s)
          : TensorShapeProto.Dimension.newBuilder().setDimValue((Long) d));
    }
    ValueInfoProto x = ValueInfoProto.newBuilder().setName("x").setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    ModelProto m = TestGraphs.model(13, List.of(
            TestGraphs.node("Conv", "conv1", List.of("x", "w1", "b1"), List.of("c1"), TestGraphs.ints("pads", 1, 1, 1, 1)),
            TestGraphs.node("Relu", "relu", List.of("c1"), List.of("r1")),
            TestGraphs.node("Conv", "conv2", List.of("r1", "w2"), List.of("c2"), TestGraphs.ints("pads", 1, 1, 1, 1)),
            TestGraphs.node("GlobalAveragePool", "gap", List.of("c2"), List.of("g")),
            TestGraphs.node("Flatten", "flat", List.of("g"), List.of("f")),
            TestGraphs.node("Gemm", "fc", List.of("f", "wf", "bf"), List.of("y"))),
        List.of(x), List.of(TestGraphs.floatInfo("y")),
        List.of(TestGraphs.floatTensor("w1", new long[] {4, 3, 3, 3}, TestGraphs.randomFloats(108, 1)),
            TestGraphs.floatTensor("b1", new long[] {4}, TestGraphs.randomFloats(4, 2)),
            TestGraphs.floatTensor("w2", new long[] {2, 4, 3, 3}, TestGraphs.randomFloats(72, 3)),
            TestGraphs.floatTensor("wf", new long[] {2, 3}, TestGraphs.randomFloats(6, 4)),
            TestGraphs.floatTensor("bf", new long[] {3}, TestGraphs.randomFloats(3, 5))));
    Path f = tmp.resolve("fcn.onnx");
    OnnxModels.save(m, f);
    return f;
  }

  @Test
  void interleavedImageSizesGiveFullBatchesAndTheSameStatisticsForAnyPartitioningAndBatchSize(SparkSession spark)
      throws Exception {
    Path model = model();
    // 8 files of 2 images alternating between 8x8 and 6x10: 8 images of each size
    Path data = tmp.resolve("x");
    Files.createDirectories(data);
    Random r = new Random(7);
    for (int f = 0; f < 8; f++) {
      long h = f % 2 == 0 ? 8 : 6;
      long w = f % 2 == 0 ? 8 : 10;
      float[] v = new float[(int) (2 * 3 * h * w)];
      for (int k = 0; k < v.length; k++) {
        v[k] = (float) r.nextGaussian();
      }
      Npy.writeFloat32(data.resolve("part-" + f + ".npy"), v, new long[] {2, 3, h, w});
    }
    List<String> names = new ArrayList<>();
    for (String p : new String[] {"1", "3"}) {
      for (String b : new String[] {"5", "1"}) {
        String name = "p" + p + "-b" + b;
        Cli c = Cli.run("calibrate", "--model", model.toString(), "--data", data.toString(), "--out",
            tmp.resolve(name).toString(), "--partitions", p, "--batch-size", b);
        assertEquals(0, c.code(), c.err());
        names.add(name);
      }
    }
    // one partition, batches of 5: 8 images of each size make 5 + 3 per size, whatever their interleaving
    assertEquals(4, new ObjectMapper().readTree(tmp.resolve("p1-b5/run.json").toFile()).get("batches").asLong());
    assertEquals(16, new ObjectMapper().readTree(tmp.resolve("p1-b5/qparams.json").toFile()).get("samples").asLong());
    for (String file : new String[] {"qparams.json", "stats/stats.bin", "stats/stats.json"}) {
      byte[] reference = Files.readAllBytes(tmp.resolve(names.get(0)).resolve(file));
      for (String name : names.subList(1, names.size())) {
        assertArrayEquals(reference, Files.readAllBytes(tmp.resolve(name).resolve(file)), name + "/" + file);
      }
    }
  }
}
