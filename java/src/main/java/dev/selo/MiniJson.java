package dev.selo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader for the wrapper's own needs (a JWK Set's members, a
 * verified token's claims): objects as {@code Map}, arrays as {@code List},
 * strings, numbers as {@code Double} or the raw text, booleans, null. Each
 * value also keeps its source text ({@link #raw}), so a key of a set can be
 * handed to the core exactly as received.
 */
final class MiniJson {
  private final String s;
  private int i;

  private MiniJson(String s) {
    this.s = s;
  }

  /** A parsed value and the exact text it came from. */
  record Value(Object value, String raw) {}

  static Object parse(String text) {
    return parseValue(text).value();
  }

  static Value parseValue(String text) {
    MiniJson p = new MiniJson(text);
    p.ws();
    Value v = p.value();
    p.ws();
    if (p.i != text.length()) {
      throw new IllegalArgumentException("JSON: trailing text at " + p.i);
    }
    return v;
  }

  /** The elements of the array member {@code name} of a top-level object, as raw texts (null if absent). */
  static List<String> rawArrayMember(String text, String name) {
    MiniJson p = new MiniJson(text);
    p.ws();
    p.expect('{');
    p.ws();
    List<String> found = null;
    if (p.peek() == '}') {
      p.i++;
      return null;
    }
    while (true) {
      p.ws();
      String key = p.string();
      p.ws();
      p.expect(':');
      p.ws();
      if (key.equals(name) && p.peek() == '[') {
        p.i++;
        found = new ArrayList<>();
        p.ws();
        if (p.peek() == ']') {
          p.i++;
        } else {
          while (true) {
            p.ws();
            found.add(p.value().raw());
            p.ws();
            char c = p.next();
            if (c == ']') {
              break;
            }
            if (c != ',') {
              throw new IllegalArgumentException("JSON: expected , or ] at " + (p.i - 1));
            }
          }
        }
      } else {
        p.value();
      }
      p.ws();
      char c = p.next();
      if (c == '}') {
        return found;
      }
      if (c != ',') {
        throw new IllegalArgumentException("JSON: expected , or } at " + (p.i - 1));
      }
    }
  }

  private Value value() {
    int start = i;
    char c = peek();
    Object v;
    switch (c) {
      case '{' -> v = object();
      case '[' -> v = array();
      case '"' -> v = string();
      case 't' -> v = lit("true", Boolean.TRUE);
      case 'f' -> v = lit("false", Boolean.FALSE);
      case 'n' -> v = lit("null", null);
      default -> v = number();
    }
    return new Value(v, s.substring(start, i));
  }

  private Map<String, Object> object() {
    expect('{');
    Map<String, Object> m = new LinkedHashMap<>();
    ws();
    if (peek() == '}') {
      i++;
      return m;
    }
    while (true) {
      ws();
      String k = string();
      ws();
      expect(':');
      ws();
      m.put(k, value().value());
      ws();
      char c = next();
      if (c == '}') {
        return m;
      }
      if (c != ',') {
        throw new IllegalArgumentException("JSON: expected , or } at " + (i - 1));
      }
    }
  }

  private List<Object> array() {
    expect('[');
    List<Object> l = new ArrayList<>();
    ws();
    if (peek() == ']') {
      i++;
      return l;
    }
    while (true) {
      ws();
      l.add(value().value());
      ws();
      char c = next();
      if (c == ']') {
        return l;
      }
      if (c != ',') {
        throw new IllegalArgumentException("JSON: expected , or ] at " + (i - 1));
      }
    }
  }

  private String string() {
    expect('"');
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = next();
      if (c == '"') {
        return b.toString();
      }
      if (c == '\\') {
        char e = next();
        switch (e) {
          case '"', '\\', '/' -> b.append(e);
          case 'b' -> b.append('\b');
          case 'f' -> b.append('\f');
          case 'n' -> b.append('\n');
          case 'r' -> b.append('\r');
          case 't' -> b.append('\t');
          case 'u' -> {
            if (i + 4 > s.length()) {
              throw new IllegalArgumentException("JSON: short \\u escape");
            }
            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
          }
          default -> throw new IllegalArgumentException("JSON: bad escape at " + (i - 1));
        }
      } else {
        b.append(c);
      }
    }
  }

  private Object number() {
    int start = i;
    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
      i++;
    }
    if (start == i) {
      throw new IllegalArgumentException("JSON: unexpected character at " + i);
    }
    return Double.parseDouble(s.substring(start, i));
  }

  private Object lit(String word, Object v) {
    if (!s.startsWith(word, i)) {
      throw new IllegalArgumentException("JSON: unexpected text at " + i);
    }
    i += word.length();
    return v;
  }

  private void ws() {
    while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) {
      i++;
    }
  }

  private char peek() {
    if (i >= s.length()) {
      throw new IllegalArgumentException("JSON: unexpected end");
    }
    return s.charAt(i);
  }

  private char next() {
    char c = peek();
    i++;
    return c;
  }

  private void expect(char c) {
    if (next() != c) {
      throw new IllegalArgumentException("JSON: expected " + c + " at " + (i - 1));
    }
  }
}
