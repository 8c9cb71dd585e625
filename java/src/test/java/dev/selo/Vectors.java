package dev.selo;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/** Reads the shared vectors (tests/vectors; system property selo.vectors). */
final class Vectors {
  private Vectors() {}

  static Path root() {
    return Path.of(System.getProperty("selo.vectors", "../tests/vectors"));
  }

  static String text(String rel) {
    try {
      return Files.readString(root().resolve(rel), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static JsonObject json(String rel) {
    return JsonParser.parseString(text(rel)).getAsJsonObject();
  }

  static String s(JsonObject o, String name) {
    return o.get(name).getAsString();
  }

  static byte[] b64(String s) {
    String t = s.replace('-', '+').replace('_', '/');
    while (t.length() % 4 != 0) {
      t += "=";
    }
    return Base64.getDecoder().decode(t);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static boolean isNull(JsonObject o, String name) {
    JsonElement e = o.get(name);
    return e == null || e.isJsonNull();
  }
}
