package dev.qcal.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One ONNX Runtime session per executor JVM and model, keyed by the model's SHA-256 and shared by
 * every task of that JVM ({@code OrtSession.run} is thread-safe). Sessions live as long as the JVM.
 */
public final class SessionCache {
  private static final ConcurrentHashMap<String, OrtSession> SESSIONS = new ConcurrentHashMap<>();

  private SessionCache() {}

  /**
   * The session for {@code key}, created from {@code modelFile} on first use with
   * {@code intraOpThreads} threads (the task's CPU share) and all graph optimizations.
   */
  public static OrtSession get(String key, Path modelFile, int intraOpThreads) {
    return SESSIONS.computeIfAbsent(key, k -> create(modelFile, intraOpThreads));
  }

  /**
   * A new, uncached session for a model held in memory (e.g. a variant built on the executor); the
   * caller closes it.
   */
  public static OrtSession open(byte[] model, int intraOpThreads) {
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setIntraOpNumThreads(Math.max(1, intraOpThreads));
      opts.setInterOpNumThreads(1);
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      return Ort.env().createSession(model, opts);
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime cannot load a model of " + model.length + " bytes: "
          + Ort.oneLine(e.getMessage()), e);
    }
  }

  /**
   * A new, uncached session for a model file (e.g. a variant written next to the external data files it
   * names); the caller closes it.
   */
  public static OrtSession openFile(Path modelFile, int intraOpThreads) {
    return create(modelFile, intraOpThreads);
  }

  private static OrtSession create(Path modelFile, int intraOpThreads) {
    OrtEnvironment env = Ort.env();
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setIntraOpNumThreads(Math.max(1, intraOpThreads));
      opts.setInterOpNumThreads(1);
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      return env.createSession(modelFile.toString(), opts);
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime cannot load " + modelFile + ": " + Ort.oneLine(e.getMessage()), e);
    }
  }
}
