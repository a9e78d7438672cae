package dev.qcal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** run.json's {@code algorithms} in the report: settings as rows, per-layer lists as tables, nothing when absent. */
class AlgorithmSectionTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static String html(String algorithms) throws Exception {
    StringBuilder b = new StringBuilder();
    AlgorithmSection.append(b, algorithms == null ? null : JSON.readTree(algorithms));
    return b.toString();
  }

  private static int count(String s, String part) {
    int n = 0;
    for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }

  @Test
  void nothingWhenNoAlgorithmRan() throws Exception {
    assertEquals("", html(null));
    assertEquals("", html("{}"));
  }

  @Test
  void eachAlgorithmHasItsSettingsAndOneTablePerLayerListWithTheUnionOfTheFields() throws Exception {
    String h = html("{\"gptq\":{\"damp\":0.01,\"layers\":[{\"weight\":\"w<1>\",\"sqnr_db_before\":30.5},"
        + "{\"weight\":\"w2\",\"sqnr_db_after\":33.25}]},\"bias_correction\":{\"layers_corrected\":2}}");
    assertEquals(2, count(h, "<h3 class=\"name\">"));
    assertTrue(h.indexOf(">gptq</h3>") < h.indexOf(">bias_correction</h3>"), "in run order");
    assertTrue(h.contains("<tr><th>damp</th><td>0.01</td></tr>"), h);
    assertTrue(h.contains("<tr><th>layers_corrected</th><td>2</td></tr>"), h);
    // one table of two rows; columns weight, sqnr_db_before, sqnr_db_after in first-seen order
    assertEquals(1, count(h, "<caption>layers</caption>"));
    assertTrue(h.contains("<tr><th>weight</th><th>sqnr_db_before</th><th>sqnr_db_after</th></tr>"), h);
    assertTrue(h.contains("<tr><td>w&lt;1&gt;</td><td class=\"n\">30.5</td><td>&ndash;</td></tr>"), h);
    assertTrue(h.contains("<tr><td>w2</td><td>&ndash;</td><td class=\"n\">33.25</td></tr>"), h);
  }
}
