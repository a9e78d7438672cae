package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.stats.StatsConfig;
import dev.qcal.stats.StatsSet;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

/**
 * A task's statistics reach the driver through Spark's serializer, which qcal keeps at Java's
 * ({@link SparkSessions#withJavaSerializer}): it must carry the exact state, empty or not.
 */
class StatsSerializersTest {
  private static final List<String> TENSORS = List.of("conv", "seq");

  private static StatsSet observed(StatsConfig config, long seed) {
    Random r = new Random(seed);
    StatsSet s = StatsSet.empty(TENSORS, config);
    for (int b = 0; b < 3; b++) {
      float[] conv = new float[4 * 3 * 5 * 7];
      for (int i = 0; i < conv.length; i++) {
        conv[i] = i % 97 == 0 ? Float.NaN : (float) (r.nextGaussian() * (1 + b));
      }
      s.add("conv", FloatBuffer.wrap(conv), new long[] {4, 3, 5, 7});
      float[] seq = new float[4 * 6];
      for (int i = 0; i < seq.length; i++) {
        seq[i] = Math.max(0f, (float) r.nextGaussian());
      }
      s.add("seq", FloatBuffer.wrap(seq), new long[] {4, 6});
      s.countBatch(4);
    }
    return s;
  }

  private static Object roundTrip(Serializer serializer, Object o) {
    SerializerInstance si = serializer.newInstance();
    ByteBuffer bytes = si.serialize(o, ClassTag$.MODULE$.apply(Object.class));
    return si.deserialize(bytes, ClassTag$.MODULE$.apply(Object.class));
  }

  /**
   * Why qcal runs on Java serialization: the Kryo 4 that Spark ships cannot serialize records, so a
   * task result would fail on any cluster whose spark-defaults select Kryo. If this starts passing, a
   * Kryo upgrade made records serializable and {@link SparkSessions#withJavaSerializer} may go.
   */
  @Test
  void kryoCannotCarryTheStatistics() {
    SerializerInstance kryo = new KryoSerializer(new SparkConf()).newInstance();
    RuntimeException e = assertThrows(RuntimeException.class,
        () -> kryo.serialize(new CalibrateJob.Observed(observed(StatsConfig.defaults(), 1), 0),
            ClassTag$.MODULE$.apply(Object.class)));
    StringBuilder chain = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      chain.append(t).append(" <- ");
    }
    assertTrue(chain.toString().contains("on a record class"), chain.toString());
  }

  @Test
  void kryoFromTheConfigurationIsReplacedAndAnActiveKryoSessionRefused() {
    SparkConf conf = new SparkConf(false).set("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
    assertEquals("org.apache.spark.serializer.KryoSerializer", SparkSessions.withJavaSerializer(conf));
    assertEquals(SparkSessions.JAVA_SERIALIZER, conf.get("spark.serializer"));
    assertNull(SparkSessions.withJavaSerializer(conf));
    assertNull(SparkSessions.withJavaSerializer(new SparkConf(false)));
    SparkSessions.requireJavaSerializer(new SparkConf(false));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> SparkSessions.requireJavaSerializer(
        new SparkConf(false).set("spark.serializer", "org.apache.spark.serializer.KryoSerializer")));
    assertTrue(e.getMessage().contains("KryoSerializer") && e.getMessage().contains("JavaSerializer")
        && !e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void javaSerializationCarriesTheExactState() {
    Serializer javaSerializer = new JavaSerializer(new SparkConf());
    for (StatsConfig config : new StatsConfig[] {StatsConfig.defaults(), StatsConfig.defaults().withChannelHistograms(64),
        new StatsConfig(0, 0, java.util.Map.of())}) {
      StatsSet empty = StatsSet.empty(TENSORS, config);
      StatsSet emptyCopy = (StatsSet) roundTrip(javaSerializer, empty);
      assertEquals(empty, emptyCopy);
      StatsSet s = observed(config, 1);
      StatsSet copy = (StatsSet) roundTrip(javaSerializer, s);
      assertEquals(s, copy, config.toString());
      // the copies go on merging like the originals: the reduce after the task
      assertEquals(observed(config, 1).merge(observed(config, 2)), copy.merge(observed(config, 2)));
      assertEquals(observed(config, 2), emptyCopy.merge(observed(config, 2)));
      CalibrateJob.Observed o = new CalibrateJob.Observed(observed(config, 3), 2);
      CalibrateJob.Observed oCopy = (CalibrateJob.Observed) roundTrip(javaSerializer, o);
      assertEquals(o.stats(), oCopy.stats());
      assertEquals(2, oCopy.rerunBatches());
    }
  }
}
