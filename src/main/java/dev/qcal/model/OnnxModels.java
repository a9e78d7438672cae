package dev.qcal.model;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
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
 * are (the external references are kept, not resolved).
 */
public final class OnnxModels {

  /** The two spellings of the default ONNX operator domain. */
  static final String DEFAULT_DOMAIN = "";

  static final String DEFAULT_DOMAIN_ALIAS = "ai.onnx";

  private OnnxModels() {}

  /**
   * Reads a model file.
   *
   * @throws ModelException {@code model not found: PATH} when there is no such file, {@code PATH:
   *     cannot read model (...)} when it cannot be read, {@code PATH: not an ONNX model (...)} when it
   *     does not parse or has no graph or no nodes
   */
  public static ModelProto load(Path file) {
    if (!Files.exists(file)) {
      throw new ModelException("model not found: " + file);
    }
    if (!Files.isRegularFile(file)) {
      throw new ModelException(file + ": cannot read model (not a regular file)");
    }
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
    return model;
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
  static boolean isDefaultDomain(String domain) {
    return DEFAULT_DOMAIN.equals(domain) || DEFAULT_DOMAIN_ALIAS.equals(domain);
  }
}
