package dev.qcal.jobs;

import dev.qcal.data.DataException;
import dev.qcal.data.InputSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Binds {@code --data} paths to the model's inputs and checks the names other data options give. */
final class InputBinding {
  private InputBinding() {}

  /** Refuses a {@code --sample-shape} or {@code --input} naming no model input. */
  static void checkNames(List<InputSpec> inputs, Map<String, long[]> sampleShapes, Map<String, String> columns) {
    for (String name : sampleShapes.keySet()) {
      if (inputs.stream().noneMatch(i -> i.name().equals(name))) {
        throw new DataException("--sample-shape names '" + name + "' but the model's inputs are " + names(inputs));
      }
    }
    for (String name : columns.keySet()) {
      if (inputs.stream().noneMatch(i -> i.name().equals(name))) {
        throw new DataException("--input names '" + name + "' but the model's inputs are " + names(inputs));
      }
    }
  }

  /** {@code PATH} alone feeds every input; {@code name=PATH} binds one input. */
  static Map<String, String> bind(List<String> data, List<InputSpec> inputs) {
    Map<String, String> byInput = new LinkedHashMap<>();
    if (unnamed(data, inputs)) {
      for (InputSpec in : inputs) {
        byInput.put(in.name(), data.get(0));
      }
      return byInput;
    }
    Map<String, String> given = new LinkedHashMap<>();
    for (String d : data) {
      int eq = d.indexOf('=');
      if (eq <= 0 || !isBinding(d, inputs)) {
        throw new DataException("--data '" + d + "': with several --data options each must be name=PATH for one of "
            + names(inputs));
      }
      given.put(d.substring(0, eq), d.substring(eq + 1));
    }
    for (InputSpec in : inputs) {
      String p = given.get(in.name());
      if (p == null) {
        throw new DataException("no --data for model input '" + in.name() + "' (inputs: " + names(inputs) + ")");
      }
      byInput.put(in.name(), p);
    }
    return byInput;
  }

  /** One {@code --data PATH}, not {@code name=PATH}, feeds every input. */
  static boolean unnamed(List<String> data, List<InputSpec> inputs) {
    return data.size() == 1 && !isBinding(data.get(0), inputs);
  }

  private static boolean isBinding(String d, List<InputSpec> inputs) {
    int eq = d.indexOf('=');
    return eq > 0 && inputs.stream().anyMatch(i -> i.name().equals(d.substring(0, eq)));
  }

  static List<String> names(List<InputSpec> inputs) {
    return inputs.stream().map(InputSpec::name).toList();
  }

  static String quoted(List<InputSpec> inputs) {
    return String.join(", ", inputs.stream().map(i -> "'" + i.name() + "'").toList());
  }
}
