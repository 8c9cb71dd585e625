package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ErrorCodesTest {
  @Test
  void javaListEqualsTheLibrarysList() {
    assertEquals(ErrorCodes.ALL, Selo.errorCodes());
  }

  @Test
  void ffiCodesEqualTheLibrarys() {
    assertEquals(ErrorCodes.FFI, Selo.ffiErrorCodes());
  }

  @Test
  void hostCodesEqualTheLibrarys() {
    assertEquals(ErrorCodes.HOST, Selo.hostErrorCodes());
  }

  /**
   * Every code this wrapper raises: string literals that are a dotted code (or
   * start a message with "code: "), and the first literal argument of
   * {@code new SeloException(…)} / {@code super(…)} (which also catches an
   * undotted code). The generated ErrorCodes.java is left out.
   */
  static TreeMap<String, String> codesInJavaSources() throws IOException {
    List<Pattern> patterns = List.of(
        Pattern.compile("\"([a-z]+(?:\\.[a-z0-9_]+)+)(?:\"|: )"),
        Pattern.compile("(?:new SeloException|super)\\(\"([a-z][a-z0-9_.]*)\""));
    TreeMap<String, String> found = new TreeMap<>();
    List<Path> files;
    try (Stream<Path> s = Files.walk(Path.of("src/main/java"))) {
      files = s.filter(p -> p.toString().endsWith(".java"))
          .filter(p -> !p.getFileName().toString().equals("ErrorCodes.java"))
          .sorted()
          .collect(Collectors.toList());
    }
    for (Path f : files) {
      String text = Files.readString(f, StandardCharsets.UTF_8);
      for (Pattern p : patterns) {
        Matcher m = p.matcher(text);
        while (m.find()) {
          found.putIfAbsent(m.group(1), f.getFileName().toString());
        }
      }
    }
    return found;
  }

  @Test
  void everyCodeTheJavaSourcesRaiseIsInATable() throws IOException {
    TreeMap<String, String> found = codesInJavaSources();
    // The scan sees the wrapper's own codes (so it would see a new one).
    for (String c : List.of("ofb.jwks.unavailable", "http.body_too_large", "ffi.no_native_library", "ffi.closed")) {
      assertTrue(found.containsKey(c), "scan missed " + c);
    }
    Set<String> known = new HashSet<>(ErrorCodes.ALL);
    known.addAll(ErrorCodes.FFI);
    known.addAll(ErrorCodes.HOST);
    List<String> unlisted = found.entrySet().stream()
        .filter(e -> !known.contains(e.getKey()))
        .map(e -> e.getKey() + " (" + e.getValue() + ")")
        .collect(Collectors.toList());
    assertEquals(List.of(), unlisted,
        "codes raised in Java but in no table: add them to HOST_CODES in core/src/error.rs");
  }

  @Test
  void versionIsTheCrateVersion() {
    assertEquals("0.2.0", Selo.version());
  }

  @Test
  void nullArgumentsAreErrorsWithTheirCode() {
    SeloException e = assertThrows(SeloException.class, () -> Br.validateCpf(null));
    assertEquals("ffi.null_argument", e.getCode());
    assertEquals(1, e.getStatus());
  }

  @Test
  void closedHandlesAreErrors() {
    PrivateKey k = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
    k.close();
    k.close();
    assertEquals("ffi.closed", assertThrows(SeloException.class, k::bits).getCode());
  }

  @Test
  void keyImportErrorsNameTheFormat() {
    SeloException e = assertThrows(SeloException.class, () -> PrivateKey.importKey(new byte[] {1, 2, 3}));
    assertEquals("key.import.bad_der", e.getCode());
  }

  @Test
  void utf8CrossesIntact() {
    // Non-ASCII text goes through JNA as UTF-8 whatever the default charset.
    String boleto = Vectors.text("safra/boleto-sample.json").replace("José da Silva", "Joãozinho Ção");
    Safra.validateBoleto(boleto);
    SeloException e = assertThrows(SeloException.class,
        () -> Safra.validateBoleto(boleto.replace("Joãozinho Ção", "ã".repeat(41))));
    assertEquals("safra.boleto.too_long", e.getCode());
  }
}
