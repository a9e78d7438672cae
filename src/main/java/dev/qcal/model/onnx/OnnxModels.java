package dev.qcal.model.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * Reading, writing and hashing ONNX model files. Every failure is a {@link ModelException} whose
 * one-line message names the file. Models whose tensors live in external data files are read as they
 * are: the external references are kept and checked (see {@link ExternalData}), never loaded; such a
 * model, or one too large for one protobuf message, is written with its own external data file.
 */
public final class OnnxModels {

  /** The two spellings of the default ONNX operator domain. */
  static final String DEFAULT_DOMAIN = "";

  static final String DEFAULT_DOMAIN_ALIAS = "ai.onnx";

  /** Suffix of the external data file written next to a model: {@code quantized.onnx.data}. */
  public static final String DATA_SUFFIX = ".data";

  /** The largest protobuf message (2 GiB - 1 bytes); larger models must keep tensors in external data. */
  static final long PROTO_LIMIT = Integer.MAX_VALUE;

  /** Inline initializers of at least this many bytes move to the data file when one is written (ONNX's default). */
  static final int EXTERNAL_THRESHOLD = 1024;

  private OnnxModels() {}

  /**
   * Reads a model file.
   *
   * @throws ModelException {@code model not found: PATH} when there is no such file, {@code PATH:
   *     cannot read model (...)} when it cannot be read, {@code PATH: not an ONNX model (...)} when it
   *     does not parse or has no graph or no nodes, {@code PATH: tensor 'T': external data location ...}
   *     when an external data location is refused (see {@link ExternalData#check})
   */
  public static ModelProto load(Path file) {
    requireFile(file);
    ModelProto model;
    try (InputStream in = Files.newInputStream(file)) {
      CodedInputStream coded = CodedInputStream.newInstance(in);
      coded.setSizeLimit(Integer.MAX_VALUE);
      coded.setRecursionLimit(1000);
      model = ModelProto.parseFrom(coded);
    } catch (InvalidProtocolBufferException e) {
      throw new ModelException(file + ": not an ONNX model (protobuf parse failed: " + e.getMessage() + ")", e);
    } catch (NoSuchFileException e) {
      throw new ModelException("model not found: " + file, e);
    } catch (AccessDeniedException e) {
      throw new ModelException(file + ": cannot read model (access denied)", e);
    } catch (IOException e) {
      throw new ModelException(file + ": cannot read model (" + e + ")", e);
    }
    if (!model.hasGraph()) {
      throw new ModelException(file + ": not an ONNX model (no graph in " + describe(file) + ")");
    }
    if (model.getGraph().getNodeCount() == 0) {
      throw new ModelException(file + ": not an ONNX model (graph has no nodes)");
    }
    if (model.getGraph().getOutputCount() == 0) {
      throw new ModelException(file + ": model has no outputs (its graph declares none, so nothing can be run or compared)");
    }
    ExternalData.check(model, file);
    return model;
  }

  /**
   * Checks that {@code file} names a model file before anything reads it: {@code model not found: PATH}
   * when nothing is there (or a dangling link), {@code PATH is a directory, expected an .onnx model file},
   * {@code PATH: cannot read model (not a regular file)} for a device or pipe.
   */
  public static void requireFile(Path file) {
    if (Files.isDirectory(file)) {
      throw new ModelException(file + " is a directory, expected an .onnx model file");
    }
    if (!Files.exists(file)) {
      throw new ModelException("model not found: " + file);
    }
    if (!Files.isRegularFile(file)) {
      throw new ModelException(file + ": cannot read model (not a regular file)");
    }
  }

  private static String describe(Path file) {
    try {
      return Files.size(file) + " bytes";
    } catch (IOException e) {
      return "size unknown";
    }
  }

