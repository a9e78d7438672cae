package dev.qcal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.SourcePositions;
import com.sun.source.util.TreePathScanner;
import com.sun.source.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * Keeps the code readable as it grows: every package says what it owns in a {@code package-info.java},
 * and no method in {@code src/main} is longer than {@value #MAX_METHOD_LINES} lines (counted from the line
 * of its signature, after any annotations, to its closing brace; lambdas and local classes count towards
 * the method that holds them). Methods are found by parsing the sources with javac's tree API, not by
 * pattern matching.
 */
class CodeShapeTest {
  private static final Path MAIN = Path.of("src/main/java/dev/qcal");
  static final int MAX_METHOD_LINES = 60;

  /** Methods allowed to be longer, with the reason (table-like or generated code only). */
  private static final Map<String, String> KEPT = Map.of();

  @Test
  void everyPackageHasAPackageInfo() throws IOException {
    List<String> missing = new ArrayList<>();
    try (Stream<Path> dirs = Files.walk(MAIN)) {
      for (Path d : dirs.filter(Files::isDirectory).toList()) {
        boolean hasJava;
        try (Stream<Path> files = Files.list(d)) {
          hasJava = files.anyMatch(f -> f.toString().endsWith(".java"));
        }
        if (hasJava && !Files.isRegularFile(d.resolve("package-info.java"))) {
          missing.add(MAIN.relativize(d).toString());
        }
      }
    }
    assertEquals(List.of(), missing, "packages without a package-info.java");
  }

  @Test
  void noMethodIsLongerThanTheLimit() throws IOException {
    List<String> tooLong = new ArrayList<>();
    for (MethodLength m : methodLengths(MAIN)) {
      if (m.lines() > MAX_METHOD_LINES && !KEPT.containsKey(m.name())) {
        tooLong.add(m.name() + " " + m.lines() + " lines");
      }
    }
    assertEquals(List.of(), tooLong, "methods over " + MAX_METHOD_LINES + " lines in src/main");
  }

  /** The counter itself, on a source whose method lengths are known by construction. */
  @Test
  void countsFromTheSignatureToTheClosingBrace(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    Path pkg = Files.createDirectories(dir.resolve("p"));
    StringBuilder body = new StringBuilder();
    for (int i = 0; i < 61; i++) {
      body.append("    int v").append(i).append(" = ").append(i).append(";\n");
    }
    Files.writeString(pkg.resolve("A.java"), "package p;\n"
        + "class A {\n"
        + "  @Override\n"
        + "  public String toString() {\n" // line 4: 3 lines (signature, return, brace)
        + "    return \"a\";\n"
        + "  }\n"
        + "  A() {\n" // a constructor of 63 lines: signature, 61 statements, brace
        + body
        + "  }\n"
        + "  static class B {\n"
        + "    void run() {\n" // 5 lines, the lambda inside counts towards it
        + "      Runnable r = () -> {\n"
        + "      };\n"
        + "      r.run();\n"
        + "    }\n"
        + "  }\n"
        + "}\n");
    TreeSet<String> got = new TreeSet<>();
    for (MethodLength m : methodLengths(dir)) {
      got.add(m.name() + "=" + m.lines());
    }
    assertEquals(new TreeSet<>(List.of("A.java:4 toString=3", "A.java:7 <init>=63", "A.java:71 run=5")), got);
  }

  record MethodLength(String name, int lines) {}

  static List<MethodLength> methodLengths(Path root) throws IOException {
    List<Path> sources;
    try (Stream<Path> files = Files.walk(root)) {
      sources = files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
    }
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    List<MethodLength> out = new ArrayList<>();
    try (StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null)) {
      Iterable<? extends JavaFileObject> units = fm.getJavaFileObjectsFromPaths(sources);
      JavacTask task = (JavacTask) javac.getTask(null, fm, null, List.of("-proc:none"), null, units);
      SourcePositions pos = Trees.instance(task).getSourcePositions();
      for (CompilationUnitTree unit : task.parse()) {
        String file = Path.of(unit.getSourceFile().toUri()).getFileName().toString();
        new TreePathScanner<Void, Void>() {
          @Override
          public Void visitMethod(MethodTree m, Void unused) {
            if (m.getBody() != null) {
              long start = signatureStart(m, unit, pos);
              long first = unit.getLineMap().getLineNumber(start);
              long last = unit.getLineMap().getLineNumber(pos.getEndPosition(unit, m));
              out.add(new MethodLength(file + ":" + first + " " + m.getName(), (int) (last - first + 1)));
            }
            return super.visitMethod(m, unused);
          }
        }.scan(unit, null);
      }
    }
    assertTrue(!out.isEmpty() || sources.isEmpty(), "no methods found under " + root);
    return out;
  }

  /** The first character after the method's annotations (its modifiers, type parameters or return type). */
  private static long signatureStart(MethodTree m, CompilationUnitTree unit, SourcePositions pos) {
    long start = pos.getStartPosition(unit, m);
    for (Tree a : m.getModifiers().getAnnotations()) {
      start = Math.max(start, pos.getEndPosition(unit, a) + 1);
    }
    String src;
    try {
      src = unit.getSourceFile().getCharContent(true).toString();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    while (start < src.length() && Character.isWhitespace(src.charAt((int) start))) {
      start++;
    }
    return start;
  }
}
