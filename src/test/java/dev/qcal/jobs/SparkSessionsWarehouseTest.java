package dev.qcal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.SharedSpark;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** A session qcal starts keeps Spark's warehouse out of the working folder and removes it when it stops. */
class SparkSessionsWarehouseTest {
  @Test
  void ownSessionUsesATemporaryWarehouseRemovedAtClose() {
    SharedSpark.stop();
    Path warehouse;
    Path cwd = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    try (SparkSessions.Handle h = SparkSessions.open("qcal-warehouse-test", "local[1]")) {
      String dir = h.spark().conf().get("spark.sql.warehouse.dir");
      warehouse = Path.of(URI.create(dir.endsWith("/") ? dir : dir + "/")).toAbsolutePath();
      assertFalse(warehouse.startsWith(cwd), dir + " is in the working folder " + cwd);
      // a table lookup creates the warehouse's default database
      assertThrows(Exception.class, () -> h.spark().table("nodb.notable"));
      assertTrue(Files.isDirectory(warehouse), warehouse.toString());
    } finally {
      SparkSession.clearActiveSession();
      SparkSession.clearDefaultSession();
    }
    assertFalse(Files.exists(warehouse), warehouse + " left behind");
  }

  @Test
  void configuredWarehouseIsLeftAlone() {
    SparkConf conf = new SparkConf(false).set("spark.sql.warehouse.dir", "/data/wh");
    assertNull(SparkSessions.withTemporaryWarehouse(conf));
    assertEquals("/data/wh", conf.get("spark.sql.warehouse.dir"));
  }
}
