package dev.qcal.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The qcal version this jar was built as. */
public final class QcalVersion {
  private QcalVersion() {}

  public static String get() {
    try (InputStream in = QcalVersion.class.getResourceAsStream("/qcal.properties")) {
      Properties p = new Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }
}
