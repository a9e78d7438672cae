package dev.qcal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.qcal.testing.Cli;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The text of {@code qcal --help}. */
class HelpTextTest {

  /** The Commands section of {@code qcal --help}: each command and its description, wrapped lines joined. */
  static Map<String, String> commandList(String help) {
    List<String> lines = help.lines().toList();
    Map<String, String> commands = new LinkedHashMap<>();
    String current = null;
    for (String line : lines.subList(lines.indexOf("Commands:") + 1, lines.size())) {
      if (line.matches("  \\S+ {2,}\\S.*")) {
        current = line.strip().split(" {2,}", 2)[0];
        commands.put(current, line.strip().split(" {2,}", 2)[1]);
      } else if (current != null && line.startsWith("    ")) {
        commands.merge(current, " " + line.strip(), String::concat);
      } else {
        break;
      }
    }
    return commands;
  }

  /**
   * Each command's line in the list is one whole sentence: it starts with a capital letter and ends with a
   * full stop (they were cut after "writes", "into", "output", as picocli shows a description's first line).
   */
  @Test
  void eachCommandIsDescribedByAWholeSentence() {
    Cli r = Cli.run("--help");
    assertEquals(0, r.code(), r.err());
    Map<String, String> commands = commandList(r.out());
    assertEquals(List.of("calibrate", "quantize", "merge", "evaluate", "report", "inspect", "drift", "publish",
        "example-data", "help"),
        List.copyOf(commands.keySet()), r.out());
    commands.forEach((name, text) -> {
      assertTrue(text.matches("[A-Z].*[^.]\\.$"), name + ": '" + text + "' is not one whole sentence");
    });
  }

  /**
   * calibrate's and evaluate's --data help names every format --data accepts ({@link
   * dev.qcal.data.SourceFormat}; images as "images"), not only npy and Parquet.
   */
  @Test
  void dataHelpNamesEverySourceFormat() {
    for (String command : List.of("calibrate", "evaluate")) {
      String text = String.join(" ", new picocli.CommandLine(new Main()).getSubcommands().get(command)
          .getCommandSpec().findOption("--data").description()).toLowerCase(java.util.Locale.ROOT);
      for (dev.qcal.data.SourceFormat f : dev.qcal.data.SourceFormat.values()) {
        assertTrue(text.matches("(?s).*\\b" + f.cliName() + "\\b.*"),
            command + " --data does not name " + f + ": " + text);
      }
    }
  }
}