  /** Writes {@code model} to {@code file} (parent folders created), replacing it atomically where the file system allows. */
  public static void save(ModelProto model, Path file) {
    Path parent = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      Files.createDirectories(parent);
      // a plain new file (not createTempFile, which is owner-only) so the model gets the umask's mode
      tmp = parent.resolve("." + file.getFileName() + "." + java.util.UUID.randomUUID() + ".tmp");
      try (OutputStream out = new java.io.BufferedOutputStream(
          Files.newOutputStream(tmp, java.nio.file.StandardOpenOption.CREATE_NEW), 1 << 16)) {
        model.writeTo(out);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException atomicFailed) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new ModelException(file + ": cannot write model (" + e + ")", e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: the temporary file is only left behind when the move already failed
        }
      }
    }
  }

  /**
   * Writes {@code model}, whose external data locations are relative to {@code modelDir}, to {@code file}.
   * When the model has external tensors or is too large for one protobuf message, every external tensor
   * and every inline initializer of at least {@value #EXTERNAL_THRESHOLD} bytes is written to
   * {@code file + ".data"} (aligned offsets; the model names it by its file name) and the returned list
   * holds both files; otherwise the model is written as one file, as {@link #save(ModelProto, Path)} does.
   */
  public static java.util.List<Path> save(ModelProto model, Path modelDir, Path file) {
    return save(model, modelDir, file, PROTO_LIMIT);
  }

  /** As {@link #save(ModelProto, Path, Path)} with a given size limit for one protobuf message (tests use a small one). */
  public static java.util.List<Path> save(ModelProto model, Path modelDir, Path file, long protoLimit) {
    if (!ExternalData.uses(model)) {
      long size = model.getSerializedSize();
      if (size >= 0 && size <= protoLimit) {
        save(model, file);
        return java.util.List.of(file);
      }
    }
    Path parent = file.toAbsolutePath().getParent();
    Path data = parent.resolve(file.getFileName() + DATA_SUFFIX);
    Path tmp = parent.resolve("." + data.getFileName() + "." + java.util.UUID.randomUUID() + ".tmp");
    java.util.Set<TensorProto> initializers = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    initializers.addAll(model.getGraph().getInitializerList());
    ModelProto moved;
    try {
      Files.createDirectories(parent);
      try (ExternalDataFile out = new ExternalDataFile(tmp, data.getFileName().toString())) {
        moved = ExternalData.mapTensors(model, t -> {
          if (ExternalData.isExternal(t)) {
            ExternalData.Span span = ExternalData.span(modelDir, t);
            return out.reference(t, out.copy(span.file(), span.offset(), span.length()), span.length());
          }
          if (initializers.contains(t) && t.getRawData().size() >= EXTERNAL_THRESHOLD) {
            long offset = out.begin(t.getRawData().size());
            out.write(t.getRawData().asReadOnlyByteBuffer());
            return out.reference(t, offset, t.getRawData().size());
          }
          return t;
        });
      }
      Files.move(tmp, data, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new ModelException(data + ": cannot write external data (" + e + ")", e);
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // best effort, as in save
      }
    }
    save(moved, file);
    return java.util.List.of(file, data);
  }

  /** The SHA-256 of the file's bytes as 64 lower-case hex digits. */
  public static String sha256(Path file) {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 not available in this JVM", e);
    }
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        digest.update(buffer, 0, n);
      }
    } catch (NoSuchFileException e) {
      throw new ModelException("model not found: " + file, e);
    } catch (IOException e) {
      throw new ModelException(file + ": cannot read model (" + e + ")", e);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /**
   * The opset version the model imports for the default domain ({@code ""} or {@code "ai.onnx"}).
   *
   * @throws ModelException when the model imports no default-domain opset
   */
  public static int opset(ModelProto model) {
    for (OperatorSetIdProto id : model.getOpsetImportList()) {
      if (isDefaultDomain(id.getDomain())) {
        return Math.toIntExact(id.getVersion());
      }
    }
    throw new ModelException("model '" + model.getGraph().getName() + "' imports no default-domain (ai.onnx) opset");
  }

  /** {@code model} with {@code entries} in its {@code metadata_props}, replacing entries of the same keys. */
  public static ModelProto withMetadata(ModelProto model, Map<String, String> entries) {
    ModelProto.Builder b = model.toBuilder().clearMetadataProps();
    model.getMetadataPropsList().stream().filter(e -> !entries.containsKey(e.getKey())).forEach(b::addMetadataProps);
    entries.forEach((k, v) -> b.addMetadataProps(
        ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
    return b.build();
  }

  /** Whether {@code domain} names the default ONNX operator set. */
  public static boolean isDefaultDomain(String domain) {
    return DEFAULT_DOMAIN.equals(domain) || DEFAULT_DOMAIN_ALIAS.equals(domain);
  }
}
