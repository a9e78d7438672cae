package dev.qcal.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

/** The browser-test helper itself: a page that never finishes loading is killed at the timeout, nothing left. */
class ChromiumTest {
  @TempDir Path tmp;

  @Test
  void aHangingPageIsKilledAtTheTimeoutWithNothingLeftRunning() throws Exception {
    Path page = tmp.resolve("hang.html");
    Files.writeString(page, "<html><body><script>while (true) {}</script></body></html>");
    AssertionFailedError e = assertThrows(AssertionFailedError.class,
        () -> Chromium.run(tmp, 5, "--dump-dom", page.toUri().toString()));
    assertTrue(e.getMessage().startsWith("chromium did not finish in 5 s"), e.getMessage());
    assertEquals(List.of(), Chromium.processesWith(tmp.toAbsolutePath().toString()), "chromium processes left");
    try (var s = Files.list(tmp)) {
      assertTrue(s.noneMatch(f -> f.getFileName().toString().startsWith("chromium-profile-") && Files.isDirectory(f)),
          "profile directory removed");
    }
  }
}
