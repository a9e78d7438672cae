package dev.qcal.testing;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit extension sharing one embedded {@code local[2]} SparkSession per test JVM (the stand-in for
 * spark-testing-base, which has no Spark 4 build). Commands under test find it active and reuse it.
 */
public final class SharedSpark implements ParameterResolver {
  private static SparkSession spark;

  public static synchronized SparkSession session() {
    if (spark == null || spark.sparkContext().isStopped()) {
      spark = SparkSession.builder()
          .master("local[2]")
          .appName("qcal-tests")
          .config("spark.ui.enabled", "false")
          .config("spark.ui.showConsoleProgress", "false")
          .config("spark.sql.shuffle.partitions", "4")
          .config("spark.driver.host", "127.0.0.1")
          .config("spark.driver.bindAddress", "127.0.0.1")
          // a table lookup would otherwise make ./spark-warehouse in the working folder
          .config("spark.sql.warehouse.dir", warehouse().toUri().toString())
          .getOrCreate();
      SparkSession started = spark;
      Runtime.getRuntime().addShutdownHook(new Thread(started::stop));
    }
    SparkSession.setActiveSession(spark);
    SparkSession.setDefaultSession(spark);
    return spark;
  }

  private static java.nio.file.Path warehouse() {
    try {
      java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("qcal-test-warehouse-");
      dir.toFile().deleteOnExit();
      return dir;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Stops the shared session (a test that needs another master); the next use starts a new one. */
  public static synchronized void stop() {
    if (spark != null) {
      spark.stop();
      spark = null;
    }
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
    return p.getParameter().getType() == SparkSession.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext e) {
    return session();
  }
}
