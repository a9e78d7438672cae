package dev.qcal.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** Builds the SparkSession a command runs on: spark-submit's, or an embedded one. */
public final class SparkSessions {
  private SparkSessions() {}

  /**
   * A session for {@code appName}. {@code --master} wins; otherwise the master spark-submit set
   * ({@code spark.master}); otherwise an embedded {@code local[*]}.
   */
  public static SparkSession create(String appName, String master) {
    SparkConf conf = new SparkConf(true).setAppName(appName);
    if (master != null) {
      conf.setMaster(master);
    } else if (!conf.contains("spark.master")) {
      conf.setMaster("local[*]");
    }
    conf.setIfMissing("spark.ui.showConsoleProgress", "false");
    conf.setIfMissing("spark.ui.enabled", "false");
    return SparkSession.builder().config(conf).getOrCreate();
  }
}
