package dev.qcal.jobs;

import java.lang.management.ManagementFactory;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.WeakHashMap;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;

/** Builds the SparkSession a command runs on: an active one, spark-submit's, or an embedded one. */
public final class SparkSessions {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SparkSessions.class);

  /** The start-up times of the sessions {@link #open} started, by their context. */
  private static final Map<SparkContext, Map<String, Double>> STARTUP =
      Collections.synchronizedMap(new WeakHashMap<>());

  private SparkSessions() {}

  /**
   * A session, whether this command started it (and so must stop it), and the temporary warehouse
   * folder it made for the session (null when none), removed once the session stops.
   */
  public record Handle(SparkSession spark, boolean owned, WorkDir warehouse) implements AutoCloseable {
    public Handle(SparkSession spark, boolean owned) {
      this(spark, owned, null);
    }

    @Override
    public void close() {
      if (owned) {
        spark.stop();
      }
      if (warehouse != null) {
        warehouse.close();
      }
    }
  }

  /**
   * A session for {@code appName}. An already active session (an embedding application or a test)
   * is reused as it is. Otherwise {@code --master} wins, then the master spark-submit set
   * ({@code spark.master}), then an embedded {@code local[*]}.
   */
  public static Handle open(String appName, String master) {
    var active = SparkSession.getActiveSession();
    if (active.isEmpty()) {
      active = SparkSession.getDefaultSession();
    }
    if (active.isDefined() && !active.get().sparkContext().isStopped()) {
      requireJavaSerializer(active.get().sparkContext().getConf());
      return new Handle(active.get(), false);
    }
    SparkConf conf = new SparkConf(true).setAppName(appName);
    if (master != null) {
      conf.setMaster(master);
    } else if (!conf.contains("spark.master")) {
      conf.setMaster("local[*]");
    }
    conf.setIfMissing("spark.ui.showConsoleProgress", "false");
    conf.setIfMissing("spark.ui.enabled", "false");
    withDelta(conf, Thread.currentThread().getContextClassLoader());
    String replaced = withJavaSerializer(conf);
    if (replaced != null) {
      LOG.warn("spark.serializer {} replaced by {} for this application: {}", replaced, JAVA_SERIALIZER, WHY_JAVA);
    }
    WorkDir warehouse = withTemporaryWarehouse(conf);
    try {
      double beforeSession = ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
      long t = System.nanoTime();
      SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
      Map<String, Double> startup = new LinkedHashMap<>();
      startup.put("jvm_to_session", beforeSession);
      startup.put("spark_session", (System.nanoTime() - t) / 1e9);
      STARTUP.put(spark.sparkContext(), Collections.unmodifiableMap(startup));
      return new Handle(spark, true, warehouse);
    } catch (RuntimeException e) {
      if (warehouse != null) {
        warehouse.close();
      }
      throw e;
    }
  }

  /**
   * How long the process took to get {@code sc}'s session, when {@link #open} started it: seconds from the
   * JVM's start to the session's ({@code jvm_to_session}: JVM boot, class loading, options and checks) and
   * the session's own start ({@code spark_session}). Empty for a session this process did not start here
   * (an embedding application's, a test's).
   */
  static Map<String, Double> startupSeconds(SparkContext sc) {
    return STARTUP.getOrDefault(sc, Map.of());
  }

  /**
   * Without a configured {@code spark.sql.warehouse.dir}, Spark makes {@code ./spark-warehouse} in the
   * working folder as soon as a table is looked up: points it at a new temporary folder instead, which
   * the handle removes. Returns that folder, or null when the user configured one.
   */
  static WorkDir withTemporaryWarehouse(SparkConf conf) {
    if (conf.contains("spark.sql.warehouse.dir")) {
      return null;
    }
    WorkDir dir = WorkDir.create("qcal-warehouse-");
    conf.set("spark.sql.warehouse.dir", dir.path().toUri().toString());
    return dir;
  }

  /**
   * Refuses a {@code --table} the session's catalog does not have (temporary views included), naming the
   * missing database and the ones there are, or the database that lacks the table. A name the catalog
   * cannot parse is left to the reader, which reports the parser's words.
   */
  public static void requireTable(SparkSession spark, String table) {
    try {
      if (spark.catalog().tableExists(table)) {
        return;
      }
    } catch (RuntimeException unparsable) {
      return;
    }
    int dot = table.lastIndexOf('.');
    String db = dot > 0 && !table.contains("`") ? table.substring(0, dot) : null;
    if (db != null && !spark.catalog().databaseExists(db)) {
      java.util.List<String> dbs = spark.catalog().listDatabases().collectAsList().stream()
          .map(org.apache.spark.sql.catalog.Database::name).sorted().toList();
      throw new dev.qcal.data.DataException("--table " + table + ": no database '" + db + "' (databases: "
          + String.join(", ", dbs) + ")");
    }
    throw new dev.qcal.data.DataException("--table " + table + ": no such table or view in database '"
        + (db != null ? db : spark.catalog().currentDatabase()) + "'");
  }

  /**
   * The Hadoop configuration {@link #open} would give, without starting a session: an active
   * session's, else the site files and spark-submit's {@code spark.hadoop.*} settings.
   */
  public static org.apache.hadoop.conf.Configuration hadoopConf() {
    var active = SparkSession.getActiveSession();
    if (active.isEmpty()) {
      active = SparkSession.getDefaultSession();
    }
    if (active.isDefined() && !active.get().sparkContext().isStopped()) {
      return active.get().sparkContext().hadoopConfiguration();
    }
    org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
    for (scala.Tuple2<String, String> kv : new SparkConf(true).getAllWithPrefix("spark.hadoop.")) {
      conf.set(kv._1(), kv._2());
    }
    return conf;
  }

  static final String JAVA_SERIALIZER = "org.apache.spark.serializer.JavaSerializer";
  private static final String WHY_JAVA = "qcal's task results and shuffled samples are Java records, which the Kryo 4"
      + " that Spark ships cannot serialize";

  /**
   * Sets {@code spark.serializer} to Java's when it names another (a cluster-wide Kryo setting):
   * see {@link #WHY_JAVA}. Returns the serializer replaced, or null when there was none to replace.
   */
  static String withJavaSerializer(SparkConf conf) {
    String s = conf.get("spark.serializer", JAVA_SERIALIZER);
    if (s.equals(JAVA_SERIALIZER)) {
      return null;
    }
    conf.set("spark.serializer", JAVA_SERIALIZER);
    return s;
  }

  /** A session qcal did not start cannot be changed: one with another serializer is refused up front. */
  static void requireJavaSerializer(SparkConf conf) {
    String s = conf.get("spark.serializer", JAVA_SERIALIZER);
    if (!s.equals(JAVA_SERIALIZER)) {
      throw new IllegalStateException("the active Spark session uses spark.serializer=" + s + "; qcal needs "
          + JAVA_SERIALIZER + " (" + WHY_JAVA + ")");
    }
  }

  /**
   * When Delta Lake is on the classpath (the user added {@code io.delta:delta-spark}) and neither
   * {@code spark.sql.extensions} nor the session catalog is set, sets both as Delta requires for
   * reading a table ({@code --format delta}); settings the user gave are left alone.
   */
  static void withDelta(SparkConf conf, ClassLoader loader) {
    if (conf.contains("spark.sql.extensions") || conf.contains("spark.sql.catalog.spark_catalog")) {
      return;
    }
    try {
      Class.forName(DataSources.DELTA_EXTENSION, false, loader != null ? loader : SparkSessions.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError absent) {
      return;
    }
    conf.set("spark.sql.extensions", DataSources.DELTA_EXTENSION);
    conf.set("spark.sql.catalog.spark_catalog", DataSources.DELTA_CATALOG);
  }
}
