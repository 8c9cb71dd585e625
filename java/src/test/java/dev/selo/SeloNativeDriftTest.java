package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.ByteByReference;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hand-written JNA interface ({@link SeloNative}) against the generated
 * C header ({@code bindings/ffi/include/selo.h}): every function of the
 * header is declared, nothing else is, and each parameter and return type
 * maps to the JNA type its C type needs ({@code size_t}/{@code uint64_t}/
 * {@code int64_t} → long, {@code bool} → byte, handles → Pointer, …).
 */
class SeloNativeDriftTest {
  static final Map<String, Set<Class<?>>> PARAM = Map.ofEntries(
      Map.entry("bool", Set.of(byte.class)),
      Map.entry("bool *", Set.of(ByteByReference.class)),
      Map.entry("char *", Set.of(Pointer.class)),
      Map.entry("char **", Set.of(PointerByReference.class)),
      Map.entry("const char *", Set.of(String.class)),
      Map.entry("const uint8_t *", Set.of(byte[].class)),
      Map.entry("int64_t", Set.of(long.class)),
      Map.entry("int64_t *", Set.of(LongByReference.class)),
      Map.entry("size_t", Set.of(long.class)),
      Map.entry("uint16_t", Set.of(short.class)),
      Map.entry("uint32_t", Set.of(int.class)),
      Map.entry("uint32_t *", Set.of(IntByReference.class)),
      Map.entry("uint64_t", Set.of(long.class)),
      Map.entry("uint64_t *", Set.of(LongByReference.class)),
      Map.entry("void *", Set.of(Pointer.class)),
      Map.entry("SeloBmpLookup", Set.of(SeloNative.BmpLookup.class)),
      Map.entry("struct SeloBuffer *", Set.of(SeloNative.SeloBuffer.class)),
      Map.entry("struct SeloJwksDecision *", Set.of(SeloNative.SeloJwksDecision.class)));
  static final Map<String, Set<Class<?>>> RETURN = Map.ofEntries(
      Map.entry("SeloStatus", Set.of(int.class)),
      Map.entry("bool", Set.of(byte.class)),
      Map.entry("const char *", Set.of(String.class, Pointer.class)),
      Map.entry("const uint8_t *", Set.of(Pointer.class)),
      Map.entry("size_t", Set.of(long.class)),
      Map.entry("uint16_t", Set.of(short.class)),
      Map.entry("uint32_t", Set.of(int.class)),
      Map.entry("uint64_t", Set.of(long.class)),
      Map.entry("void", Set.of(void.class)));

  static Set<Class<?>> paramTypes(String c) {
    if (PARAM.containsKey(c)) {
      return PARAM.get(c);
    }
    if (c.matches("(const )?struct Selo\\w+ \\*")) {
      return Set.of(Pointer.class); // an opaque handle
    }
    if (c.matches("struct Selo\\w+ \\*\\*")) {
      return Set.of(PointerByReference.class);
    }
    throw new AssertionError("no JNA mapping for C type " + c);
  }

  @Test
  void everyHeaderFunctionIsDeclaredWithItsTypes() throws Exception {
    Path header = Vectors.root().resolve("../../bindings/ffi/include/selo.h").normalize();
    String text = Files.readString(header, StandardCharsets.UTF_8).replaceAll("//[^\n]*", "");
    Matcher m = Pattern.compile("([A-Za-z_][\\w *]*?)\\b(selo_\\w+)\\(([^;{]*?)\\);", Pattern.DOTALL).matcher(text);
    Map<String, String[]> c = new TreeMap<>();
    while (m.find()) {
      c.put(m.group(2), new String[] {m.group(1).trim().replaceAll("\\s+", " "), m.group(3).replaceAll("\\s+", " ")
          .trim()});
    }
    assertTrue(c.size() > 100, "parsed only " + c.size() + " functions from " + header);
    Map<String, Method> java = new TreeMap<>();
    for (Method x : SeloNative.class.getDeclaredMethods()) {
      if (x.getName().startsWith("selo_")) {
        java.put(x.getName(), x);
      }
    }
    assertEquals(new TreeSet<>(c.keySet()), new TreeSet<>(java.keySet()), "functions: header vs SeloNative");
    List<String> wrong = new ArrayList<>();
    for (Map.Entry<String, String[]> e : c.entrySet()) {
      Method jm = java.get(e.getKey());
      String ret = e.getValue()[0];
      Set<Class<?>> okRet = RETURN.get(ret);
      if (okRet == null || !okRet.contains(jm.getReturnType())) {
        wrong.add(e.getKey() + " returns " + ret + ", declared " + jm.getReturnType().getSimpleName());
      }
      String args = e.getValue()[1];
      List<String> params = new ArrayList<>();
      if (!args.isEmpty() && !args.equals("void")) {
        for (String p : args.split(",")) {
          params.add(p.trim().replaceAll("\\s*\\b\\w+$", "").trim());
        }
      }
      Class<?>[] jp = jm.getParameterTypes();
      if (jp.length != params.size()) {
        wrong.add(e.getKey() + ": " + params.size() + " parameters in C, " + jp.length + " in Java");
        continue;
      }
      for (int i = 0; i < jp.length; i++) {
        if (!paramTypes(params.get(i)).contains(jp[i])) {
          wrong.add(e.getKey() + " parameter " + i + ": C " + params.get(i) + ", Java " + jp[i].getSimpleName());
        }
      }
    }
    assertEquals(List.of(), wrong);
  }

  @Test
  void decisionStructIsTheHeadersLayout() {
    // struct { uint32_t kind; uint64_t ticket; int64_t until_ms; }: 4 + 4 padding + 8 + 8.
    assertEquals(24, new SeloNative.SeloJwksDecision().size());
    assertEquals(16, new SeloNative.SeloBuffer().size());
  }
}
