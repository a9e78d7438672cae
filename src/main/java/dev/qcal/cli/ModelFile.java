package dev.qcal.cli;

import dev.qcal.model.onnx.ModelException;
import dev.qcal.model.onnx.OnnxModels;
import java.nio.file.Path;
import java.util.Arrays;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The converter of options that name an ONNX model file ({@code --model}, {@code --fp32}, {@code --quantized}).
 * It marks them: {@link #check} refuses a missing model, a directory or a special file for every command, with
 * one line {@code --option: model not found: PATH} (exit 2), after parsing and before the command runs (not at
 * parse time: parsing alone, as for --help, looks at no file).
 */
final class ModelFile implements ITypeConverter<Path> {
  @Override
  public Path convert(String value) {
    return Path.of(value);
  }

  /** Checks the model files given to {@code command}'s options, in the order they are declared. */
  static void check(CommandSpec command) {
    for (OptionSpec o : command.options()) {
      Path file = Arrays.stream(o.converters()).anyMatch(c -> c instanceof ModelFile) ? o.getValue() : null;
      if (file != null) {
        try {
          OnnxModels.requireFile(file);
        } catch (ModelException e) {
          throw new UsageException(o.longestName() + ": " + e.getMessage());
        }
      }
    }
  }
}
