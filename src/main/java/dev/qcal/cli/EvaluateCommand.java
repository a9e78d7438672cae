package dev.qcal.cli;

import dev.qcal.jobs.EvaluateJob;
import dev.qcal.jobs.SparkSessions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qcal evaluate}: how far a quantized model's outputs are from the FP32 model's, on Spark. */
@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the FP32 and the quantized model over the evaluation data on Spark and compares their outputs"
          + " in eval.json.",
      "eval.json holds per model output SQNR (dB; null when the outputs are equal), cosine similarity, max and"
          + " mean absolute error, top-1 agreement (2-D [N, classes] outputs) and, with --labels, the top-1"
          + " accuracy of each model; each model's size and throughput; the per-tensor sensitivity ranking.",
      "Writes into --out, atomically (_SUCCESS last): eval.json."
    })
public final class EvaluateCommand extends SparkCommand implements Callable<Integer> {
  @Option(names = "--fp32", required = true, paramLabel = "M.onnx", converter = ModelFile.class,
      description = "The FP32 ONNX model.")
  Path fp32;

  @Option(names = "--quantized", required = true, paramLabel = "Q.onnx", converter = ModelFile.class,
      description = "The quantized model (e.g. calibrate's quantized.onnx), with the FP32 model's inputs and outputs.")
  Path quantized;

  @Option(names = "--data", paramLabel = "[NAME=]PATH",
      description = "Evaluation data, as calibrate's --data: .npy/.npz files or directories, Parquet, ORC, JSON or CSV"
          + " files or directories, a Delta Lake table or a folder of images (see --format).")
  List<String> data;

  @Mixin DataFormatMixin dataFormat;

  @Mixin DataSelectionMixin dataSelection;

  @Option(names = "--labels", paramLabel = "FILE.npy",
      description = {"Class ids [N] (any integer dtype, or floats holding whole numbers): label i belongs to the",
          "i-th sample of the .npy files of --data sorted by name (a file [n, ...] holds n samples). Only for",
          "single-input .npy data."})
  String labels;

  @Option(names = "--sensitivity-samples", defaultValue = "64", paramLabel = "N",
      description = {"Per-tensor sensitivity in eval.json: output SQNR and top-1 agreement with only one tensor",
          "quantized, for each, on N samples chosen by hash; 0 = off (default: ${DEFAULT-VALUE})."})
  int sensitivitySamples;

  @Override
  public Integer call() {
    int batch = batchSize();
    if (sensitivitySamples < 0) {
      throw new UsageException("--sensitivity-samples must be >= 0, got " + sensitivitySamples);
    }
    Map<String, String> padValues = dataSelection.pads();
    EvaluateJob.Options o = new EvaluateJob.Options(fp32, quantized, data == null ? List.of() : data, labels, out,
        overwrite, batch, sensitivitySamples, padValues,
        dataSelection.toOptions(data, dataFormat, padValues, false, null), dataFormat.sampleShapes());
    EvaluateJob.checkOutput(o, QcalDefaults.inputs(), SparkSessions.hadoopConf());
    try (SparkSessions.Handle session = openSession("qcal evaluate " + quantized.getFileName())) {
      if (o.dataOptions().table() != null) {
        SparkSessions.requireTable(session.spark(), o.dataOptions().table());
      }
      Map<String, Object> eval = EvaluateJob.run(o, session.spark());
      spec.commandLine().getOut().println("qcal: evaluated " + eval.get("samples") + " samples; " + EvaluateJob.EVAL
          + " in " + out);
    }
    return Main.OK;
  }
}
